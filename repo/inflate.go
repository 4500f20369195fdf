package repo

import (
	"encoding/binary"
	"hash/adler32"
	"sync"
)

// quickInflater decodes the zlib streams of git objects whose whole size is
// known in advance, as a pack entry's is: all three kinds of deflate block
// (stored, fixed Huffman codes, dynamic Huffman codes), into the caller's
// buffer, with a 64-bit bit buffer and two-level lookup tables. For the
// small objects gitseal reads most (a thousand sealed secrets, the tree
// that lists them) it costs a fraction of compress/flate, whose reset and
// set-up alone take about two microseconds a stream and which reads its
// input a byte at a time through an interface.
//
// inflate reports false, having written who knows what into dst, for
// anything it does not take as certainly valid: a damaged stream, an
// incomplete Huffman code, a size that does not match, a window over 32
// KiB, a preset dictionary. The caller then inflates with compress/flate,
// which reads (or reports) what this does not. The zero value is ready to
// use; it is not safe for concurrent use.
type quickInflater struct {
	lit, dist huffTable
}

// inflate decodes the zlib stream at the start of z into dst, which must
// come out exactly full, and checks the stream's Adler-32 (RFC 1950, RFC
// 1951).
func (q *quickInflater) inflate(z, dst []byte) bool {
	if len(z) < 2 {
		return false
	}
	cmf, flg := z[0], z[1]
	if cmf&0x0f != 8 || cmf>>4 > 7 || flg&0x20 != 0 || (uint(cmf)<<8|uint(flg))%31 != 0 {
		return false // not deflate, a window over 32 KiB, a preset dictionary, a bad check
	}
	br := bitReader{z: z, i: 2}
	out := 0
	for final := false; !final; {
		br.fill()
		if br.n < 3 {
			return false
		}
		h := br.take(3)
		final = h&1 != 0
		var ok bool
		switch h >> 1 {
		case 0: // stored: LEN and its complement on the next byte, then LEN bytes
			i := br.alignedByte()
			if len(z)-i < 4 {
				return false
			}
			n, nn := binary.LittleEndian.Uint16(z[i:]), binary.LittleEndian.Uint16(z[i+2:])
			i += 4
			if n != ^nn || len(z)-i < int(n) || len(dst)-out < int(n) {
				return false
			}
			out += copy(dst[out:], z[i:i+int(n)])
			br = bitReader{z: z, i: i + int(n)}
			continue
		case 1:
			lit, dist := fixedTables()
			out, ok = br.codes(lit, dist, dst, out)
		case 2:
			if !q.readTables(&br) {
				return false
			}
			out, ok = br.codes(&q.lit, &q.dist, dst, out)
		default: // the reserved block type
			return false
		}
		if !ok {
			return false
		}
	}
	i := br.alignedByte()
	return out == len(dst) && len(z)-i >= 4 && binary.BigEndian.Uint32(z[i:]) == adler32.Checksum(dst)
}

// bitReader reads deflate's bits, least significant bit of each byte first,
// keeping up to 64 of them in hand.
type bitReader struct {
	z    []byte
	i    int    // the next byte of z to take in
	hand uint64 // the bits taken in and not yet used, next in the low bits
	n    uint   // how many
}

// fill takes in bytes until at least 57 bits are in hand or z ends.
func (b *bitReader) fill() {
	if b.n <= 32 && len(b.z)-b.i >= 4 {
		b.hand |= uint64(binary.LittleEndian.Uint32(b.z[b.i:])) << b.n
		b.n += 32
		b.i += 4
	}
	for b.n <= 56 && b.i < len(b.z) {
		b.hand |= uint64(b.z[b.i]) << b.n
		b.n += 8
		b.i++
	}
}

// take uses k bits, which must be in hand.
func (b *bitReader) take(k uint) uint32 {
	v := uint32(b.hand & (1<<k - 1))
	b.hand >>= k
	b.n -= k
	return v
}

// alignedByte drops the bits up to the next byte boundary and returns the
// index in z of the byte there; what was taken in beyond it is given back.
func (b *bitReader) alignedByte() int {
	return b.i - int(b.n/8)
}

// huffTable decodes one canonical Huffman code: the next primaryBits bits
// index primary; a code longer than that continues in a second-level table
// in sub. An entry holds the symbol (or the second-level table's offset)
// in its high 16 bits, and the code length (or, with linkFlag, the second
// level's index width) in its low bits. A zero entry is no code.
type huffTable struct {
	primary [1 << primaryBits]uint32
	sub     []uint32
}

