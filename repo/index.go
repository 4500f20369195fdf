package repo

// The index (.git/index) belongs to the user, and gitseal treats it that way:
// it never decodes the whole file into a model and writes the model back
// (which drops extensions git relies on and costs time and memory in
// proportion to the repository). An update is two streaming passes made while
// holding index.lock:
//
//  1. scan: walk every entry header, verify the trailing checksum, and note for
//     each path gitseal is about to change where its entries sit and what they
//     hold (for the dirty check); also whether a changed path's ancestors or
//     descendants are in the index (a file/directory conflict);
//  2. splice: copy the file into index.lock run by run, replacing, inserting
//     or dropping only those entries, with the cached-tree (TREE) extension
//     invalidated along the changed paths; then the new checksum, fsync and
//     rename.
//
// The format is git's Documentation/gitformat-index.txt. Versions 2, 3 and 4
// are handled; in version 4 a path is prefix-compressed against the entry
// before it, so the splice re-encodes the one entry after each change point
// and copies the rest unchanged. Extensions:
//
//   - TREE is parsed, invalidated as git's cache_tree_invalidate_path does,
//     and written back;
//   - REUC and UNTR are copied unchanged: they name paths and directories,
//     not entry positions;
//   - EOIE, IEOT, FSMN and unknown optional extensions are dropped, since
//     they record entry offsets or positions that the splice moves; git
//     rebuilds them when it next writes the index;
//   - link (split index), sdir (sparse index) and unknown required
//     extensions are refused with ErrIndexUnsupported and a hint naming the
//     git command that turns the feature off.
//
// Memory stays O(changed paths + TREE extension), never O(index).
//
// Racy git: git trusts an entry's stat data only when the file's mtime is
// older than the index file's; entries as new as the index are re-checked by
// content (Documentation/technical/racy-git.txt). Git keeps that sound by
// checking such entries whenever it writes a newer index. The splice copies
// entries without looking at their files, so it gives the new index the old
// one's mtime instead: every entry that was racy stays racy, and the entries
// gitseal writes (newer than that) are racy too, which costs git one small
// content check each.

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	indexHeaderLen = 12
	indexEntryLen  = 62 // ten 32-bit stat fields, a 20-byte id, 16 bits of flags

	ceAssumeValid = 0x8000
	ceExtended    = 0x4000
	ceStageMask   = 0x3000
	ceNameMask    = 0x0fff

	ceSkipWorktree = 0x4000 // extended flags (v3+)
	ceIntentToAdd  = 0x2000

	indexBufSize = 128 << 10
)

// indexEntry is one decoded index entry.
type indexEntry struct {
	ctime, mtime [2]uint32 // seconds, nanoseconds
	dev, ino     uint32
	mode         uint32
	uid, gid     uint32
	size         uint32
	hash         Hash
	flags        uint16 // assume-valid and stage; name length and extended bit are derived
	xflags       uint16 // extended flags: skip-worktree, intent-to-add
	path         string
}

func (e *indexEntry) stage() int { return int(e.flags&ceStageMask) >> 12 }

// setStat fills the entry's stat data from a file gitseal has just written,
// as git's fill_stat_cache_info does (each field truncated to 32 bits).
func (e *indexEntry) setStat(fi os.FileInfo) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		e.mtime = [2]uint32{uint32(fi.ModTime().Unix()), uint32(fi.ModTime().Nanosecond())}
		e.size = uint32(fi.Size())
		return
	}
	e.ctime, e.mtime = statTimes(st)
	e.dev = uint32(st.Dev)
	e.ino = uint32(st.Ino)
	e.uid = st.Uid
	e.gid = st.Gid
	e.size = uint32(st.Size)
}

// appendIndexEntry encodes e for an index of the given version; prev is the
// path of the entry written before it (used by v4 prefix compression).
func appendIndexEntry(b []byte, e *indexEntry, version uint32, prev []byte) []byte {
	start := len(b)
	for _, v := range []uint32{e.ctime[0], e.ctime[1], e.mtime[0], e.mtime[1], e.dev, e.ino, e.mode, e.uid, e.gid, e.size} {
		b = binary.BigEndian.AppendUint32(b, v)
	}
	b = append(b, e.hash[:]...)
	flags := e.flags &^ (ceExtended | ceNameMask)
	if n := len(e.path); n < ceNameMask {
		flags |= uint16(n)
	} else {
		flags |= ceNameMask
	}
	if e.xflags != 0 {
		flags |= ceExtended
	}
	b = binary.BigEndian.AppendUint16(b, flags)
	if e.xflags != 0 {
		b = binary.BigEndian.AppendUint16(b, e.xflags)
	}
	if version >= 4 {
		common := 0
		for common < len(prev) && common < len(e.path) && prev[common] == e.path[common] {
			common++
		}
		b = appendVarint(b, uint64(len(prev)-common))
		b = append(b, e.path[common:]...)
		return append(b, 0)
	}
	b = append(b, e.path...)
	// 1 to 8 NUL bytes, so the entry length is a multiple of 8.
	pad := 8 - (len(b)-start)%8
	return append(b, make([]byte, pad)...)
}

