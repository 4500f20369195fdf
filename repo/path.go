package repo

import (
	"fmt"
	"strings"
)

// splitPath splits a '/'-separated path relative to the repository root.
// Empty and "." components are dropped; ".." never names anything in a
// tree, so it makes the path unresolvable.
func splitPath(path string) ([]string, bool) {
	var parts []string
	for _, p := range strings.Split(path, "/") {
		switch p {
		case "", ".":
			continue
		case "..":
			return nil, false
		}
		parts = append(parts, p)
	}
	return parts, true
}

// objectSource is what reading paths at a commit needs: a *Repo, or the
// *Objects fetched from a remote. readTyped may return a slice shared with
// a cache; ReadBlob's belongs to the caller.
type objectSource interface {
	readTyped(h Hash, want ObjectType) ([]byte, error)
	ReadBlob(h Hash) ([]byte, error)
}

// commitTree returns a commit's root tree.
func commitTree(src objectSource, commit Hash) (Hash, error) {
	data, err := src.readTyped(commit, CommitObject)
	if err != nil {
		return ZeroHash, err
	}
	// The tree is always the first header; avoid parsing the rest.
	if len(data) < 46 || string(data[:5]) != "tree " || data[45] != '\n' {
		return ZeroHash, fmt.Errorf("reading commit %s: malformed tree header", commit.short())
	}
	return ParseHash(string(data[5:45]))
}

// readCommit returns a parsed commit.
func readCommit(src objectSource, h Hash) (*Commit, error) {
	data, err := src.readTyped(h, CommitObject)
	if err != nil {
		return nil, err
	}
	c, err := parseCommit(data)
	if err != nil {
		return nil, fmt.Errorf("reading commit %s: %w", h.short(), err)
	}
	c.Hash = h
	return c, nil
}

// readTree returns a tree's entries in git's stored order.
func readTree(src objectSource, h Hash) ([]TreeEntry, error) {
	data, err := src.readTyped(h, TreeObject)
	if err != nil {
		return nil, err
	}
	entries, err := parseTree(data)
	if err != nil {
		return nil, fmt.Errorf("reading tree %s: %w", h.short(), err)
	}
	return entries, nil
}

// entryInTree walks from a root tree to the entry at path. The root itself
// is returned, as a directory entry named "", for an empty path. found is
// false when a component is missing or a non-final one is not a directory.
func entryInTree(src objectSource, root Hash, path string) (TreeEntry, bool, error) {
	parts, ok := splitPath(path)
	if !ok {
		return TreeEntry{}, false, nil
	}
	e := TreeEntry{Mode: ModeDir, Hash: root}
	for _, name := range parts {
		if !e.Mode.IsDir() {
			return TreeEntry{}, false, nil
		}
		data, err := src.readTyped(e.Hash, TreeObject)
		if err != nil {
			return TreeEntry{}, false, err
		}
		next, found, err := treeLookup(data, name)
		if err != nil {
			return TreeEntry{}, false, fmt.Errorf("reading tree %s: %w", e.Hash.short(), err)
		}
		if !found {
			return TreeEntry{}, false, nil
		}
		e = next
	}
	return e, true, nil
}

// treeEntryAt returns the entry (file, directory, symlink or submodule) at
// a '/'-separated path in a commit. An empty path gives the root tree.
func treeEntryAt(src objectSource, commit Hash, path string) (TreeEntry, error) {
	root, err := commitTree(src, commit)
	if err != nil {
		return TreeEntry{}, fmt.Errorf("reading %s at %s: %w", path, commit.short(), err)
	}
	e, found, err := entryInTree(src, root, path)
	if err != nil {
		return TreeEntry{}, fmt.Errorf("reading %s at %s: %w", path, commit.short(), err)
	}
	if !found {
		return TreeEntry{}, fmt.Errorf("reading %s at %s: %w", path, commit.short(), ErrPathNotFound)
	}
	return e, nil
}

// fileAt returns the content and blob id of the file at path in a commit.
// A directory or submodule at path is reported as ErrPathNotFound, since
// there is no file there. The caller owns the returned slice.
func fileAt(src objectSource, commit Hash, path string) ([]byte, Hash, error) {
	e, err := treeEntryAt(src, commit, path)
	if err != nil {
		return nil, ZeroHash, err
	}
	if e.Mode.IsDir() || e.Mode == ModeSubmodule {
		return nil, ZeroHash, fmt.Errorf("reading %s at %s: not a file: %w", path, commit.short(), ErrPathNotFound)
	}
	data, err := src.ReadBlob(e.Hash)
	if err != nil {
		return nil, ZeroHash, fmt.Errorf("reading %s at %s: %w", path, commit.short(), err)
	}
	return data, e.Hash, nil
}

// dirAt returns the entries of the directory at path in a commit, in git's
// order; "" is the root. A file at path is reported as ErrPathNotFound.
func dirAt(src objectSource, commit Hash, dir string) ([]TreeEntry, error) {
	e, err := treeEntryAt(src, commit, dir)
	if err != nil {
		return nil, err
	}
	if !e.Mode.IsDir() {
		return nil, fmt.Errorf("reading %s at %s: not a directory: %w", dir, commit.short(), ErrPathNotFound)
	}
	entries, err := readTree(src, e.Hash)
	if err != nil {
		return nil, fmt.Errorf("reading %s at %s: %w", dir, commit.short(), err)
	}
	return entries, nil
}

// TreeEntryAt returns the entry (file, directory, symlink or submodule) at a
// '/'-separated path in a commit. An empty path gives the root tree.
func (r *Repo) TreeEntryAt(commit Hash, path string) (TreeEntry, error) {
	return treeEntryAt(r, commit, path)
}

// FileAt returns the content and blob id of the file at path in a commit. A
// directory or submodule at path is reported as ErrPathNotFound, since there
// is no file there. The caller owns the returned slice.
func (r *Repo) FileAt(commit Hash, path string) ([]byte, Hash, error) {
	return fileAt(r, commit, path)
}

// DirAt returns the entries of the directory at path in a commit, in git's
// order; "" is the root. A file at path is reported as ErrPathNotFound.
func (r *Repo) DirAt(commit Hash, dir string) ([]TreeEntry, error) {
	return dirAt(r, commit, dir)
}