const (
	primaryBits = 9
	linkFlag    = 0x80
	maxCodeLen  = 15
)

// build makes the table of the code with these code lengths (0: unused).
// It reports false for a code that is over-subscribed or incomplete (but a
// code of one symbol, as deflate allows for distances, or of none), and for
// lengths over 15.
func (t *huffTable) build(lengths []uint8) bool {
	var count [maxCodeLen + 1]int
	for _, l := range lengths {
		if l > maxCodeLen {
			return false
		}
		count[l]++
	}
	count[0] = 0
	left := 1 // codes of the current length not yet used
	used := 0
	for l := 1; l <= maxCodeLen; l++ {
		left = left<<1 - count[l]
		if left < 0 {
			return false // over-subscribed
		}
		used += count[l]
	}
	if left != 0 && used > 1 {
		return false // incomplete
	}
	// Canonical codes: the first code of each length.
	var next [maxCodeLen + 1]uint32
	code := uint32(0)
	for l := 1; l <= maxCodeLen; l++ {
		code = (code + uint32(count[l-1])) << 1
		next[l] = code
	}
	t.primary = [1 << primaryBits]uint32{}
	t.sub = t.sub[:0]
	// Second-level tables: the longest code behind each primary prefix
	// sets the table's width. Codes are assigned in order, so the first
	// pass finds each prefix's longest code.
	var width [1 << primaryBits]uint8
	nx := next
	for _, l := range lengths {
		if l > primaryBits {
			rev := reverseBits(nx[l], uint(l))
			p := rev & (1<<primaryBits - 1)
			width[p] = max(width[p], l-primaryBits)
		}
		if l > 0 {
			nx[l]++
		}
	}
	for p, w := range width {
		if w > 0 {
			t.primary[p] = uint32(len(t.sub))<<16 | linkFlag | uint32(w)
			t.sub = append(t.sub, make([]uint32, 1<<w)...)
		}
	}
	for sym, l := range lengths {
		if l == 0 {
			continue
		}
		rev := reverseBits(next[l], uint(l))
		next[l]++
		entry := uint32(sym)<<16 | uint32(l)
		if l <= primaryBits {
			for k := rev; k < 1<<primaryBits; k += 1 << l {
				t.primary[k] = entry
			}
			continue
		}
		link := t.primary[rev&(1<<primaryBits-1)]
		base, w := link>>16, uint(link&0x0f)
		for k := rev >> primaryBits; k < 1<<w; k += 1 << (uint(l) - primaryBits) {
			t.sub[base+k] = entry
		}
	}
	return true
}

// decode reads one symbol; ok is false for bits that are no code or that
// run past the end of the stream.
func (b *bitReader) decode(t *huffTable) (sym uint32, ok bool) {
	e := t.primary[b.hand&(1<<primaryBits-1)]
	if e&linkFlag != 0 {
		w := e & 0x0f
		e = t.sub[e>>16+uint32(b.hand>>primaryBits)&(1<<w-1)]
	}
	l := uint(e & 0x0f)
	if l == 0 || l > b.n {
		return 0, false
	}
	b.hand >>= l
	b.n -= l
	return e >> 16, true
}

func reverseBits(v uint32, n uint) uint32 {
	var r uint32
	for i := uint(0); i < n; i++ {
		r = r<<1 | v>>i&1
	}
	return r
}

var (
	fixedOnce           sync.Once
	fixedLit, fixedDist huffTable
)

// fixedTables are the fixed codes (RFC 1951 §3.2.6): literal/length
// symbols 0-143 in 8 bits, 144-255 in 9, 256-279 in 7, 280-287 in 8;
// distances in 5 bits.
func fixedTables() (lit, dist *huffTable) {
	fixedOnce.Do(func() {
		var l [288]uint8
		for i := range l {
			switch {
			case i < 144:
				l[i] = 8
			case i < 256:
				l[i] = 9
			case i < 280:
				l[i] = 7
			default:
				l[i] = 8
			}
		}
		fixedLit.build(l[:])
		var d [32]uint8
		for i := range d {
			d[i] = 5
		}
		fixedDist.build(d[:])
	})
	return &fixedLit, &fixedDist
}

// codeLengthOrder is the order in which a dynamic block sends the lengths
// of the code-length code.
var codeLengthOrder = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

