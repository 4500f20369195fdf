package repo

// The flat reader's pack side. Invariants:
//   - an .idx is memory-mapped read-only and checked once (magic, version 2,
//     monotonic fan-out, size) before any lookup trusts it;
//   - every offset read from an .idx or a pack is bounds-checked before use,
//     so a corrupt or truncated file gives an error, never a panic.

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// errUnsupported marks what the flat reader does not handle; the object
// database then reads through go-git.
var errUnsupported = errors.New("unsupported by the flat reader")

const (
	idxHeaderSize = 8
	idxFanoutSize = 256 * 4
)

// packIndex is a memory-mapped pack index, version 2.
type packIndex struct {
	data  []byte
	n     int
	names int // offset of the sorted object ids
	off32 int // offset of the 4-byte offsets
	off64 int // offset of the 8-byte offsets
	n64   int // number of 8-byte offsets
}

// openPackIndex maps and checks an .idx file.
func openPackIndex(path string) (*packIndex, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := fi.Size()
	if size < idxHeaderSize+idxFanoutSize+40 || size > 1<<40 {
		return nil, fmt.Errorf("pack index %s: bad size %d", path, size)
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mapping pack index %s: %w", path, err)
	}
	ix, err := parsePackIndex(data)
	if err != nil {
		syscall.Munmap(data)
		return nil, fmt.Errorf("pack index %s: %w", path, err)
	}
	return ix, nil
}

// parsePackIndex checks an .idx image and records where its tables are.
func parsePackIndex(data []byte) (*packIndex, error) {
	if len(data) < idxHeaderSize+idxFanoutSize+40 {
		return nil, errors.New("truncated")
	}
	if !bytes.Equal(data[:4], []byte{0xff, 't', 'O', 'c'}) {
		return nil, fmt.Errorf("version 1 index: %w", errUnsupported)
	}
	if v := binary.BigEndian.Uint32(data[4:8]); v != 2 {
		return nil, fmt.Errorf("index version %d: %w", v, errUnsupported)
	}
	prev := uint32(0)
	for i := 0; i < 256; i++ {
		c := binary.BigEndian.Uint32(data[idxHeaderSize+4*i:])
		if c < prev {
			return nil, errors.New("fan-out table not monotonic")
		}
		prev = c
	}
	n := int(prev)
	ix := &packIndex{data: data, n: n}
	ix.names = idxHeaderSize + idxFanoutSize
	crc := ix.names + 20*n
	ix.off32 = crc + 4*n
	ix.off64 = ix.off32 + 4*n
	rest := len(data) - ix.off64 - 40
	if n > len(data) || rest < 0 || rest%8 != 0 {
		return nil, errors.New("size does not match object count")
	}
	ix.n64 = rest / 8
	return ix, nil
}

func (ix *packIndex) close() error {
	if ix.data == nil {
		return nil
	}
	err := syscall.Munmap(ix.data)
	ix.data = nil
	return err
}

// fanout returns the range [lo, hi) of entries whose first byte is b.
func (ix *packIndex) fanout(b byte) (int, int) {
	hi := int(binary.BigEndian.Uint32(ix.data[idxHeaderSize+4*int(b):]))
	lo := 0
	if b > 0 {
		lo = int(binary.BigEndian.Uint32(ix.data[idxHeaderSize+4*(int(b)-1):]))
	}
	return lo, hi
}

func (ix *packIndex) name(i int) []byte {
	return ix.data[ix.names+20*i : ix.names+20*i+20]
}

// find returns the pack offset of h.
func (ix *packIndex) find(h Hash) (int64, bool, error) {
	lo, hi := ix.fanout(h[0])
	i := lo + sort.Search(hi-lo, func(i int) bool {
		return bytes.Compare(ix.name(lo+i), h[:]) >= 0
	})
	if i >= hi || !bytes.Equal(ix.name(i), h[:]) {
		return 0, false, nil
	}
	off, err := ix.offset(i)
	return off, err == nil, err
}

// offset returns entry i's pack offset.
func (ix *packIndex) offset(i int) (int64, error) {
	o := binary.BigEndian.Uint32(ix.data[ix.off32+4*i:])
	if o&0x80000000 == 0 {
		return int64(o), nil
	}
	j := int(o & 0x7fffffff)
	if j >= ix.n64 {
		return 0, errors.New("pack index: large offset out of range")
	}
	v := binary.BigEndian.Uint64(ix.data[ix.off64+8*j:])
	if v > 1<<62 {
		return 0, errors.New("pack index: large offset out of range")
	}
	return int64(v), nil
}

// withPrefix appends the ids starting with the hex prefix (lower case, at
// least 2 digits) to out.
func (ix *packIndex) withPrefix(prefix string, out []Hash) []Hash {
	even := prefix[:len(prefix)&^1]
	pb, err := hex.DecodeString(even)
	if err != nil || len(pb) == 0 {
		return out
	}
	lo, hi := ix.fanout(pb[0])
	i := lo + sort.Search(hi-lo, func(i int) bool {
		return bytes.Compare(ix.name(lo+i), pb) >= 0
	})
	for ; i < hi; i++ {
		name := ix.name(i)
		if !bytes.HasPrefix(name, pb) {
			break
		}
		if len(prefix)%2 == 1 && hex.EncodeToString(name[len(pb) : len(pb)+1])[0] != prefix[len(prefix)-1] {
			continue
		}
		var h Hash
		copy(h[:], name)
		out = append(out, h)
	}
	return out
}

// pack is one pack file and its index. The pack file is opened on first
// read and kept open.
type pack struct {
	idxPath  string
	packPath string
	idx      *packIndex
	f        *os.File
	size     int64
}

// loadPacks maps the indexes of the directory's packs on first use.
func (d *objectDir) loadPacks() ([]*pack, error) {
	if d.packsLoaded {
		return d.packs, nil
	}
	ents, err := os.ReadDir(filepath.Join(d.path, "pack"))
	if err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("listing packs: %w", err)
	}
	var packs []*pack
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, "pack-") || !strings.HasSuffix(name, ".idx") {
			continue
		}
		base := filepath.Join(d.path, "pack", strings.TrimSuffix(name, ".idx"))
		if _, err := os.Stat(base + ".pack"); err != nil {
			continue // an index without its pack, as git skips it
		}
		ix, err := openPackIndex(base + ".idx")
		if err != nil {
			for _, p := range packs {
				p.close()
			}
			return nil, err
		}
		packs = append(packs, &pack{idxPath: base + ".idx", packPath: base + ".pack", idx: ix})
	}
	d.packs, d.packsLoaded = packs, true
	return packs, nil
}

func (p *pack) close() error {
	err := p.idx.close()
	if p.f != nil {
		if e := p.f.Close(); e != nil && err == nil {
			err = e
		}
		p.f = nil
	}
	return err
}
