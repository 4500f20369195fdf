package repo

// Objects are written as loose objects, as git writes them: the zlib-deflated
// "<type> <size>\0<content>" in objects/xx/yyyy…, created under a temporary
// name in the same directory (tmp_obj_*, which git fsck and gc know to be
// temporary) and linked into place, so a reader never sees a partial object
// and an object already present is never overwritten. A batch of objects (one
// commit's blobs, trees and commit) is fsynced before any of it becomes
// visible under its final name, so a ref never points at an object that a
// power loss could truncate.

import (
	"bytes"
	"compress/zlib"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// fsyncWrites, when false, turns off every fsync whatever the config says.
// Only the benchmarks set it, to show what durability costs.
var fsyncWrites = true

// durability says what gitseal fsyncs before making it visible: exactly
// what git itself would, so a gitseal commit is as durable as `git commit`
// in the same repository. Unset, that is git's default: nothing gitseal
// writes (git fsyncs only packs and their metadata; core.fsyncObjectFiles
// adds loose objects). A repository (or user) that sets core.fsync gets
// exactly the components it names, as git does: loose-object, reference,
// index, or the aggregates objects, committed, added, all and none,
// "-component" to remove one. Crash safety against a killed process does not
// depend on it (the page cache survives the process); only power loss does.
// Working-tree files are never fsynced (git does not either).
type durability struct{ objects, refs, index bool }

func (r *Repo) durability() durability {
	if !fsyncWrites {
		return durability{}
	}
	var d durability
	if b, ok := r.ConfigBool("core.fsyncObjectFiles"); ok && b {
		d.objects = true
	}
	v, ok := r.Config("core.fsync")
	if !ok {
		return d
	}
	for _, c := range strings.Split(v, ",") {
		c = strings.ToLower(strings.TrimSpace(c))
		on := !strings.HasPrefix(c, "-")
		switch strings.TrimPrefix(c, "-") {
		case "none":
			d = durability{}
		case "loose-object", "objects":
			d.objects = on
		case "reference":
			d.refs = on
		case "index":
			d.index = on
		case "committed":
			d.objects, d.refs = on, on
		case "added", "all":
			d = durability{on, on, on}
		}
	}
	return d
}

// CommitSpec is a commit to write with WriteCommit.
type CommitSpec struct {
	Tree      Hash
	Parents   []Hash
	Author    Signature
	Committer Signature
	// Message is the full message; a final newline is added when missing.
	Message string
	// Signature, when set, is written as the gpgsig header; SignCommit
	// (sign.go) sets it as git config says.
	Signature string
}

// WriteBlob stores data as a blob and returns its id.
func (r *Repo) WriteBlob(data []byte) (Hash, error) {
	w := r.newObjectWriter()
	defer w.abort()
	h, err := w.write(BlobObject, data)
	if err != nil {
		return ZeroHash, err
	}
	return h, w.flush()
}

// WriteTree stores a tree with the given entries and returns its id. Entries
// are sorted as git sorts them (a directory compares as if its name ended in
// '/'); names must be non-empty, without '/' or NUL, and unique.
func (r *Repo) WriteTree(entries []TreeEntry) (Hash, error) {
	data, err := encodeTree(entries)
	if err != nil {
		return ZeroHash, err
	}
	w := r.newObjectWriter()
	defer w.abort()
	h, err := w.write(TreeObject, data)
	if err != nil {
		return ZeroHash, err
	}
	return h, w.flush()
}

// WriteCommit stores a commit in git's exact text format and returns its id.
func (r *Repo) WriteCommit(c CommitSpec) (Hash, error) {
	w := r.newObjectWriter()
	defer w.abort()
	h, err := w.write(CommitObject, encodeCommit(c))
	if err != nil {
		return ZeroHash, err
	}
	return h, w.flush()
}

// encodeTree sorts entries as git does and encodes them.
func encodeTree(entries []TreeEntry) ([]byte, error) {
	sorted := make([]TreeEntry, len(entries))
	copy(sorted, entries)
	key := func(e TreeEntry) string {
		if e.Mode.IsDir() {
			return e.Name + "/"
		}
		return e.Name
	}
	sort.Slice(sorted, func(i, j int) bool { return key(sorted[i]) < key(sorted[j]) })
	var b []byte
	for i, e := range sorted {
		if e.Name == "" || e.Name == "." || e.Name == ".." || e.Name == ".git" || strings.ContainsAny(e.Name, "/\x00") {
			return nil, fmt.Errorf("writing tree: invalid entry name %q", clip(e.Name))
		}
		if i > 0 && sorted[i-1].Name == e.Name {
			return nil, fmt.Errorf("writing tree: duplicate entry %q", clip(e.Name))
		}
		switch e.Mode {
		case ModeFile, ModeExec, ModeDir, ModeSymlink, ModeSubmodule:
		default:
			return nil, fmt.Errorf("writing tree: entry %q has invalid mode %o", clip(e.Name), e.Mode)
		}
		b = strconv.AppendUint(b, uint64(e.Mode), 8)
		b = append(b, ' ')
		b = append(b, e.Name...)
		b = append(b, 0)
		b = append(b, e.Hash[:]...)
	}
	return b, nil
}

// encodeCommit writes a commit's text as git does.
func encodeCommit(c CommitSpec) []byte {
	b := make([]byte, 0, 256+len(c.Message))
	b = append(b, "tree "...)
	b = append(b, c.Tree.String()...)
	b = append(b, '\n')
	for _, p := range c.Parents {
		b = append(b, "parent "...)
		b = append(b, p.String()...)
		b = append(b, '\n')
	}
	b = append(b, "author "...)
	b = formatSignature(b, c.Author)
	b = append(b, "\ncommitter "...)
	b = formatSignature(b, c.Committer)
	b = append(b, '\n')
	if c.Signature != "" {
		b = appendSignatureHeader(b, c.Signature)
	}
	b = append(b, '\n')
	b = append(b, c.Message...)
	if !strings.HasSuffix(c.Message, "\n") {
		b = append(b, '\n')
	}
	return b
}

// hashObject returns the id git gives an object.
func hashObject(t ObjectType, data []byte) Hash {
	h := sha1.New()
	h.Write(objectHeader(t, len(data)))
	h.Write(data)
	var id Hash
	h.Sum(id[:0])
	return id
}

func objectHeader(t ObjectType, n int) []byte {
	b := append([]byte(t.String()), ' ')
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, 0)
}