// readTables reads a dynamic block's header into q.lit and q.dist (RFC 1951
// §3.2.7).
func (q *quickInflater) readTables(b *bitReader) bool {
	b.fill()
	if b.n < 14 {
		return false
	}
	nlit := int(b.take(5)) + 257
	ndist := int(b.take(5)) + 1
	nclen := int(b.take(4)) + 4
	if nlit > 286 || ndist > 30 {
		return false
	}
	var clens [19]uint8
	for i := 0; i < nclen; i++ {
		b.fill()
		if b.n < 3 {
			return false
		}
		clens[codeLengthOrder[i]] = uint8(b.take(3))
	}
	var cl huffTable
	if !cl.build(clens[:]) {
		return false
	}
	var lengths [286 + 30]uint8
	for i := 0; i < nlit+ndist; {
		b.fill()
		sym, ok := b.decode(&cl)
		if !ok {
			return false
		}
		if sym < 16 {
			lengths[i] = uint8(sym)
			i++
			continue
		}
		var rep int
		var val uint8
		switch sym {
		case 16: // the previous length, 3-6 times
			if i == 0 || b.n < 2 {
				return false
			}
			rep, val = 3+int(b.take(2)), lengths[i-1]
		case 17: // zeros, 3-10 times
			if b.n < 3 {
				return false
			}
			rep = 3 + int(b.take(3))
		default: // 18: zeros, 11-138 times
			if b.n < 7 {
				return false
			}
			rep = 11 + int(b.take(7))
		}
		if i+rep > nlit+ndist {
			return false
		}
		for ; rep > 0; rep-- {
			lengths[i] = val
			i++
		}
	}
	if lengths[256] == 0 { // no end of block
		return false
	}
	return q.lit.build(lengths[:nlit]) && q.dist.build(lengths[nlit:nlit+ndist])
}

// Lengths and distances of deflate's back-references (RFC 1951 §3.2.5).
var (
	lengthBase  = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lengthExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase    = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra   = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
)

// codes decodes a block's literals and back-references into dst from out
// on, up to the end-of-block code, and returns where the output ends. The
// bit buffer lives in local variables here, the one loop that runs per
// byte of output.
func (b *bitReader) codes(lit, dist *huffTable, dst []byte, out int) (int, bool) {
	z, i, hand, n := b.z, b.i, b.hand, b.n
	defer func() { b.i, b.hand, b.n = i, hand, n }()
	for {
		// At least 48 bits in hand, unless z ends: a symbol and its extra
		// bits take at most that. Eight bytes are loaded at once and the
		// whole ones that fit are counted in; the bits of the one that did
		// not fit are loaded again, in the same place, next time.
		if n < 48 {
			if len(z)-i >= 8 {
				hand |= binary.LittleEndian.Uint64(z[i:]) << n
				i += int(63-n) >> 3
				n |= 56
			} else {
				for n <= 56 && i < len(z) {
					hand |= uint64(z[i]) << n
					n += 8
					i++
				}
			}
		}
		e := lit.primary[hand&(1<<primaryBits-1)]
		if e&linkFlag != 0 {
			e = lit.sub[e>>16+uint32(hand>>primaryBits)&(1<<(e&0x0f)-1)]
		}
		l := uint(e & 0x0f)
		if l == 0 || l > n {
			return out, false
		}
		hand >>= l
		n -= l
		sym := e >> 16
		if sym < 256 {
			if out == len(dst) {
				return out, false
			}
			dst[out] = byte(sym)
			out++
			continue
		}
		if sym == 256 {
			return out, true
		}
		li := sym - 257
		if li >= 29 {
			return out, false
		}
		k := uint(lengthExtra[li])
		if n < k {
			return out, false
		}
		length := int(lengthBase[li]) + int(hand&(1<<k-1))
		hand >>= k
		n -= k
		e = dist.primary[hand&(1<<primaryBits-1)]
		if e&linkFlag != 0 {
			e = dist.sub[e>>16+uint32(hand>>primaryBits)&(1<<(e&0x0f)-1)]
		}
		l = uint(e & 0x0f)
		if l == 0 || l > n {
			return out, false
		}
		hand >>= l
		n -= l
		d := e >> 16
		if d >= 30 {
			return out, false
		}
		k = uint(distExtra[d])
		if n < k {
			return out, false
		}
		distance := int(distBase[d]) + int(hand&(1<<k-1))
		hand >>= k
		n -= k
		if distance > out || length > len(dst)-out {
			return out, false
		}
		if distance >= length { // no overlap: one copy
			copy(dst[out:out+length], dst[out-distance:])
		} else {
			for k := 0; k < length; k++ { // overlaps what it copies
				dst[out+k] = dst[out-distance+k]
			}
		}
		out += length
	}
}
