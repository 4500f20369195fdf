package repo

import (
	"encoding/binary"
	"hash/adler32"
	"sync"
)

// quickInflate is a small inflater for the zlib streams of small objects,
// the kind a thousand sealed secrets are: deflate blocks that are stored
// (what gitseal's writer makes of short incompressible data) or compressed
// with the fixed Huffman codes (what git's zlib makes of it when it packs
// loose objects). compress/flate costs about two microseconds of reset and
// set-up for each such stream, more than decoding it; this costs a few
// hundred nanoseconds.
//
// It decodes the stream at the start of z into dst, which must come out
// exactly full, and checks the stream's Adler-32 (RFC 1950, RFC 1951). It
// reports false, having written who knows what into dst, for anything else:
// a block with dynamic Huffman codes, a stream that is damaged, a size that
// does not match. The caller then inflates with compress/flate, which reads
// (or reports) what this does not.
func quickInflate(z, dst []byte) bool {
	if len(z) < 2 {
		return false
	}
	cmf, flg := z[0], z[1]
	if cmf&0x0f != 8 || cmf>>4 > 7 || flg&0x20 != 0 || (uint(cmf)<<8|uint(flg))%31 != 0 {
		return false // not deflate, a window over 32 KiB, a preset dictionary, a bad check
	}
	br := bitReader{z: z, pos: 16}
	out := 0
	for final := false; !final; {
		h, ok := br.bits(3)
		if !ok {
			return false
		}
		final = h&1 != 0
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
			br.pos = uint(i+int(n)) * 8
		case 1: // fixed Huffman codes
			var ok bool
			if out, ok = br.fixedBlock(dst, out); !ok {
				return false
			}
		default: // dynamic Huffman codes, or the reserved type
			return false
		}
	}
	i := br.alignedByte()
	return out == len(dst) && len(z)-i >= 4 && binary.BigEndian.Uint32(z[i:]) == adler32.Checksum(dst)
}

// bitReader reads deflate's bits: least significant bit of each byte first.
type bitReader struct {
	z   []byte
	pos uint // in bits
}

// bits reads n (at most 25) bits.
func (b *bitReader) bits(n uint) (uint32, bool) {
	v, ok := b.peek(n)
	b.pos += n
	return v, ok
}

// peek returns the next n (at most 25) bits without reading them; ok is
// false when fewer than n are left.
func (b *bitReader) peek(n uint) (uint32, bool) {
	i := b.pos >> 3
	if b.pos+n > uint(len(b.z))*8 {
		return 0, false
	}
	var w uint32
	if i+4 <= uint(len(b.z)) {
		w = binary.LittleEndian.Uint32(b.z[i:])
	} else {
		for k := uint(0); i+k < uint(len(b.z)); k++ {
			w |= uint32(b.z[i+k]) << (8 * k)
		}
	}
	return (w >> (b.pos & 7)) & (1<<n - 1), true
}

// alignedByte skips to the next byte boundary and returns that byte's index.
func (b *bitReader) alignedByte() int {
	b.pos = (b.pos + 7) &^ 7
	return int(b.pos >> 3)
}

// Lengths and distances of deflate's back-references (RFC 1951 §3.2.5).
var (
	lengthBase  = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lengthExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase    = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra   = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
)

// fixedCode is a symbol of the fixed literal/length code and its length in
// bits, found by the next 9 bits of the stream.
type fixedCode struct {
	sym uint16
	len uint8
}

var (
	fixedOnce  sync.Once
	fixedTable [512]fixedCode
)

// fixedLitLen builds the table of the fixed literal/length code (RFC 1951
// §3.2.6): 0-143 in 8 bits from 0x30, 144-255 in 9 bits from 0x190,
// 256-279 in 7 bits from 0, 280-287 in 8 bits from 0xc0. Codes are sent
// most significant bit first, so the table is indexed by them reversed.
func fixedLitLen() *[512]fixedCode {
	fixedOnce.Do(func() {
		add := func(first, last, code int, n uint8) {
			for sym := first; sym <= last; sym, code = sym+1, code+1 {
				rev := reverseBits(uint32(code), uint(n))
				for hi := uint32(0); hi < 1<<(9-n); hi++ {
					fixedTable[rev|hi<<n] = fixedCode{sym: uint16(sym), len: n}
				}
			}
		}
		add(0, 143, 0x30, 8)
		add(144, 255, 0x190, 9)
		add(256, 279, 0, 7)
		add(280, 287, 0xc0, 8)
	})
	return &fixedTable
}

func reverseBits(v uint32, n uint) uint32 {
	var r uint32
	for i := uint(0); i < n; i++ {
		r = r<<1 | v>>i&1
	}
	return r
}

// fixedBlock decodes a block of fixed Huffman codes into dst from out on,
// and returns where the output ends. It keeps up to 64 bits of the stream
// in hand, so that a code costs a table lookup and a shift.
func (b *bitReader) fixedBlock(dst []byte, out int) (int, bool) {
	table := fixedLitLen()
	z := b.z
	i := int(b.pos >> 3) // next byte to take in
	hand, n := uint64(0), uint(0)
	if skip := b.pos & 7; skip != 0 {
		hand, n, i = uint64(z[i])>>skip, 8-skip, i+1
	}
	fill := func() {
		if n <= 32 && len(z)-i >= 4 {
			hand |= uint64(binary.LittleEndian.Uint32(z[i:])) << n
			n, i = n+32, i+4
		}
		for n <= 56 && i < len(z) {
			hand |= uint64(z[i]) << n
			n, i = n+8, i+1
		}
	}
	take := func(k uint) uint32 {
		v := uint32(hand & (1<<k - 1))
		hand, n = hand>>k, n-k
		return v
	}
	for {
		fill()
		// At the very end of z fewer than 9 bits may be left: the missing
		// ones read as zeros, and the code's own length must still fit.
		c := table[hand&511]
		if uint(c.len) > n {
			return out, false
		}
		take(uint(c.len))
		switch {
		case c.sym < 256:
			if out == len(dst) {
				return out, false
			}
			dst[out] = byte(c.sym)
			out++
			continue
		case c.sym == 256: // end of block
			b.pos = uint(i)*8 - n
			return out, true
		case c.sym > 285:
			return out, false
		}
		li := c.sym - 257
		dcode := reverseBits(uint32(hand>>lengthExtra[li])&31, 5)
		if need := uint(lengthExtra[li]) + 5; need > n {
			return out, false
		} else if dcode >= 30 || need+uint(distExtra[dcode]) > n {
			return out, false
		}
		length := int(lengthBase[li]) + int(take(uint(lengthExtra[li])))
		take(5)
		dist := int(distBase[dcode]) + int(take(uint(distExtra[dcode])))
		if dist > out || length > len(dst)-out {
			return out, false
		}
		for k := 0; k < length; k++ { // may overlap what it copies
			dst[out+k] = dst[out-dist+k]
		}
		out += length
	}
}
