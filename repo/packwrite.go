package repo

// packwrite.go writes a batch of objects as one packfile with its index,
// instead of one loose file each. On the file systems this runs on,
// creating a file costs up to a millisecond, so a re-key of 1000 secrets
// (1000 blobs) spent most of its time creating loose objects; one pack is
// two files whatever the batch size. git does the same for large batches
// (fetch, `git add` with core.bigFileThreshold, bulk-checkin).
//
// Layout (gitformat-pack(5)): a version 2 pack with no deltas, every entry
// a whole object: a size/type header and the zlib stream of the object's
// bytes; the trailer is the SHA-1 of everything before it. The index is
// version 2: fan-out, sorted names, CRC-32 of each packed entry, 31-bit
// offsets (with the 64-bit table when a pack passes 2 GiB), the pack's
// checksum, and the index's own SHA-1. The pack is renamed into place
// before its index, so a reader that finds the index finds the pack.

import (
	"bytes"
	"compress/zlib"
	"crypto/rand"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sort"
	"strconv"
)

// packThreshold is the batch size from which objects go into a pack.
const packThreshold = 32

type packObject struct {
	id   Hash
	t    ObjectType
	data []byte
}

// writePack writes objs as one pack and index in objectsDir/pack. Temporary
// files are registered with j (when not nil) before they are created, so a
// killed process leaves nothing a later recovery does not remove.
func writePack(objectsDir string, objs []packObject, sync bool, j *journal) error {
	packDir := filepath.Join(objectsDir, "pack")
	if err := os.MkdirAll(packDir, 0o755); err != nil {
		return fmt.Errorf("writing pack: %w", err)
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	tmpPack := filepath.Join(packDir, "tmp_pack_gitseal_"+hex.EncodeToString(rnd[:]))
	tmpIdx := filepath.Join(packDir, "tmp_idx_gitseal_"+hex.EncodeToString(rnd[:]))
	if j != nil {
		if err := j.add("tmp " + strconv.Quote(tmpPack) + "\ntmp " + strconv.Quote(tmpIdx)); err != nil {
			return err
		}
	}
	pack, idx, sum, err := encodePack(objs)
	if err != nil {
		return err
	}
	name := "pack-" + hex.EncodeToString(sum[:])
	finalPack := filepath.Join(packDir, name+".pack")
	finalIdx := filepath.Join(packDir, name+".idx")
	if _, err := os.Stat(finalIdx); err == nil {
		return nil // the very same pack is already there
	}
	if err := writeFileSync(tmpPack, pack, sync); err != nil {
		return err
	}
	if err := writeFileSync(tmpIdx, idx, sync); err != nil {
		os.Remove(tmpPack)
		return err
	}
	if err := os.Rename(tmpPack, finalPack); err != nil {
		os.Remove(tmpPack)
		os.Remove(tmpIdx)
		return fmt.Errorf("writing pack: %w", err)
	}
	if err := os.Rename(tmpIdx, finalIdx); err != nil {
		os.Remove(tmpIdx)
		return fmt.Errorf("writing pack: %w", err)
	}
	return nil
}

func writeFileSync(path string, data []byte, sync bool) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		return fmt.Errorf("writing pack: %w", err)
	}
	_, err = f.Write(data)
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("writing pack: %w", err)
	}
	return nil
}

// encodePack returns the pack, its index and the pack's checksum.
func encodePack(objs []packObject) (pack, idx []byte, sum Hash, err error) {
	type entry struct {
		id     Hash
		offset uint64
		crc    uint32
	}
	var buf bytes.Buffer
	buf.WriteString("PACK")
	binary.Write(&buf, binary.BigEndian, uint32(2))
	binary.Write(&buf, binary.BigEndian, uint32(len(objs)))
	entries := make([]entry, 0, len(objs))
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestSpeed)
	for _, o := range objs {
		start := buf.Len()
		// Header: type in bits 4-6 of the first byte, size in 4 bits
		// there and 7 bits in each following byte, least significant first.
		size := uint64(len(o.data))
		c := byte(o.t)<<4 | byte(size&0x0f)
		size >>= 4
		for size != 0 {
			buf.WriteByte(c | 0x80)
			c = byte(size & 0x7f)
			size >>= 7
		}
		buf.WriteByte(c)
		z.Reset()
		zw.Reset(&z)
		zw.Write(o.data)
		if err := zw.Close(); err != nil {
			return nil, nil, ZeroHash, fmt.Errorf("writing pack: %w", err)
		}
		buf.Write(z.Bytes())
		entries = append(entries, entry{id: o.id, offset: uint64(start), crc: crc32.ChecksumIEEE(buf.Bytes()[start:])})
	}
	sum = sha1.Sum(buf.Bytes())
	buf.Write(sum[:])
	pack = buf.Bytes()

	sort.Slice(entries, func(i, k int) bool { return bytes.Compare(entries[i].id[:], entries[k].id[:]) < 0 })
	var ib bytes.Buffer
	ib.Write([]byte{0xff, 't', 'O', 'c'})
	binary.Write(&ib, binary.BigEndian, uint32(2))
	var fan [256]uint32
	for _, e := range entries {
		fan[e.id[0]]++
	}
	total := uint32(0)
	for i := range fan {
		total += fan[i]
		fan[i] = total
	}
	binary.Write(&ib, binary.BigEndian, fan[:])
	for _, e := range entries {
		ib.Write(e.id[:])
	}
	for _, e := range entries {
		binary.Write(&ib, binary.BigEndian, e.crc)
	}
	var large []uint64
	for _, e := range entries {
		if e.offset < 1<<31 {
			binary.Write(&ib, binary.BigEndian, uint32(e.offset))
			continue
		}
		binary.Write(&ib, binary.BigEndian, uint32(1<<31|len(large)))
		large = append(large, e.offset)
	}
	for _, off := range large {
		binary.Write(&ib, binary.BigEndian, off)
	}
	ib.Write(sum[:])
	isum := sha1.Sum(ib.Bytes())
	ib.Write(isum[:])
	return pack, ib.Bytes(), sum, nil
}
