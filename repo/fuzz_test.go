package repo

import (
	"bytes"
	"compress/zlib"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash/adler32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
)

// The parsers of untrusted bytes (a repository may come from anyone) are
// fuzzed; the seed corpora run as ordinary tests.

// rdDelta makes a git delta with go-git's encoder, for seeds.
func rdDelta(t testing.TB, base, target []byte) []byte {
	b := &plumbing.MemoryObject{}
	b.SetType(plumbing.BlobObject)
	b.Write(base)
	tg := &plumbing.MemoryObject{}
	tg.SetType(plumbing.BlobObject)
	tg.Write(target)
	d, err := packfile.GetDelta(b, tg)
	if err != nil {
		t.Fatal(err)
	}
	rd, _ := d.Reader()
	var buf bytes.Buffer
	buf.ReadFrom(rd)
	return buf.Bytes()
}

func FuzzApplyDelta(f *testing.F) {
	// Seeds stay small: the fuzzer minimises large inputs very slowly.
	base := bytes.Repeat([]byte("0123456789abcdef"), 64)
	target := append(append([]byte("head "), base[100:900]...), []byte(" tail")...)
	f.Add(base, rdDelta(f, base, target))
	f.Add([]byte("hello world"), rdDelta(f, []byte("hello world"), []byte("hello, wide world")))
	f.Add([]byte("abc"), []byte{3, 3, 0x90, 3})     // copy with size bytes only
	f.Add([]byte("abc"), []byte{3, 2, 2, 'x', 'y'}) // literal insert
	f.Add([]byte("abc"), []byte{3, 1, 0})           // reserved instruction
	f.Add([]byte(""), []byte{0, 1, 1, 'z'})         // empty base
	f.Fuzz(func(t *testing.T, base, delta []byte) {
		got, err := applyDelta(base, delta)
		if err != nil {
			return
		}
		size, rest, _ := deltaVarint(delta)
		want, _, _ := deltaVarint(rest)
		if uint64(len(got)) != want || size != uint64(len(base)) {
			t.Fatalf("applyDelta gave %d bytes, delta declares %d", len(got), want)
		}
		if len(base) == 0 {
			return // go-git refuses an empty base; git does not
		}
		ref, err := packfile.PatchDelta(base, delta)
		if err != nil {
			t.Fatalf("applyDelta accepted a delta go-git rejects: %v", err)
		}
		if !bytes.Equal(got, ref) {
			t.Fatalf("applyDelta and go-git disagree")
		}
	})
}

func TestApplyDeltaMatchesGoGit(t *testing.T) {
	base := bytes.Repeat([]byte("line of text\n"), 3000)
	target := append(bytes.Repeat([]byte("new\n"), 10), base[500:]...)
	d := rdDelta(t, base, target)
	got, err := applyDelta(base, d)
	if err != nil || !bytes.Equal(got, target) {
		t.Fatalf("applyDelta: %v", err)
	}
	if _, err := applyDelta(base[1:], d); err == nil {
		t.Error("applyDelta accepted the wrong base size")
	}
	if _, err := applyDelta(base, d[:len(d)-1]); err == nil {
		t.Error("applyDelta accepted a truncated delta")
	}
}

// rdPackSeed builds a small packed repository and returns its .idx and .pack
// (small: the fuzzer minimises large inputs very slowly).
func rdPackSeed(f *testing.F) (idx, pack []byte) {
	dir := rdInit(f)
	rdCommit(f, dir, 1, "one", map[string]string{"a": strings.Repeat("text\n", 40)})
	rdCommit(f, dir, 2, "two", map[string]string{"a": strings.Repeat("text\n", 41)})
	rdGit(f, dir, "gc", "-q")
	m, _ := filepath.Glob(filepath.Join(dir, ".git", "objects", "pack", "*.idx"))
	if len(m) != 1 {
		f.Fatalf("packs: %v", m)
	}
	idx, err := os.ReadFile(m[0])
	if err != nil {
		f.Fatal(err)
	}
	pack, err = os.ReadFile(m[0][:len(m[0])-4] + ".pack")
	if err != nil {
		f.Fatal(err)
	}
	return idx, pack
}

func FuzzPackIndex(f *testing.F) {
	idx, _ := rdPackSeed(f)
	var some Hash
	copy(some[:], idx[8+1024:])
	f.Add(idx, some[:])
	f.Add(idx[:len(idx)-8], some[:])
	f.Add(append([]byte{0xff, 't', 'O', 'c', 0, 0, 0, 1}, make([]byte, 1064)...), some[:])
	f.Add(make([]byte, 1024+40), some[:]) // an empty version 1 index
	f.Fuzz(func(t *testing.T, data, id []byte) {
		ix, err := parsePackIndex(data)
		if err != nil {
			return
		}
		var h Hash
		copy(h[:], id)
		off, found, err := ix.find(h)
		if found && err == nil && off < 0 {
			t.Fatalf("negative offset %d", off)
		}
		ix.withPrefix("ab", nil)
		ix.withPrefix(h.String()[:5], nil)
		for i := 0; i < ix.n && i < 64; i++ {
			ix.offset(i)
		}
	})
}

