package repo

import (
	"bytes"
	"compress/zlib"
	"crypto/sha1"
	"encoding/binary"
	"hash/crc32"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
)

// TestRefDeltaAcrossPacks reads a thin pack whose REF_DELTA bases live in
// another repository's pack (reached through alternates), the one delta case
// git itself never leaves on disk but which the format allows. git refuses
// to index a thin pack without completing it, so the test writes the .idx.
func TestRefDeltaAcrossPacks(t *testing.T) {
	t.Parallel()
	base := rdHistory(t, 12)
	rdGit(t, base, "repack", "-q", "-a", "-d", "-f")
	cmd := exec.Command("git", "pack-objects", "--thin", "--stdout", "--revs")
	cmd.Dir = base
	cmd.Env = rdEnv(base)
	cmd.Stdin = bytes.NewReader([]byte("HEAD\n^HEAD~3\n"))
	thin, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	src := rdOpen(t, base)
	idx, ids, external := rdIndexThinPack(t, src, thin)
	if external == 0 {
		t.Fatal("the thin pack has no REF_DELTA entries with a base outside it")
	}

	dir := rdInit(t)
	packDir := filepath.Join(dir, ".git", "objects", "pack")
	name := filepath.Join(packDir, "pack-"+Hash(sha1.Sum(thin[:len(thin)-20])).String())
	if err := os.WriteFile(name+".pack", thin, 0o444); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name+".idx", idx, 0o444); err != nil {
		t.Fatal(err)
	}
	rdWrite(t, dir, ".git/objects/info/alternates", filepath.Join(base, ".git", "objects")+"\n")
	r := rdOpen(t, dir)
	for _, h := range ids {
		wantType, want, err := src.readObject(h)
		if err != nil {
			t.Fatal(err)
		}
		typ, got, err := flatOnly(t, r, h)
		if err != nil || typ != wantType || !bytes.Equal(got, want) {
			t.Fatalf("%s from the thin pack: %v %d bytes, %v", h, typ, len(got), err)
		}
		db, _ := r.objects()
		if _, found, _ := db.dirs[0].packs[0].idx.find(h); !found {
			t.Fatalf("%s not served from the thin pack", h)
		}
	}
}

// rdIndexThinPack walks a pack entry by entry, resolves each object (bases
// outside the pack come from src) and writes a version 2 index for it.
func rdIndexThinPack(t *testing.T, src *Repo, pack []byte) (idx []byte, ids []Hash, external int) {
	t.Helper()
	n := int(binary.BigEndian.Uint32(pack[8:12]))
	type entry struct {
		id  Hash
		off int64
		crc uint32
	}
	var entries []entry
	var bases []Hash
	byOff := map[int64]rdObject{}
	off := int64(12)
	for i := 0; i < n; i++ {
		hdr, err := parseEntryHeader(pack[off:len(pack)-20], off)
		if err != nil {
			t.Fatal(err)
		}
		br := bytes.NewReader(pack[hdr.dataOff : len(pack)-20])
		zr, err := zlib.NewReader(br)
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		end := int64(len(pack)-20) - int64(br.Len())
		var obj rdObject
		switch hdr.typ {
		case packOfsDelta, packRefDelta:
			var b rdObject
			if hdr.typ == packOfsDelta {
				b = byOff[hdr.baseOff]
			} else {
				bases = append(bases, hdr.baseRef)
				b.typ, b.data, err = src.readObject(hdr.baseRef)
				if err != nil {
					t.Fatal(err)
				}
			}
			obj.typ = b.typ
			if obj.data, err = applyDelta(b.data, data); err != nil {
				t.Fatal(err)
			}
		default:
			obj = rdObject{ObjectType(hdr.typ), data}
		}
		byOff[off] = obj
		id := Hash(sha1.Sum(append([]byte(obj.typ.String()+" "+strconv.Itoa(len(obj.data))+"\x00"), obj.data...)))
		entries = append(entries, entry{id, off, crc32.ChecksumIEEE(pack[off:end])})
		off = end
	}
	sort.Slice(entries, func(i, j int) bool { return bytes.Compare(entries[i].id[:], entries[j].id[:]) < 0 })
	var buf bytes.Buffer
	buf.Write([]byte{0xff, 't', 'O', 'c', 0, 0, 0, 2})
	for b := 0; b < 256; b++ {
		c := sort.Search(len(entries), func(i int) bool { return int(entries[i].id[0]) > b })
		binary.Write(&buf, binary.BigEndian, uint32(c))
	}
	inPack := map[Hash]bool{}
	for _, e := range entries {
		buf.Write(e.id[:])
		ids = append(ids, e.id)
		inPack[e.id] = true
	}
	for _, b := range bases {
		if !inPack[b] {
			external++
		}
	}
	for _, e := range entries {
		binary.Write(&buf, binary.BigEndian, e.crc)
	}
	for _, e := range entries {
		binary.Write(&buf, binary.BigEndian, uint32(e.off))
	}
	buf.Write(pack[len(pack)-20:])
	sum := sha1.Sum(buf.Bytes())
	buf.Write(sum[:])
	return buf.Bytes(), ids, external
}