// appendVarint writes git's offset varint (as in OFS_DELTA and index v4).
func appendVarint(b []byte, v uint64) []byte {
	var tmp [16]byte
	i := len(tmp) - 1
	tmp[i] = byte(v & 127)
	for v >>= 7; v != 0; v >>= 7 {
		v--
		i--
		tmp[i] = 128 | byte(v&127)
	}
	return append(b, tmp[i:]...)
}

// indexReader reads an index file sequentially, hashing what it consumes.
type indexReader struct {
	src  io.Reader
	buf  []byte
	h    int // buf[h:r] is consumed but not yet hashed
	r, w int
	off  int64 // file offset of buf[r]
	sum  hash.Hash
	err  error
}

func newIndexReader(src io.Reader, sum hash.Hash) *indexReader {
	return &indexReader{src: src, buf: make([]byte, indexBufSize), sum: sum}
}

// peek returns at least n unread bytes (more when buffered), without
// consuming them.
func (ir *indexReader) peek(n int) ([]byte, error) {
	for ir.w-ir.r < n {
		if ir.err != nil {
			if ir.err == io.EOF {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, ir.err
		}
		ir.flushSum()
		if ir.r > 0 {
			copy(ir.buf, ir.buf[ir.r:ir.w])
			ir.w -= ir.r
			ir.r, ir.h = 0, 0
		}
		if n > len(ir.buf) {
			nb := make([]byte, n+indexBufSize)
			copy(nb, ir.buf[:ir.w])
			ir.buf = nb
		}
		m, err := ir.src.Read(ir.buf[ir.w:])
		ir.w += m
		if err != nil {
			ir.err = err
		}
	}
	return ir.buf[ir.r:ir.w], nil
}

// peekUntil returns unread bytes from the current position through the next
// NUL at or after offset from (inclusive).
func (ir *indexReader) peekUntil(from int) ([]byte, error) {
	for n := from + 1; ; {
		b, err := ir.peek(n)
		if err != nil {
			return nil, err
		}
		if i := bytes.IndexByte(b[from:], 0); i >= 0 {
			return b[:from+i+1], nil
		}
		n = len(b) + 1
	}
}

// consume advances past n peeked bytes. Hashing is batched: per-entry
// writes to SHA-1 cost more than the hashing itself.
func (ir *indexReader) consume(n int) {
	ir.r += n
	ir.off += int64(n)
}

// flushSum hashes what has been consumed.
func (ir *indexReader) flushSum() {
	if ir.sum != nil && ir.h < ir.r {
		ir.sum.Write(ir.buf[ir.h:ir.r])
	}
	ir.h = ir.r
}

// copyN consumes n bytes, writing them to w.
func (ir *indexReader) copyN(w io.Writer, n int64) error {
	for n > 0 {
		chunk := int64(ir.w - ir.r)
		if chunk == 0 {
			if _, err := ir.peek(1); err != nil {
				return err
			}
			continue
		}
		chunk = min(chunk, n)
		if w != nil {
			ir.flushSum()
			if _, err := w.Write(ir.buf[ir.r : ir.r+int(chunk)]); err != nil {
				return err
			}
		}
		ir.consume(int(chunk))
		n -= chunk
	}
	return nil
}

// readEntry decodes the entry at the reader's position; prev is the path of
// the entry before it (v4). It returns the entry and its encoded length, and
// leaves the bytes unconsumed. The returned path aliases the reader's buffer
// only through e.path, which is a fresh string.
func (ir *indexReader) readEntry(version uint32, prev []byte, full bool, path []byte) (e indexEntry, n int, outPath []byte, err error) {
	b, err := ir.peek(indexEntryLen)
	if err != nil {
		return e, 0, path, err
	}
	flags := binary.BigEndian.Uint16(b[60:62])
	hdr := indexEntryLen
	if flags&ceExtended != 0 {
		if version < 3 {
			return e, 0, path, errors.New("extended flags in a version 2 index")
		}
		hdr += 2
		if b, err = ir.peek(hdr); err != nil {
			return e, 0, path, err
		}
	}
	var name []byte
	switch {
	case version >= 4:
		// varint: bytes to drop from the previous path, then a NUL-terminated
		// suffix. The varint may itself be a NUL byte (strip nothing).
		if b, err = ir.peek(hdr + 1); err != nil {
			return e, 0, path, err
		}
		p := hdr
		c := b[p]
		p++
		strip := uint64(c & 127)
		for c&128 != 0 {
			if p-hdr >= 9 {
				return e, 0, path, errors.New("bad path prefix in a version 4 entry")
			}
			if b, err = ir.peek(p + 1); err != nil {
				return e, 0, path, err
			}
			c = b[p]
			p++
			strip = ((strip + 1) << 7) | uint64(c&127)
		}
		if strip > uint64(len(prev)) {
			return e, 0, path, errors.New("bad path prefix in a version 4 entry")
		}
		if b, err = ir.peekUntil(p); err != nil {
			return e, 0, path, err
		}
		suffix := b[p : len(b)-1]
		path = append(append(path[:0], prev[:len(prev)-int(strip)]...), suffix...)
		n = len(b)
		name = path
	default:
		nl := int(flags & ceNameMask)
		if nl == ceNameMask {
			if b, err = ir.peekUntil(hdr); err != nil {
				return e, 0, path, err
			}
			nl = len(b) - hdr - 1
		}
		n = (hdr + nl + 8) &^ 7
		if b, err = ir.peek(n); err != nil {
			return e, 0, path, err
		}
		if b[hdr+nl] != 0 {
			return e, 0, path, errors.New("entry path not NUL-terminated")
		}
		name = b[hdr : hdr+nl]
		path = append(path[:0], name...)
	}
	if len(path) == 0 {
		return e, 0, path, errEmptyIndexPath
	}
	if !full {
		return e, n, path, nil
	}
	u := func(i int) uint32 { return binary.BigEndian.Uint32(b[4*i:]) }
	e = indexEntry{
		ctime: [2]uint32{u(0), u(1)}, mtime: [2]uint32{u(2), u(3)},
		dev: u(4), ino: u(5), mode: u(6), uid: u(7), gid: u(8), size: u(9),
		flags: flags & (ceAssumeValid | ceStageMask),
		path:  string(path),
	}
	copy(e.hash[:], b[40:60])
	if flags&ceExtended != 0 {
		e.xflags = binary.BigEndian.Uint16(b[62:64])
	}
	return e, n, path, nil
}

// errEmptyIndexPath: only a split index stores entries without a path
// (their names are in the shared index).
var errEmptyIndexPath = errors.New("entry with an empty path")

// indexSpot is what the scan found at one probed path.
type indexSpot struct {
	path    string
	child   bool  // a probe for path+"/": does the index hold anything below path?
	started bool  // start/end set
	start   int64 // byte range of the entries with exactly this path
	end     int64
	prev    []byte       // path of the entry just before start (v4 re-encoding)
	entries []indexEntry // the entries with this path, all stages
	found   bool         // child probe: an entry lies below path+"/"
}

// indexScan is the result of pass 1.
type indexScan struct {
	exists     bool
	version    uint32
	count      uint32
	size       int64
	entriesEnd int64
	spots      []*indexSpot // sorted by probe key
	tree       *cacheTree   // the TREE extension, nil when absent
	file       *os.File     // the index, kept open for pass 2
	mtime      time.Time    // the index file's
}

// spot returns the scan's result for an exact path probe.
func (s *indexScan) spot(path string) *indexSpot {
	for _, sp := range s.spots {
		if !sp.child && sp.path == path {
			return sp
		}
	}
	return nil
}

// hasChildren reports whether the index holds an entry below dir.
func (s *indexScan) hasChildren(dir string) bool {
	for _, sp := range s.spots {
		if sp.child && sp.path == dir {
			return sp.found
		}
	}
	return false
}

func (s *indexScan) close() {
	if s.file != nil {
		s.file.Close()
		s.file = nil
	}
}

// ErrIndexUnsupported and friends are declared in commit.go.

// scanIndex runs pass 1 over the index at path, probing the given paths
// (exact entries) and childProbes (is anything stored below dir/?). A
// missing index scans as an empty one.
func scanIndex(path string, probes, childProbes []string) (*indexScan, error) {
	s := &indexScan{version: 2}
	seen := map[string]bool{}
	for _, p := range probes {
		if !seen[p] {
			seen[p] = true
			s.spots = append(s.spots, &indexSpot{path: p})
		}
	}
	for _, p := range childProbes {
		if !seen[p+"/"] {
			seen[p+"/"] = true
			s.spots = append(s.spots, &indexSpot{path: p, child: true})
		}
	}
	key := func(sp *indexSpot) string {
		if sp.child {
			return sp.path + "/"
		}
		return sp.path
	}
	sort.Slice(s.spots, func(i, j int) bool { return key(s.spots[i]) < key(s.spots[j]) })
	keys := make([][]byte, len(s.spots))
	for i, sp := range s.spots {
		keys[i] = []byte(key(sp))
	}

	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		for _, sp := range s.spots {
			sp.started = true
		}
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	s.exists, s.file, s.size, s.mtime = true, f, fi.Size(), fi.ModTime()
	if err := s.scan(keys); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *indexScan) scan(keys [][]byte) error {
	if s.size < indexHeaderLen+20 {
		return errors.New("index file too short")
	}
	sum := sha1.New()
	ir := newIndexReader(io.LimitReader(s.file, s.size-20), sum)
	hdr, err := ir.peek(indexHeaderLen)
	if err != nil {
		return err
	}
	if string(hdr[:4]) != "DIRC" {
		return errors.New("index file has a bad signature")
	}
	s.version = binary.BigEndian.Uint32(hdr[4:8])
	s.count = binary.BigEndian.Uint32(hdr[8:12])
	if s.version < 2 || s.version > 4 {
		return fmt.Errorf("index version %d is not supported", s.version)
	}
	ir.consume(indexHeaderLen)

	var cur, prev []byte
	k := 0
	for i := uint32(0); i < s.count; i++ {
		start := ir.off
		var n int
		// Entries are decoded in full only where a probe matches; most are
		// walked by header and path alone.
		_, n, cur, err = ir.readEntry(s.version, prev, false, cur)
		if err == errEmptyIndexPath {
			return checkIndexExtension("link")
		}
		if err != nil {
			return fmt.Errorf("reading index entry %d: %w", i, err)
		}
		for k < len(keys) {
			c := bytes.Compare(keys[k], cur)
			if c > 0 {
				break
			}
			sp := s.spots[k]
			if c == 0 && !sp.child {
				e, _, _, err := ir.readEntry(s.version, prev, true, nil)
				if err != nil {
					return fmt.Errorf("reading index entry %d: %w", i, err)
				}
				if !sp.started {
					sp.started, sp.start, sp.prev = true, start, bytes.Clone(prev)
				}
				sp.entries = append(sp.entries, e)
				sp.end = start + int64(n)
				break
			}
			// The key sorts before this entry: this entry is the first one
			// after it.
			if sp.child {
				sp.found = bytes.HasPrefix(cur, keys[k])
			} else if !sp.started {
				sp.started, sp.start, sp.end, sp.prev = true, start, start, bytes.Clone(prev)
			}
			k++
		}
		ir.consume(n)
		prev, cur = cur, prev
	}
	s.entriesEnd = ir.off
	for ; k < len(keys); k++ {
		if sp := s.spots[k]; !sp.child && !sp.started {
			sp.started, sp.start, sp.end, sp.prev = true, s.entriesEnd, s.entriesEnd, bytes.Clone(prev)
		}
	}

	// Extensions, up to the trailing checksum.
	for ir.off < s.size-20 {
		h, err := ir.peek(8)
		if err != nil {
			return fmt.Errorf("reading index extensions: %w", err)
		}
		sig := string(h[:4])
		size := int64(binary.BigEndian.Uint32(h[4:8]))
		if ir.off+8+size > s.size-20 {
			return fmt.Errorf("index extension %q overruns the file", sig)
		}
		if err := checkIndexExtension(sig); err != nil {
			return err
		}
		ir.consume(8)
		if sig == "TREE" {
			data, err := ir.peek(int(size))
			if err != nil {
				return err
			}
			if s.tree, err = parseCacheTree(data[:size]); err != nil {
				return fmt.Errorf("reading index TREE extension: %w", err)
			}
			ir.consume(int(size))
			continue
		}
		if err := ir.copyN(nil, size); err != nil {
			return err
		}
	}
	ir.flushSum()
	var want [20]byte
	if _, err := s.file.ReadAt(want[:], s.size-20); err != nil {
		return err
	}
	// An all-zero trailer means index.skipHash (git 2.40+): nothing to verify.
	if got := sum.Sum(nil); want != [20]byte{} && !bytes.Equal(got, want[:]) {
		return errors.New("index file checksum mismatch (the index is corrupt)")
	}
	return nil
}

// checkIndexExtension refuses what gitseal cannot splice safely.
func checkIndexExtension(sig string) error {
	switch sig {
	case "link":
		return fmt.Errorf("%w: the index is split (core.splitIndex); run `git update-index --no-split-index` and retry", ErrIndexUnsupported)
	case "sdir":
		return fmt.Errorf("%w: the index is sparse (index.sparse); run `git sparse-checkout init --no-sparse-index` (the checkout stays sparse) and retry", ErrIndexUnsupported)
	}
	if sig[0] < 'A' || sig[0] > 'Z' {
		return fmt.Errorf("%w: unknown required index extension %q (written by a newer git?)", ErrIndexUnsupported, sig)
	}
	return nil
}

// keepIndexExtension reports whether an optional extension survives a splice.
func keepIndexExtension(sig string) bool {
	return sig == "REUC" || sig == "UNTR"
}

// indexChange is one path's new state in the index: entry nil removes every
// entry (all stages) at path.
type indexChange struct {
	path  string
	entry *indexEntry
}

// hashingWriter hashes what it writes.
type hashingWriter struct {
	w   *bufio.Writer
	sum hash.Hash
}

func (hw *hashingWriter) Write(b []byte) (int, error) {
	hw.sum.Write(b)
	return hw.w.Write(b)
}

// writeIndex runs pass 2: it writes the index with changes applied to out,
// from the scanned index s (which must have probed every changed path).
// changes must be sorted by path, without duplicates.
func writeIndex(out io.Writer, s *indexScan, changes []indexChange) error {
	bw := bufio.NewWriterSize(out, indexBufSize)
	hw := &hashingWriter{w: bw, sum: sha1.New()}
	version := s.version
	count := int64(s.count)
	spots := make([]*indexSpot, len(changes))
	for i, c := range changes {
		sp := s.spot(c.path)
		if sp == nil || !sp.started {
			return fmt.Errorf("writing index: %s was not scanned", c.path)
		}
		if i > 0 && changes[i-1].path >= c.path {
			return errors.New("writing index: changes not sorted")
		}
		spots[i] = sp
		count -= int64(len(sp.entries))
		if c.entry != nil {
			count++
			if c.entry.xflags != 0 && version < 3 {
				version = 3
			}
		}
	}
	if count < 0 || count > 1<<32-1 {
		return errors.New("writing index: bad entry count")
	}
	var hdr [indexHeaderLen]byte
	copy(hdr[:], "DIRC")
	binary.BigEndian.PutUint32(hdr[4:], version)
	binary.BigEndian.PutUint32(hdr[8:], uint32(count))
	hw.Write(hdr[:])

	var ir *indexReader
	if s.exists {
		ir = newIndexReader(io.NewSectionReader(s.file, 0, s.size-20), nil)
		if err := ir.copyN(nil, indexHeaderLen); err != nil {
			return err
		}
	}
	var inPrev, outPrev, tmp []byte
	var enc []byte
	// run copies input [ir.off, to) unchanged, re-encoding its first entry
	// in v4 when the path before it changed.
	run := func(to int64, lastPath []byte) error {
		if ir == nil || ir.off >= to {
			return nil
		}
		if version >= 4 && !bytes.Equal(inPrev, outPrev) {
			e, n, p, err := ir.readEntry(version, inPrev, true, tmp)
			if err != nil {
				return err
			}
			tmp = p
			enc = appendIndexEntry(enc[:0], &e, version, outPrev)
			hw.Write(enc)
			ir.consume(n)
			inPrev = append(inPrev[:0], e.path...)
			outPrev = append(outPrev[:0], e.path...)
		}
		if err := ir.copyN(hw, to-ir.off); err != nil {
			return err
		}
		inPrev = append(inPrev[:0], lastPath...)
		outPrev = append(outPrev[:0], lastPath...)
		return nil
	}
	for i, c := range changes {
		sp := spots[i]
		if err := run(sp.start, sp.prev); err != nil {
			return fmt.Errorf("writing index: %w", err)
		}
		if ir != nil && sp.end > sp.start {
			if err := ir.copyN(nil, sp.end-sp.start); err != nil {
				return fmt.Errorf("writing index: %w", err)
			}
			inPrev = append(inPrev[:0], sp.path...)
		}
		if c.entry != nil {
			enc = appendIndexEntry(enc[:0], c.entry, version, outPrev)
			hw.Write(enc)
			outPrev = append(outPrev[:0], c.entry.path...)
		}
	}
	if s.exists {
		// The last run ends at the last entry, whose path the scan did not
		// keep; v4 needs only the path before a run's first entry, so any
		// value serves here.
		if err := run(s.entriesEnd, nil); err != nil {
			return fmt.Errorf("writing index: %w", err)
		}
		for ir.off < s.size-20 {
			h, err := ir.peek(8)
			if err != nil {
				return fmt.Errorf("writing index: %w", err)
			}
			sig := string(h[:4])
			size := int64(binary.BigEndian.Uint32(h[4:8]))
			switch {
			case sig == "TREE":
				if err := ir.copyN(nil, 8+size); err != nil {
					return fmt.Errorf("writing index: %w", err)
				}
				if s.tree != nil {
					for _, c := range changes {
						s.tree.invalidate(c.path)
					}
					data := s.tree.appendTo(nil)
					var eh [8]byte
					copy(eh[:], "TREE")
					binary.BigEndian.PutUint32(eh[4:], uint32(len(data)))
					hw.Write(eh[:])
					hw.Write(data)
				}
			case keepIndexExtension(sig):
				if err := ir.copyN(hw, 8+size); err != nil {
					return fmt.Errorf("writing index: %w", err)
				}
			default:
				if err := ir.copyN(nil, 8+size); err != nil {
					return fmt.Errorf("writing index: %w", err)
				}
			}
		}
	}
	if _, err := bw.Write(hw.sum.Sum(nil)); err != nil {
		return err
	}
	return bw.Flush()
}

// cacheTree is the TREE extension: for each directory, how many index entries
// it covers and, when valid, the tree object they make.
type cacheTree struct {
	name     string
	count    int // entries covered; -1 when invalid
	hash     Hash
	children []*cacheTree
}

func parseCacheTree(data []byte) (*cacheTree, error) {
	t, rest, err := parseCacheTreeNode(data, 0)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, errors.New("trailing data")
	}
	return t, nil
}