func FuzzPackEntryHeader(f *testing.F) {
	_, pack := rdPackSeed(f)
	f.Add(pack[12:], int64(12))
	f.Add([]byte{0x95, 0x0a}, int64(100))                       // blob, size 165
	f.Add([]byte{0x60 | 0x05, 0x80, 0x01}, int64(5000))         // OFS_DELTA
	f.Add(append([]byte{0x7a}, make([]byte, 20)...), int64(99)) // REF_DELTA
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, int64(12))
	f.Fuzz(func(t *testing.T, b []byte, off int64) {
		if off < 0 {
			return
		}
		h, err := parseEntryHeader(b, off)
		if err != nil {
			return
		}
		if h.size < 0 || h.size > maxObjectSize || h.dataOff <= off || h.dataOff > off+int64(len(b)) {
			t.Fatalf("bad header %+v at %d from %d bytes", h, off, len(b))
		}
		if h.typ == packOfsDelta && (h.baseOff <= 0 || h.baseOff >= off) {
			t.Fatalf("base offset %d for entry at %d", h.baseOff, off)
		}
	})
}

func FuzzLooseObject(f *testing.F) {
	for _, obj := range []string{"blob 5\x00hello", "tree 0\x00", "commit 3\x00abc", "blob 99\x00short", "blob 1\x00too long", "bad 1\x00x", "blob 01\x00x"} {
		var buf bytes.Buffer
		zw := zlib.NewWriter(&buf)
		zw.Write([]byte(obj))
		zw.Close()
		f.Add(buf.Bytes())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var in inflater
		typ, data, err := in.inflateLoose(bytes.NewReader(b), int64(len(b))*1032+64)
		if err != nil {
			return
		}
		if typ < CommitObject || typ > TagObject {
			t.Fatalf("type %d", typ)
		}
		// What was accepted must be exactly what the header declared.
		var hdr bytes.Buffer
		zr, _ := zlib.NewReader(bytes.NewReader(b))
		hdr.ReadFrom(zr)
		if !bytes.HasSuffix(hdr.Bytes(), data) {
			t.Fatal("content is not the stream's tail")
		}
	})
}

func FuzzObjectParsers(f *testing.F) {
	f.Add([]byte("tree 4b825dc642cb6eb9a060e54bf8d69288fbe4904\nparent 4b825dc642cb6eb9a060e54bf8d69288fbe49040\nauthor A <a@b> 1 +0000\ncommitter C <c@d> 2 -0100\n\nmsg\n"))
	f.Add([]byte("100644 a\x00aaaaaaaaaaaaaaaaaaaa40000 d\x00bbbbbbbbbbbbbbbbbbbb"))
	f.Add([]byte("object 4b825dc642cb6eb9a060e54bf8d69288fbe49040\ntype commit\ntag v1\n\nmsg"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if c, err := parseCommit(b); err == nil && !bytes.Equal(c.Raw, b) {
			t.Fatal("Raw differs from input")
		}
		entries, err := parseTree(b)
		if err == nil {
			for _, e := range entries {
				if got, found, err := treeLookup(b, e.Name); err != nil || !found || got.Name != e.Name {
					t.Fatalf("treeLookup(%q) = %+v %v %v", e.Name, got, found, err)
				}
			}
		}
		tagTarget(b)
		parseSignature(b)
	})
}

func FuzzConfig(f *testing.F) {
	f.Add([]byte("[core]\n\tbare = false\n[remote \"o\"]\n\turl = \"x\\\"y\" ; c\n[a.B]\nk\n"))
	f.Add([]byte("[s]\n\tk = v \\\n cont\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p := &configParser{out: &config{}}
		if err := p.parse(b, "fuzz", 0); err != nil {
			return
		}
		for _, e := range p.out.entries {
			if e.section == "" || e.name == "" {
				t.Fatalf("empty section or name in %+v", e)
			}
		}
	})
}

