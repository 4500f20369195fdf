package repo

// Reading the index as a list, for `gitseal scan --staged`: which files a
// commit made now would change. Read-only; the index is never written here.

import (
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
)

// IndexEntry is one entry of the index.
type IndexEntry struct {
	// Path is '/'-separated from the repository root.
	Path string
	Mode Mode
	Hash Hash
	// Stage is 0 for a merged entry, 1–3 for the sides of a conflict.
	Stage int
	// IntentToAdd marks `git add -N`: the path is known, its content is
	// not staged.
	IntentToAdd bool
}

// IndexPath is the index file git would use: $GIT_INDEX_FILE when set (git
// sets it for hooks, pointing at the index being committed; a relative path
// is taken from the current directory), else the repository's index.
func (r *Repo) IndexPath() string {
	if p := os.Getenv("GIT_INDEX_FILE"); p != "" {
		if abs, err := filepath.Abs(p); err == nil {
			return abs
		}
		return p
	}
	return filepath.Join(r.gitDir, "index")
}

// IndexEntries returns every entry of the index file at path, in index
// order. A missing file is an empty index. Split indexes are refused with
// ErrIndexUnsupported.
func (r *Repo) IndexEntries(path string) ([]IndexEntry, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the index: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading the index: %w", err)
	}
	size := fi.Size()
	if size < indexHeaderLen+20 {
		return nil, errors.New("reading the index: file too short")
	}
	sum := sha1.New()
	ir := newIndexReader(io.LimitReader(f, size-20), sum)
	hdr, err := ir.peek(indexHeaderLen)
	if err != nil {
		return nil, fmt.Errorf("reading the index: %w", err)
	}
	if string(hdr[:4]) != "DIRC" {
		return nil, errors.New("reading the index: bad signature")
	}
	version := binary.BigEndian.Uint32(hdr[4:8])
	count := binary.BigEndian.Uint32(hdr[8:12])
	if version < 2 || version > 4 {
		return nil, fmt.Errorf("reading the index: version %d is not supported", version)
	}
	ir.consume(indexHeaderLen)
	out := make([]IndexEntry, 0, min(count, 1<<20))
	var cur, prev []byte
	for i := uint32(0); i < count; i++ {
		var e indexEntry
		var n int
		e, n, cur, err = ir.readEntry(version, prev, true, cur)
		if err == errEmptyIndexPath {
			return nil, fmt.Errorf("reading the index: %w", checkIndexExtension("link"))
		}
		if err != nil {
			return nil, fmt.Errorf("reading index entry %d: %w", i, err)
		}
		out = append(out, IndexEntry{Path: e.path, Mode: Mode(e.mode), Hash: e.hash, Stage: e.stage(), IntentToAdd: e.xflags&ceIntentToAdd != 0})
		ir.consume(n)
		prev, cur = cur, prev
	}
	// Extensions: a split or sparse index lists only part of the tree.
	for ir.off < size-20 {
		h, err := ir.peek(8)
		if err != nil {
			return nil, fmt.Errorf("reading index extensions: %w", err)
		}
		if err := checkIndexExtension(string(h[:4])); err != nil {
			return nil, fmt.Errorf("reading the index: %w", err)
		}
		ext := int64(binary.BigEndian.Uint32(h[4:8]))
		ir.consume(8)
		if err := ir.copyN(nil, ext); err != nil {
			return nil, fmt.Errorf("reading index extensions: %w", err)
		}
	}
	ir.flushSum()
	var want [20]byte
	if _, err := f.ReadAt(want[:], size-20); err != nil {
		return nil, fmt.Errorf("reading the index: %w", err)
	}
	if got := sum.Sum(nil); want != [20]byte{} && !bytes.Equal(got, want[:]) {
		return nil, errors.New("reading the index: checksum mismatch (the index is corrupt)")
	}
	return out, nil
}

// StagedFiles returns the index entries a commit made now would add or
// change relative to HEAD (every entry on an unborn branch), plus the
// entries of unmerged paths (ours and theirs), sorted by path. Deletions,
// intent-to-add entries and gitlinks (submodules) are not listed: they add
// no content.
func (r *Repo) StagedFiles(indexPath string) ([]IndexEntry, error) {
	entries, err := r.IndexEntries(indexPath)
	if err != nil {
		return nil, err
	}
	head := map[string]Hash{}
	if h, err := r.Head(); err == nil && !h.Commit.IsZero() {
		tree, err := commitTree(r, h.Commit)
		if err != nil {
			return nil, fmt.Errorf("listing staged files: %w", err)
		}
		if err := r.flattenTree(tree, "", head); err != nil {
			return nil, fmt.Errorf("listing staged files: %w", err)
		}
	} else if err != nil {
		return nil, err
	}
	var out []IndexEntry
	for _, e := range entries {
		if e.Mode == ModeSubmodule || e.Stage == 1 || e.IntentToAdd {
			continue
		}
		if old, ok := head[e.Path]; ok && old == e.Hash && e.Stage == 0 {
			continue
		}
		out = append(out, e)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// flattenTree adds every blob under tree to m, keyed by path.
func (r *Repo) flattenTree(tree Hash, prefix string, m map[string]Hash) error {
	entries, err := r.ReadTree(tree)
	if err != nil {
		return err
	}
	for _, e := range entries {
		p := prefix + e.Name
		if e.Mode.IsDir() {
			if err := r.flattenTree(e.Hash, p+"/", m); err != nil {
				return err
			}
			continue
		}
		m[p] = e.Hash
	}
	return nil
}
