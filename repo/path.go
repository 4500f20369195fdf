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

// commitTree returns a commit's root tree.
func (r *Repo) commitTree(commit Hash) (Hash, error) {
	data, err := r.readTyped(commit, CommitObject)
	if err != nil {
		return ZeroHash, err
	}
	// The tree is always the first header; avoid parsing the rest.
	if len(data) < 46 || string(data[:5]) != "tree " || data[45] != '\n' {
		return ZeroHash, fmt.Errorf("reading commit %s: malformed tree header", commit.short())
	}
	return ParseHash(string(data[5:45]))
}

// entryInTree walks from a root tree to the entry at path. The root itself
// is returned, as a directory entry named "", for an empty path. found is
// false when a component is missing or a non-final one is not a directory.
func (r *Repo) entryInTree(root Hash, path string) (TreeEntry, bool, error) {
	parts, ok := splitPath(path)
	if !ok {
		return TreeEntry{}, false, nil
	}
	e := TreeEntry{Mode: ModeDir, Hash: root}
	for _, name := range parts {
		if !e.Mode.IsDir() {
			return TreeEntry{}, false, nil
		}
		data, err := r.readTyped(e.Hash, TreeObject)
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

// TreeEntryAt returns the entry (file, directory, symlink or submodule) at a
// '/'-separated path in a commit. An empty path gives the root tree.
func (r *Repo) TreeEntryAt(commit Hash, path string) (TreeEntry, error) {
	root, err := r.commitTree(commit)
	if err != nil {
		return TreeEntry{}, fmt.Errorf("reading %s at %s: %w", path, commit.short(), err)
	}
	e, found, err := r.entryInTree(root, path)
	if err != nil {
		return TreeEntry{}, fmt.Errorf("reading %s at %s: %w", path, commit.short(), err)
	}
	if !found {
		return TreeEntry{}, fmt.Errorf("reading %s at %s: %w", path, commit.short(), ErrPathNotFound)
	}
	return e, nil
}

// FileAt returns the content and blob id of the file at path in a commit. A
// directory or submodule at path is reported as ErrPathNotFound, since there
// is no file there. The caller owns the returned slice.
func (r *Repo) FileAt(commit Hash, path string) ([]byte, Hash, error) {
	e, err := r.TreeEntryAt(commit, path)
	if err != nil {
		return nil, ZeroHash, err
	}
	if e.Mode.IsDir() || e.Mode == ModeSubmodule {
		return nil, ZeroHash, fmt.Errorf("reading %s at %s: not a file: %w", path, commit.short(), ErrPathNotFound)
	}
	data, err := r.ReadBlob(e.Hash)
	if err != nil {
		return nil, ZeroHash, fmt.Errorf("reading %s at %s: %w", path, commit.short(), err)
	}
	return data, e.Hash, nil
}

// DirAt returns the entries of the directory at path in a commit, in git's
// order; "" is the root. A file at path is reported as ErrPathNotFound.
func (r *Repo) DirAt(commit Hash, dir string) ([]TreeEntry, error) {
	e, err := r.TreeEntryAt(commit, dir)
	if err != nil {
		return nil, err
	}
	if !e.Mode.IsDir() {
		return nil, fmt.Errorf("reading %s at %s: not a directory: %w", dir, commit.short(), ErrPathNotFound)
	}
	entries, err := r.ReadTree(e.Hash)
	if err != nil {
		return nil, fmt.Errorf("reading %s at %s: %w", dir, commit.short(), err)
	}
	return entries, nil
}
