package repo

// The flat reader's pack side. Invariants:
//   - an .idx is memory-mapped read-only and checked once (magic, version 2,
//     monotonic fan-out, size) before any lookup trusts it;
//   - every offset read from an .idx or a pack is bounds-checked before use,
//     so a corrupt or truncated file gives an error, never a panic.

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"container/list"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// errUnsupported marks what the flat reader does not handle; the object
// database then reads through go-git.
var errUnsupported = errors.New("unsupported by the flat reader")

const (
	idxHeaderSize = 8
	idxFanoutSize = 256 * 4
)

// packIndex is a memory-mapped pack index. Version 2 (git's default since
// 1.5.2) keeps names, CRCs and offsets in separate tables; version 1 keeps
// (4-byte offset, name) pairs after the fan-out table.
type packIndex struct {
	data    []byte
	version int
	n       int
	fan     int // offset of the fan-out table
	names   int // offset of the first object id
	stride  int // distance between object ids
	off32   int // v2: offset of the 4-byte offsets
	off64   int // v2: offset of the 8-byte offsets
	n64     int // v2: number of 8-byte offsets
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
	if size < idxFanoutSize+40 || size > 1<<40 {
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
	ix := &packIndex{data: data, version: 1}
	if len(data) >= 8 && bytes.Equal(data[:4], []byte{0xff, 't', 'O', 'c'}) {
		if v := binary.BigEndian.Uint32(data[4:8]); v != 2 {
			return nil, fmt.Errorf("index version %d: %w", v, errUnsupported)
		}
		ix.version, ix.fan = 2, idxHeaderSize
	}
	if len(data) < ix.fan+idxFanoutSize+40 {
		return nil, errors.New("truncated")
	}
	prev := uint32(0)
	for i := 0; i < 256; i++ {
		c := binary.BigEndian.Uint32(data[ix.fan+4*i:])
		if c < prev {
			return nil, errors.New("fan-out table not monotonic")
		}
		prev = c
	}
	n := int(prev)
	ix.n = n
	if n > len(data) {
		return nil, errors.New("size does not match object count")
	}
	if ix.version == 1 {
		ix.names, ix.stride = idxFanoutSize+4, 24
		if len(data) != idxFanoutSize+24*n+40 {
			return nil, errors.New("size does not match object count")
		}
		return ix, nil
	}
	ix.names, ix.stride = ix.fan+idxFanoutSize, 20
	crc := ix.names + 20*n
	ix.off32 = crc + 4*n
	ix.off64 = ix.off32 + 4*n
	rest := len(data) - ix.off64 - 40
	if rest < 0 || rest%8 != 0 {
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
	hi := int(binary.BigEndian.Uint32(ix.data[ix.fan+4*int(b):]))
	lo := 0
	if b > 0 {
		lo = int(binary.BigEndian.Uint32(ix.data[ix.fan+4*(int(b)-1):]))
	}
	return lo, hi
}

func (ix *packIndex) name(i int) []byte {
	o := ix.names + ix.stride*i
	return ix.data[o : o+20]
}

// find returns the pack offset of h.
func (ix *packIndex) find(h Hash) (int64, bool, error) {
	lo, hi := ix.fanout(h[0])
	i := ix.search(lo, hi, h)
	if i >= hi || !bytes.Equal(ix.name(i), h[:]) {
		return 0, false, nil
	}
	off, err := ix.offset(i)
	return off, err == nil, err
}

// search returns the first entry in [lo, hi) whose id is not below h (hi
// when there is none). Object ids are uniformly distributed, so the first
// few probes guess where h falls from the bytes after the fan-out byte
// (interpolation, as git's own lookup does); what is left is binary
// searched. On a large index that is two or three probes instead of
// eleven, and each probe is a cache miss: it is most of what looking up a
// thousand secrets costs in a 300k-object pack. An index whose ids are
// not uniform (made on purpose) costs at most the three guesses more.
func (ix *packIndex) search(lo, hi int, h Hash) int {
	t := binary.BigEndian.Uint64(h[1:9])
	// Entries before lo are below h and their keys at most kLo; entries
	// from hi on are not below h and their keys at least kHi.
	kLo, kHi := uint64(0), uint64(math.MaxUint64)
	for probes := 0; probes < 3 && hi-lo > 16; probes++ {
		frac := float64(t-kLo) / (float64(kHi-kLo) + 1)
		mid := lo + int(frac*float64(hi-lo))
		mid = max(lo, min(mid, hi-1))
		name := ix.name(mid)
		switch c := bytes.Compare(name, h[:]); {
		case c < 0:
			lo, kLo = mid+1, binary.BigEndian.Uint64(name[1:9])
		case c > 0:
			hi, kHi = mid, binary.BigEndian.Uint64(name[1:9])
		default:
			return mid
		}
	}
	return lo + sort.Search(hi-lo, func(i int) bool {
		return bytes.Compare(ix.name(lo+i), h[:]) >= 0
	})
}

// offset returns entry i's pack offset.
func (ix *packIndex) offset(i int) (int64, error) {
	if ix.version == 1 {
		return int64(binary.BigEndian.Uint32(ix.data[idxFanoutSize+24*i:])), nil
	}
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

// pack is one pack file and its index. The pack is memory-mapped on first
// read and stays mapped (git does the same): reading an entry is then no
// system call at all, which matters when a history walk reads thousands.
type pack struct {
	idxPath  string
	packPath string
	idx      *packIndex
	data     []byte    // the mapped pack, nil until first read
	mtime    time.Time // the pack file's; newer packs are searched first
}

// loadPacks maps the indexes of the directory's packs on first use.
func (d *objectDir) loadPacks() ([]*pack, error) {
	return d.loadPacksKeeping(nil)
}

// loadPacksKeeping lists the directory's packs, reusing those in keep (by
// index path) rather than mapping them again.
func (d *objectDir) loadPacksKeeping(keep map[string]*pack) ([]*pack, error) {
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
		if p, ok := keep[base+".idx"]; ok {
			packs = append(packs, p)
			continue
		}
		fi, err := os.Stat(base + ".pack")
		if err != nil {
			continue // an index without its pack, as git skips it
		}
		ix, err := openPackIndex(base + ".idx")
		if err != nil {
			for _, p := range packs {
				if keep[p.idxPath] != p {
					p.close()
				}
			}
			return nil, err
		}
		packs = append(packs, &pack{idxPath: base + ".idx", packPath: base + ".pack", idx: ix, mtime: fi.ModTime()})
	}
	// Newest first, as git searches them: recent objects (the secrets a
	// command just wrote, an import's pack) live in the newest packs, and a
	// miss in a large old index costs a binary search and its page faults.
	sort.SliceStable(packs, func(i, k int) bool { return packs[i].mtime.After(packs[k].mtime) })
	d.packs, d.packsLoaded = packs, true
	return packs, nil
}

func (p *pack) close() error {
	err := p.idx.close()
	if p.data != nil {
		if e := syscall.Munmap(p.data); e != nil && err == nil {
			err = e
		}
		p.data = nil
	}
	return err
}

// Pack entry types beyond the four object types.
const (
	packOfsDelta = 6
	packRefDelta = 7
)

// maxObjectSize bounds the size an object or delta result may declare, so a
// corrupt header cannot make the reader allocate without limit.
const maxObjectSize = 1 << 31

// maxDeltaChain bounds delta chains (git's default --depth is 50; repacks
// with --depth=4095 exist but anything near this is corruption).
const maxDeltaChain = 10000

// open maps the pack file on first use and checks its header.
func (p *pack) open() error {
	if p.data != nil {
		return nil
	}
	f, err := os.Open(p.packPath)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	name := filepath.Base(p.packPath)
	if fi.Size() < 32 || fi.Size() > 1<<46 {
		return fmt.Errorf("pack %s: bad size %d", name, fi.Size())
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(fi.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("mapping pack %s: %w", name, err)
	}
	if string(data[:4]) != "PACK" {
		syscall.Munmap(data)
		return fmt.Errorf("pack %s: bad signature", name)
	}
	if v := binary.BigEndian.Uint32(data[4:8]); v != 2 && v != 3 {
		syscall.Munmap(data)
		return fmt.Errorf("pack %s: version %d: %w", name, v, errUnsupported)
	}
	p.data = data
	return nil
}

// entryHeader is a pack entry's header.
type entryHeader struct {
	off     int64 // where the entry starts
	typ     int   // 1-4, packOfsDelta or packRefDelta
	size    int64 // inflated size of the object or of the delta
	dataOff int64 // where the zlib stream starts
	baseOff int64 // packOfsDelta: the base entry's offset
	baseRef Hash  // packRefDelta: the base object's id
}

// readEntryHeader reads the entry header at off.
func (p *pack) readEntryHeader(off int64) (entryHeader, error) {
	end := int64(len(p.data)) - 20
	if off < 12 || off >= end {
		return entryHeader{}, fmt.Errorf("pack offset %d out of range", off)
	}
	return parseEntryHeader(p.data[off:min(off+64, end)], off)
}

var errTrunc = errors.New("truncated pack entry header")

// parseEntryHeader parses the header of the entry at off from b, the bytes
// starting there (at least the header, up to the end of the pack).
func parseEntryHeader(b []byte, off int64) (entryHeader, error) {
	h := entryHeader{off: off}
	if len(b) == 0 {
		return h, errTrunc
	}
	c := b[0]
	i := 1
	h.typ = int(c>>4) & 7
	size := uint64(c & 15)
	shift := uint(4)
	for c&0x80 != 0 {
		if i >= len(b) || shift > 60 {
			return h, errTrunc
		}
		c = b[i]
		i++
		size |= uint64(c&0x7f) << shift
		shift += 7
	}
	if size > maxObjectSize {
		return h, fmt.Errorf("pack entry at %d: declared size %d too large", off, size)
	}
	h.size = int64(size)
	switch h.typ {
	case int(CommitObject), int(TreeObject), int(BlobObject), int(TagObject):
	case packOfsDelta:
		if i >= len(b) {
			return h, errTrunc
		}
		c = b[i]
		i++
		rel := uint64(c & 0x7f)
		for c&0x80 != 0 {
			if i >= len(b) || rel >= 1<<55 {
				return h, errTrunc
			}
			c = b[i]
			i++
			rel = ((rel + 1) << 7) | uint64(c&0x7f)
		}
		if rel == 0 || rel >= uint64(off) {
			return h, fmt.Errorf("pack entry at %d: delta base offset out of range", off)
		}
		h.baseOff = off - int64(rel)
	case packRefDelta:
		if i+20 > len(b) {
			return h, errTrunc
		}
		copy(h.baseRef[:], b[i:i+20])
		i += 20
	default:
		return h, fmt.Errorf("pack entry at %d: invalid type %d", off, h.typ)
	}
	h.dataOff = off + int64(i)
	return h, nil
}

// readPacked resolves the entry at off: inflate it, and for a delta, walk
// back to a base (or a cached intermediate result) and apply the deltas
// forward. depth counts REF_DELTA hops to other packs.
func (db *objectDB) readPacked(p *pack, off int64, depth int) (ObjectType, []byte, error) {
	if err := p.open(); err != nil {
		return 0, nil, err
	}
	var chain []entryHeader
	var typ ObjectType
	var data []byte
	cur := off
	for {
		if e, ok := db.cache.get(p, cur); ok {
			typ, data = e.typ, e.data
			break
		}
		hdr, err := p.readEntryHeader(cur)
		if err != nil {
			return 0, nil, fmt.Errorf("pack %s: %w", filepath.Base(p.packPath), err)
		}
		if hdr.typ <= int(TagObject) {
			data, err = db.inflatePacked(p, hdr)
			if err != nil {
				return 0, nil, err
			}
			typ = ObjectType(hdr.typ)
			// A blob read for itself is rarely read again (a secret, a
			// file): caching it only costs. Trees, commits and delta bases
			// are what later reads reuse.
			if typ != BlobObject || len(chain) > 0 {
				db.cache.add(p, cur, typ, data)
			}
			break
		}
		chain = append(chain, hdr)
		if len(chain) > maxDeltaChain {
			return 0, nil, fmt.Errorf("pack %s: delta chain at %d too long", filepath.Base(p.packPath), off)
		}
		if hdr.typ == packOfsDelta {
			cur = hdr.baseOff
			continue
		}
		baseOff, found, err := p.idx.find(hdr.baseRef)
		if err != nil {
			return 0, nil, err
		}
		if found {
			cur = baseOff
			continue
		}
		// A base in another pack or loose: only thin packs fixed up by a
		// careless tool have these, but they are valid.
		if depth >= maxRefDeltaDepth {
			return 0, nil, fmt.Errorf("pack %s: REF_DELTA chain across packs too deep", filepath.Base(p.packPath))
		}
		typ, data, err = db.flatRead(hdr.baseRef, depth+1)
		if err != nil {
			return 0, nil, fmt.Errorf("delta base %s: %w", hdr.baseRef.short(), err)
		}
		break
	}
	for i := len(chain) - 1; i >= 0; i-- {
		delta, err := db.inflatePacked(p, chain[i])
		if err != nil {
			return 0, nil, err
		}
		data, err = applyDelta(data, delta)
		if err != nil {
			return 0, nil, fmt.Errorf("pack %s: entry at %d: %w", filepath.Base(p.packPath), chain[i].off, err)
		}
		if typ != BlobObject || i > 0 {
			db.cache.add(p, chain[i].off, typ, data)
		}
	}
	return typ, data, nil
}

// maxRefDeltaDepth bounds REF_DELTA hops from one pack to another.
const maxRefDeltaDepth = 64

// inflatePacked inflates the zlib stream of a pack entry.
func (db *objectDB) inflatePacked(p *pack, hdr entryHeader) ([]byte, error) {
	end := int64(len(p.data)) - 20
	if hdr.dataOff >= end {
		return nil, fmt.Errorf("pack %s: entry at %d truncated", filepath.Base(p.packPath), hdr.off)
	}
	// Deflate expands at most ~1032:1, so a declared size beyond that is a
	// corrupt header, not a reason to allocate.
	if hdr.size > (end-hdr.dataOff)*1032+64 {
		return nil, fmt.Errorf("pack %s: entry at %d: declared size %d exceeds its data", filepath.Base(p.packPath), hdr.off, hdr.size)
	}
	data := make([]byte, hdr.size)
	if db.inf.quick.inflate(p.data[hdr.dataOff:end], data) {
		return data, nil
	}
	db.inf.src.Reset(p.data[hdr.dataOff:end])
	err := db.inf.inflateInto(&db.inf.src, data)
	if err != nil {
		return nil, fmt.Errorf("pack %s: entry at %d: %w", filepath.Base(p.packPath), hdr.off, err)
	}
	return data, nil
}

// inflater reuses one zlib reader (its window is ~40 KiB to allocate).
type inflater struct {
	src   bytes.Reader // a mapped pack entry
	zr    io.ReadCloser
	quick quickInflater // tried first on a pack entry
}

// reset points the zlib reader at src, which must be an io.ByteReader so
// that flate reads no further than the stream's end.
func (in *inflater) reset(src flate.Reader) error {
	if in.zr == nil {
		zr, err := zlib.NewReader(src)
		if err != nil {
			return fmt.Errorf("inflating: %w", err)
		}
		in.zr = zr
		return nil
	}
	if err := in.zr.(zlib.Resetter).Reset(src, nil); err != nil {
		return fmt.Errorf("inflating: %w", err)
	}
	return nil
}

// inflateInto reads exactly len(buf) bytes from the zlib stream in src into
// buf, and checks that the stream ends there with a valid checksum.
func (in *inflater) inflateInto(src flate.Reader, buf []byte) error {
	if err := in.reset(src); err != nil {
		return err
	}
	if _, err := io.ReadFull(in.zr, buf); err != nil {
		return fmt.Errorf("inflating: %w", noEOF(err))
	}
	return in.expectEnd()
}

// expectEnd checks that the zlib stream has no more data, which also makes
// the reader verify the stream's checksum.
func (in *inflater) expectEnd() error {
	var one [1]byte
	n, err := io.ReadFull(in.zr, one[:])
	if n != 0 {
		return errors.New("inflating: object longer than its declared size")
	}
	if err != io.EOF {
		return fmt.Errorf("inflating: %w", noEOF(err))
	}
	return nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// applyDelta applies a git delta to base. The delta format: source size
// and target size as little-endian base-128 varints, then instructions:
// 1xxxxxxx copies a range of base (bits 0-3 say which offset bytes follow,
// bits 4-6 which size bytes; a size of 0 means 0x10000), 0xxxxxxx (non-zero)
// inserts that many literal bytes; 0 is reserved.
func applyDelta(base, delta []byte) ([]byte, error) {
	srcSize, delta, ok := deltaVarint(delta)
	if !ok || srcSize != uint64(len(base)) {
		return nil, errors.New("delta: base size mismatch")
	}
	dstSize, delta, ok := deltaVarint(delta)
	// One instruction byte copies at most 0x10000 bytes: a larger declared
	// size is corrupt, and must not be allocated.
	if !ok || dstSize > maxObjectSize || dstSize > uint64(len(delta))*0x10000 {
		return nil, errors.New("delta: bad target size")
	}
	out := make([]byte, 0, dstSize)
	for len(delta) > 0 {
		cmd := delta[0]
		delta = delta[1:]
		switch {
		case cmd&0x80 != 0:
			var off, n uint64
			for i := uint(0); i < 4; i++ {
				if cmd&(1<<i) != 0 {
					if len(delta) == 0 {
						return nil, errors.New("delta: truncated copy")
					}
					off |= uint64(delta[0]) << (8 * i)
					delta = delta[1:]
				}
			}
			for i := uint(0); i < 3; i++ {
				if cmd&(0x10<<i) != 0 {
					if len(delta) == 0 {
						return nil, errors.New("delta: truncated copy")
					}
					n |= uint64(delta[0]) << (8 * i)
					delta = delta[1:]
				}
			}
			if n == 0 {
				n = 0x10000
			}
			if off+n > uint64(len(base)) || uint64(len(out))+n > dstSize {
				return nil, errors.New("delta: copy out of range")
			}
			out = append(out, base[off:off+n]...)
		case cmd != 0:
			n := int(cmd)
			if n > len(delta) || uint64(len(out)+n) > dstSize {
				return nil, errors.New("delta: insert out of range")
			}
			out = append(out, delta[:n]...)
			delta = delta[n:]
		default:
			return nil, errors.New("delta: reserved instruction 0")
		}
	}
	if uint64(len(out)) != dstSize {
		return nil, errors.New("delta: result size mismatch")
	}
	return out, nil
}

func deltaVarint(b []byte) (uint64, []byte, bool) {
	var v uint64
	for i, shift := 0, uint(0); i < len(b) && shift < 64; i, shift = i+1, shift+7 {
		v |= uint64(b[i]&0x7f) << shift
		if b[i]&0x80 == 0 {
			return v, b[i+1:], true
		}
	}
	return 0, nil, false
}

// objectCache keeps recently resolved pack objects (delta bases above all,
// and the trees path lookups walk again), least recently used evicted
// first, within a byte budget.
type objectCache struct {
	budget int
	used   int
	lru    *list.List // of *cacheEntry, front = most recent
	byKey  map[cacheKey]*list.Element
}

type cacheKey struct {
	p   *pack
	off int64
}

type cacheEntry struct {
	key  cacheKey
	typ  ObjectType
	data []byte
}

const (
	objectCacheBudget = 32 << 20
	objectCacheMaxObj = 4 << 20
)

func (c *objectCache) get(p *pack, off int64) (*cacheEntry, bool) {
	if c.byKey == nil {
		return nil, false
	}
	el, ok := c.byKey[cacheKey{p, off}]
	if !ok {
		return nil, false
	}
	c.lru.MoveToFront(el)
	return el.Value.(*cacheEntry), true
}

func (c *objectCache) add(p *pack, off int64, typ ObjectType, data []byte) {
	if len(data) > objectCacheMaxObj {
		return
	}
	if c.byKey == nil {
		c.byKey = map[cacheKey]*list.Element{}
		c.lru = list.New()
		if c.budget == 0 {
			c.budget = objectCacheBudget
		}
	}
	k := cacheKey{p, off}
	if _, ok := c.byKey[k]; ok {
		return
	}
	c.byKey[k] = c.lru.PushFront(&cacheEntry{key: k, typ: typ, data: data})
	c.used += len(data) + 64
	for c.used > c.budget && c.lru.Len() > 1 {
		el := c.lru.Back()
		e := el.Value.(*cacheEntry)
		c.lru.Remove(el)
		delete(c.byKey, e.key)
		c.used -= len(e.data) + 64
	}
}

// dropPack forgets the cached objects of a pack that is going away.
func (c *objectCache) dropPack(p *pack) {
	for k, el := range c.byKey {
		if k.p == p {
			c.used -= len(el.Value.(*cacheEntry).data) + 64
			c.lru.Remove(el)
			delete(c.byKey, k)
		}
	}
}