// objectWriter writes a batch of objects. They are kept in memory until
// flush, which writes a small batch as loose objects (each to a temporary
// file, all fsynced per durability, then linked to their names) and a batch
// of packThreshold or more as one pack (packwrite.go).
type objectWriter struct {
	dir     string   // objects directory
	j       *journal // registers temporary files, under the gitseal lock
	sync    bool     // fsync objects before linking them
	zw      *zlib.Writer
	buf     bytes.Buffer
	queued  []packObject
	pending []pendingObject
	seen    map[Hash]bool
}

type pendingObject struct {
	f     *os.File
	tmp   string
	final string
}

func (r *Repo) newObjectWriter() *objectWriter {
	return &objectWriter{dir: filepath.Join(r.commonDir, "objects"), seen: map[Hash]bool{}, j: r.heldJournal(),
		sync: r.durability().objects}
}

// write queues an object and returns its id. An object already stored
// loose is not written again. (One stored only in a pack is written again:
// harmless, and cheaper than a pack lookup on this path.)
func (w *objectWriter) write(t ObjectType, data []byte) (Hash, error) {
	id := hashObject(t, data)
	if w.seen[id] {
		return id, nil
	}
	w.seen[id] = true
	w.queued = append(w.queued, packObject{id: id, t: t, data: data})
	return id, nil
}

// writeLoose writes one queued object to a temporary loose file.
func (w *objectWriter) writeLoose(o packObject) error {
	id, t, data := o.id, o.t, o.data
	hexID := id.String()
	sub := filepath.Join(w.dir, hexID[:2])
	final := filepath.Join(sub, hexID[2:])
	if _, err := os.Lstat(final); err == nil {
		return nil
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := filepath.Join(sub, "tmp_obj_gitseal_"+hex.EncodeToString(rnd[:]))
	if w.j != nil {
		if err := w.j.add("tmp " + strconv.Quote(tmp)); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if errors.Is(err, fs.ErrNotExist) {
		if err = os.MkdirAll(sub, 0o755); err == nil {
			f, err = os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o444)
		}
	}
	if err != nil {
		return fmt.Errorf("writing %s %s: %w", t, id.short(), err)
	}
	w.pending = append(w.pending, pendingObject{f: f, tmp: tmp, final: final})
	// One compressor per batch: setting one up costs more than compressing
	// a secret file.
	w.buf.Reset()
	if w.zw == nil {
		w.zw, _ = zlib.NewWriterLevel(&w.buf, zlib.BestSpeed) // git's core.looseCompression default
	} else {
		w.zw.Reset(&w.buf)
	}
	w.zw.Write(objectHeader(t, len(data)))
	w.zw.Write(data)
	if err := w.zw.Close(); err != nil {
		return fmt.Errorf("writing %s %s: %w", t, id.short(), err)
	}
	if _, err := f.Write(w.buf.Bytes()); err != nil {
		return fmt.Errorf("writing %s %s: %w", t, id.short(), err)
	}
	return nil
}

// flush makes the batch durable (per durability) and visible. more are
// other files to fsync in the same round (a ref's lock file): the first
// fsync commits the file system's journal for all of them, so the rest are
// cheap, and a ref renamed after flush never points at a lost object.
func (w *objectWriter) flush(more ...*os.File) error {
	queued := w.queued
	w.queued = nil
	if len(queued) >= packThreshold {
		if err := writePack(w.dir, queued, w.sync, w.j); err != nil {
			return err
		}
	} else {
		for _, o := range queued {
			if err := w.writeLoose(o); err != nil {
				return err
			}
		}
	}
	for _, p := range w.pending {
		if !w.sync {
			break
		}
		if err := p.f.Sync(); err != nil {
			return fmt.Errorf("writing objects: %w", err)
		}
	}
	for _, f := range more {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("writing objects: %w", err)
		}
	}
	for i, p := range w.pending {
		p.f.Close()
		w.pending[i].f = nil
		// link, not rename: an object that appeared meanwhile is kept.
		if err := os.Link(p.tmp, p.final); err != nil && !errors.Is(err, fs.ErrExist) {
			if err := os.Rename(p.tmp, p.final); err != nil {
				return fmt.Errorf("writing objects: %w", err)
			}
		}
		os.Remove(p.tmp)
	}
	w.pending = nil
	return nil
}

// flushWithRef returns updateRef's beforeRename for a commit: the objects
// and the ref's lock file are fsynced in one round (per durability), and
// the objects linked, before the ref moves. On a failed compare-and-swap it
// never runs, and abort leaves no object behind.
func (w *objectWriter) flushWithRef(r *Repo) func(*os.File) error {
	return func(lock *os.File) error {
		if r.durability().refs {
			return w.flush(lock)
		}
		return w.flush()
	}
}

// abort removes the temporary files of objects not flushed.
func (w *objectWriter) abort() {
	for _, p := range w.pending {
		if p.f != nil {
			p.f.Close()
		}
		os.Remove(p.tmp)
	}
	w.pending = nil
}