func parseCacheTreeNode(b []byte, depth int) (*cacheTree, []byte, error) {
	if depth > 4096 {
		return nil, nil, errors.New("too deep")
	}
	bad := errors.New("malformed entry")
	i := bytes.IndexByte(b, 0)
	if i < 0 {
		return nil, nil, bad
	}
	t := &cacheTree{name: string(b[:i])}
	b = b[i+1:]
	nl := bytes.IndexByte(b, '\n')
	if nl < 0 {
		return nil, nil, bad
	}
	countStr, subStr, ok := strings.Cut(string(b[:nl]), " ")
	if !ok {
		return nil, nil, bad
	}
	count, err1 := strconv.Atoi(countStr)
	subs, err2 := strconv.Atoi(subStr)
	if err1 != nil || err2 != nil || subs < 0 || count < -1 {
		return nil, nil, bad
	}
	t.count = count
	b = b[nl+1:]
	if count >= 0 {
		if len(b) < 20 {
			return nil, nil, bad
		}
		copy(t.hash[:], b[:20])
		b = b[20:]
	}
	for j := 0; j < subs; j++ {
		c, rest, err := parseCacheTreeNode(b, depth+1)
		if err != nil {
			return nil, nil, err
		}
		t.children = append(t.children, c)
		b = rest
	}
	return t, b, nil
}

func (t *cacheTree) appendTo(b []byte) []byte {
	b = append(b, t.name...)
	b = append(b, 0)
	b = strconv.AppendInt(b, int64(t.count), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(len(t.children)), 10)
	b = append(b, '\n')
	if t.count >= 0 {
		b = append(b, t.hash[:]...)
	}
	for _, c := range t.children {
		b = c.appendTo(b)
	}
	return b
}

// invalidate marks every directory above path invalid and forgets a subtree
// named by path itself, as git's do_invalidate_path does.
func (t *cacheTree) invalidate(path string) {
	for n := t; n != nil; {
		n.count = -1
		comp, rest, more := strings.Cut(path, "/")
		var next *cacheTree
		for i, c := range n.children {
			if c.name == comp {
				if !more {
					n.children = append(n.children[:i:i], n.children[i+1:]...)
				} else {
					next = c
				}
				break
			}
		}
		n, path = next, rest
	}
}