// FuzzQuickInflate: whatever quickInflater decodes, zlib decodes to the
// same bytes, so the shortcut never returns what the inflater would not.
// One quickInflater serves every input, as one serves a whole read.
func FuzzQuickInflate(f *testing.F) {
	for _, data := range inflateSamples() {
		f.Add(storedStream(data, true), len(data)) // as gitseal's writer stores it
		for _, level := range []int{zlib.NoCompression, zlib.BestSpeed, zlib.DefaultCompression, zlib.HuffmanOnly} {
			f.Add(zlibBytes(data, level), len(data))
		}
	}
	// What git's zlib (C) writes for "gitseal:v1:": fixed codes.
	f.Add([]byte{0x78, 0x01, 0x4b, 0xcf, 0x2c, 0x29, 0x4e, 0x4d, 0xcc, 0xb1, 0x2a, 0x33, 0xb4, 0x02, 0x00, 0x1a, 0x49, 0x04, 0x05}, 11)
	var q quickInflater
	f.Fuzz(func(t *testing.T, z []byte, size int) {
		if size < 0 || size > 1<<20 {
			return
		}
		got := make([]byte, size)
		if !q.inflate(z, got) {
			return
		}
		zr, err := zlib.NewReader(bytes.NewReader(z))
		if err != nil {
			t.Fatalf("quickInflater accepted what zlib refuses: %v", err)
		}
		want, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("quickInflater accepted what zlib cannot read: %v", err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("quickInflater = %q, zlib reads %q", got, want)
		}
	})
}

// inflateSamples are data whose zlib streams have every kind of block:
// stored, fixed codes, dynamic codes with codes longer than the first-level
// table (skewed bytes), several blocks, long back-references.
func inflateSamples() [][]byte {
	secret := []byte("gitseal:v1:6AOJ32iHl997Y01MOrFLDTkJ99B1BXFYY7SKSELeSuKkjR15d+fGJ+WPzHufLrW9QMNB0cPWQ/wtMs9e\n")
	var skewed []byte // byte k about twice as rare as byte k-1: code lengths up to 15
	x := uint32(1)
	for len(skewed) < 200000 {
		x = x*1664525 + 1013904223
		k := byte(0)
		for v := x; v&1 == 1 && k < 40; v >>= 1 {
			k++
		}
		skewed = append(skewed, 'A'+k)
	}
	var tree []byte // a tree's entries: names, and ids no compressor can shrink
	for i := 0; i < 1000; i++ {
		sum := sha256.Sum256([]byte(fmt.Sprint(i)))
		tree = append(tree, fmt.Sprintf("100644 SECRET_%04d\x00", i)...)
		tree = append(tree, sum[:20]...)
	}
	return [][]byte{secret, bytes.Repeat([]byte("abcabcabd"), 40), skewed, tree, {}, []byte("a")}
}

func zlibBytes(data []byte, level int) []byte {
	var buf bytes.Buffer
	w, _ := zlib.NewWriterLevel(&buf, level)
	w.Write(data)
	w.Close()
	return buf.Bytes()
}

// TestQuickInflate: every stream zlib makes is decoded by one
// quickInflater to what zlib decodes, stored, fixed and dynamic blocks
// alike; a wrong size or a changed byte is refused or still decodes right.
func TestQuickInflate(t *testing.T) {
	var q quickInflater
	kinds := map[uint8]int{}
	for _, data := range inflateSamples() {
		for _, level := range []int{zlib.NoCompression, zlib.BestSpeed, zlib.DefaultCompression, zlib.HuffmanOnly} {
			z := zlibBytes(data, level)
			kinds[z[2]>>1&3]++
			got := make([]byte, len(data))
			if !q.inflate(z, got) {
				t.Fatalf("level %d, %d bytes: quickInflater refused zlib's stream", level, len(data))
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("level %d, %d bytes: quickInflater decoded other bytes", level, len(data))
			}
			if len(data) > 0 && q.inflate(z, make([]byte, len(data)-1)) {
				t.Fatalf("level %d: quickInflater accepted a size one short", level)
			}
			if q.inflate(z, make([]byte, len(data)+1)) {
				t.Fatalf("level %d: quickInflater accepted a size one long", level)
			}
			if len(z) > 4096 {
				continue // the large ones: decoding them is the point, not flipping every byte
			}
			for i := 2; i < len(z); i++ {
				bad := bytes.Clone(z)
				bad[i] ^= 0x10
				if out := make([]byte, len(data)); q.inflate(bad, out) && !bytes.Equal(out, data) {
					t.Fatalf("level %d: byte %d changed, quickInflater decoded other bytes", level, i)
				}
			}
		}
	}
	if kinds[0] == 0 || kinds[1] == 0 || kinds[2] == 0 {
		t.Fatalf("first block types: %v; the test needs stored (0), fixed (1) and dynamic (2)", kinds)
	}
}

// storedStream is a zlib stream of data in stored blocks: the data in one
// non-final block and an empty final one, as git's zlib writes small
// incompressible objects (gitEnd), or in one final block.
func storedStream(data []byte, gitEnd bool) []byte {
	z := []byte{0x78, 0x01}
	block := func(final bool, b []byte) {
		h := byte(0)
		if final {
			h = 1
		}
		n := uint16(len(b))
		z = append(z, h, byte(n), byte(n>>8), byte(^n), byte(^n>>8))
		z = append(z, b...)
	}
	if gitEnd {
		block(false, data)
		block(true, nil)
	} else {
		block(true, data)
	}
	return binary.BigEndian.AppendUint32(z, adler32.Checksum(data))
}
