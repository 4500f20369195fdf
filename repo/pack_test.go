package repo

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rdBatch returns every object git sees in dir (loose, packed, alternates)
// with its type and exact content, from `git cat-file --batch`.
func rdBatch(t testing.TB, dir string) map[Hash]rdObject {
	t.Helper()
	cmd := exec.Command("git", "cat-file", "--batch-all-objects", "--batch")
	cmd.Dir = dir
	cmd.Env = rdEnv(dir)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git cat-file --batch: %v", err)
	}
	objs := map[Hash]rdObject{}
	br := bufio.NewReader(bytes.NewReader(out))
	for {
		line, err := br.ReadString('\n')
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		f := strings.Fields(line)
		h, err := ParseHash(f[0])
		if err != nil {
			t.Fatal(err)
		}
		typ, _ := parseObjectType(f[1])
		n, _ := strconv.Atoi(f[2])
		data := make([]byte, n+1)
		if _, err := io.ReadFull(br, data); err != nil {
			t.Fatal(err)
		}
		objs[h] = rdObject{typ, data[:n]}
	}
	return objs
}

type rdObject struct {
	typ  ObjectType
	data []byte
}

// rdHistory builds a repository whose files change in small steps over many
// commits, so that git packs them as delta chains.
func rdHistory(t testing.TB, commits int) string {
	t.Helper()
	dir := rdInit(t)
	var base strings.Builder
	for i := 0; i < 200; i++ {
		fmt.Fprintf(&base, "line %d of a file that changes a little in every commit\n", i)
	}
	// One git fast-import is much faster than add+commit per commit.
	var stream strings.Builder
	for c := 0; c < commits; c++ {
		text := base.String() + strings.Repeat(fmt.Sprintf("change %d\n", c), c%7+1)
		files := [][2]string{
			{"big.txt", text},
			{".gitseal/env/secret", fmt.Sprintf("v1:%040d\n", c)},
			{fmt.Sprintf("d%d/f.txt", c%3), text[c*10:]},
		}
		msg := fmt.Sprintf("commit %d", c)
		fmt.Fprintf(&stream, "commit refs/heads/main\nmark :%d\nauthor A U Thor <author@example.com> %s\ncommitter C O Mitter <committer@example.com> %s\ndata %d\n%s\n",
			c+1, rdDate(c), rdDate(c), len(msg), msg)
		for _, f := range files {
			fmt.Fprintf(&stream, "M 100644 inline %s\ndata %d\n%s\n", f[0], len(f[1]), f[1])
		}
		if c == commits/2 {
			fmt.Fprintf(&stream, "tag v0.5\nfrom :%d\ntagger C O Mitter <committer@example.com> %s\ndata 8\nhalf way\n", c+1, rdDate(c))
		}
	}
	rdGitEnv(t, dir, nil, stream.String(), "fast-import", "--quiet")
	rdGit(t, dir, "reset", "-q", "--hard")
	return dir
}

// flatOnly and fallbackOnly read through one path of the object database.
func flatOnly(t testing.TB, r *Repo, h Hash) (ObjectType, []byte, error) {
	db, _ := r.objects()
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.flatRead(h, 0)
}

func fallbackOnly(t testing.TB, r *Repo, h Hash) (ObjectType, []byte, error) {
	db, _ := r.objects()
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.fallback().read(h)
}

// entryKinds counts the pack entry types (6 = OFS_DELTA, 7 = REF_DELTA) of
// the objects the flat reader finds in packs.
func entryKinds(t testing.TB, r *Repo, objs map[Hash]rdObject) map[int]int {
	db, _ := r.objects()
	kinds := map[int]int{}
	for h := range objs {
		for _, d := range db.dirs {
			packs, err := d.loadPacks()
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range packs {
				off, ok, err := p.idx.find(h)
				if err != nil || !ok {
					continue
				}
				if err := p.open(); err != nil {
					t.Fatal(err)
				}
				hdr, err := p.readEntryHeader(off)
				if err != nil {
					t.Fatal(err)
				}
				kinds[hdr.typ]++
			}
		}
	}
	return kinds
}

// TestConformance checks, for every object in repositories in several
// storage states, that the flat reader, the go-git fallback and git agree
// on type and bytes.
func TestConformance(t *testing.T) {
	t.Parallel()
	src := rdHistory(t, 20)
	states := []struct {
		name  string
		setup func(t *testing.T) string
		check func(t *testing.T, kinds map[int]int)
	}{
		{"loose", func(t *testing.T) string {
			d := rdCopy(t, src)
			packs, _ := filepath.Glob(filepath.Join(d, ".git", "objects", "pack", "pack-*.pack"))
			for _, p := range packs {
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				os.Remove(p)
				os.Remove(strings.TrimSuffix(p, ".pack") + ".idx")
				rdGitEnv(t, d, nil, string(b), "unpack-objects", "-q")
			}
			return d
		}, func(t *testing.T, k map[int]int) {
			if len(k) != 0 {
				t.Errorf("expected no packs, got %v", k)
			}
		}},
		{"gc", func(t *testing.T) string {
			d := rdCopy(t, src)
			rdGit(t, d, "gc", "-q")
			return d
		}, func(t *testing.T, k map[int]int) {
			if k[packOfsDelta] == 0 {
				t.Errorf("expected OFS_DELTA entries, got %v", k)
			}
		}},
		{"repack depth 50", func(t *testing.T) string {
			d := rdCopy(t, src)
			rdGit(t, d, "repack", "-q", "-a", "-d", "-f", "--depth=50", "--window=50")
			return d
		}, func(t *testing.T, k map[int]int) {
			if k[packOfsDelta] < 20 {
				t.Errorf("expected many OFS_DELTA entries, got %v", k)
			}
		}},
		{"ref delta", func(t *testing.T) string {
			d := rdCopy(t, src)
			rdGit(t, d, "-c", "repack.useDeltaBaseOffset=false", "repack", "-q", "-a", "-d", "-f", "--depth=50")
			return d
		}, func(t *testing.T, k map[int]int) {
			if k[packRefDelta] < 20 || k[packOfsDelta] != 0 {
				t.Errorf("expected REF_DELTA entries only, got %v", k)
			}
		}},
		{"thin pack fetched", func(t *testing.T) string {
			up := rdCopy(t, src)
			rdGit(t, up, "gc", "-q")
			down := filepath.Join(t.TempDir(), "down")
			rdGit(t, up, "clone", "-q", "--no-local", up, down)
			for c := 20; c < 26; c++ {
				rdCommit(t, up, c, "more", map[string]string{"big.txt": strings.Repeat(fmt.Sprintf("more %d\n", c), 200)})
			}
			// fetch.unpackLimit=1 keeps the (thin, then fixed) pack.
			rdGit(t, down, "-c", "fetch.unpackLimit=1", "-c", "transfer.unpackLimit=1", "fetch", "-q", "origin")
			return down
		}, func(t *testing.T, k map[int]int) {
			if k[packOfsDelta]+k[packRefDelta] == 0 {
				t.Errorf("expected deltas, got %v", k)
			}
		}},
		{"alternates", func(t *testing.T) string {
			up := rdCopy(t, src)
			rdGit(t, up, "gc", "-q")
			down := filepath.Join(t.TempDir(), "shared")
			rdGit(t, up, "clone", "-q", "--shared", up, down)
			rdCommit(t, down, 40, "local", map[string]string{"local.txt": "only here\n"})
			if _, err := os.Stat(filepath.Join(down, ".git", "objects", "info", "alternates")); err != nil {
				t.Fatal(err)
			}
			return down
		}, func(t *testing.T, k map[int]int) {
			if k[packOfsDelta] == 0 {
				t.Errorf("expected the alternate's deltas, got %v", k)
			}
		}},
	}
	for _, st := range states {
		t.Run(st.name, func(t *testing.T) {
			dir := st.setup(t)
			objs := rdBatch(t, dir)
			if len(objs) < 60 {
				t.Fatalf("only %d objects", len(objs))
			}
			r := rdOpen(t, dir)
			for h, want := range objs {
				typ, data, err := flatOnly(t, r, h)
				if err != nil || typ != want.typ || !bytes.Equal(data, want.data) {
					t.Fatalf("flat reader %s: %v %d bytes, %v; git says %v %d bytes", h, typ, len(data), err, want.typ, len(want.data))
				}
				typ, data, err = fallbackOnly(t, r, h)
				if err != nil || typ != want.typ || !bytes.Equal(data, want.data) {
					t.Fatalf("go-git %s: %v %d bytes, %v; git says %v %d bytes", h, typ, len(data), err, want.typ, len(want.data))
				}
			}
			k := entryKinds(t, r, objs)
			t.Logf("%d objects, entry kinds %v", len(objs), k)
			st.check(t, k)
		})
	}
}

// rdCopy copies a repository directory tree.
func rdCopy(t testing.TB, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "copy")
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	return dst
}

func TestReadSeesNewPack(t *testing.T) {
	dir := rdHistory(t, 3)
	rdGit(t, dir, "gc", "-q")
	r := rdOpen(t, dir)
	head := mustResolve(t, r, "HEAD") // maps the packs
	next := rdCommit(t, dir, 10, "after open", map[string]string{"new.txt": "new\n"})
	rdGit(t, dir, "repack", "-q", "-a", "-d")
	h, _ := ParseHash(next)
	c, err := r.ReadCommit(h)
	if err != nil || c.Parents[0] != head {
		t.Fatalf("ReadCommit after repack = %+v, %v", c, err)
	}
	if _, _, err := r.FileAt(h, "new.txt"); err != nil {
		t.Fatal(err)
	}
}

func TestCorruptLooseObject(t *testing.T) {
	dir := rdInit(t)
	rdCommit(t, dir, 1, "one", map[string]string{"a": "alpha\n"})
	blob := rdGit(t, dir, "rev-parse", "HEAD:a")
	p := filepath.Join(dir, ".git", "objects", blob[:2], blob[2:])
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(p, 0o644)
	b[len(b)-1] ^= 0xff // break the adler32 checksum
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	r := rdOpen(t, dir)
	h, _ := ParseHash(blob)
	if _, err := r.ReadBlob(h); err == nil || errors.Is(err, ErrObjectNotFound) {
		t.Fatalf("corrupt object read: %v", err)
	}
}

func TestIndexV1(t *testing.T) {
	t.Parallel()
	dir := rdHistory(t, 6)
	rdGit(t, dir, "repack", "-q", "-a", "-d", "-f")
	packs, _ := filepath.Glob(filepath.Join(dir, ".git", "objects", "pack", "*.pack"))
	idx := strings.TrimSuffix(packs[0], ".pack") + ".idx"
	os.Remove(idx)
	rdGit(t, dir, "index-pack", "--index-version=1", "-o", idx, packs[0])
	r := rdOpen(t, dir)
	objs := rdBatch(t, dir)
	for h, want := range objs {
		typ, data, err := flatOnly(t, r, h)
		if err != nil || typ != want.typ || !bytes.Equal(data, want.data) {
			t.Fatalf("flat reader with a v1 index, %s: %v", h, err)
		}
	}
	ix := r.db.dirs[0].packs[0].idx
	if ix.version != 1 || ix.n != len(objs) {
		t.Errorf("index version %d with %d objects", ix.version, ix.n)
	}
	if got := ix.withPrefix(rdGit(t, dir, "rev-parse", "HEAD")[:6], nil); len(got) != 1 {
		t.Errorf("withPrefix on v1 = %v", got)
	}
}

func TestPartialCloneMissingObject(t *testing.T) {
	up := rdHistory(t, 2)
	rdGit(t, up, "config", "uploadpack.allowFilter", "true")
	down := filepath.Join(t.TempDir(), "partial")
	rdGit(t, up, "clone", "-q", "--no-checkout", "--filter=blob:none", "file://"+up, down)
	r := rdOpen(t, down)
	head := mustResolve(t, r, "HEAD")
	_, _, err := r.FileAt(head, "big.txt")
	if !errors.Is(err, ErrObjectNotFound) || !strings.Contains(err.Error(), "partial clone") {
		t.Errorf("missing blob in partial clone: %v", err)
	}
	if _, err := r.DirAt(head, ""); err != nil {
		t.Errorf("trees of a blobless clone are present: %v", err)
	}
}

func TestConcurrentReads(t *testing.T) {
	t.Parallel()
	dir := rdHistory(t, 12)
	rdGit(t, dir, "repack", "-q", "-a", "-d", "-f", "--depth=50")
	r := rdOpen(t, dir)
	want := map[string]string{}
	for i := 0; i < 12; i++ {
		rev := "HEAD~" + strconv.Itoa(i)
		want[rev] = rdGit(t, dir, "show", rev+":big.txt") + "\n"
	}
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func() {
			for rev, w := range want {
				h, err := r.ResolveCommit(rev)
				if err != nil {
					errs <- err
					return
				}
				data, _, err := r.FileAt(h, "big.txt")
				if err != nil || string(data) != w {
					errs <- fmt.Errorf("%s: %v", rev, err)
					return
				}
			}
			errs <- nil
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// Packs are searched newest first, as git does: the objects a command just
// wrote are found without a miss in an old, large index.
func TestPacksSearchedNewestFirst(t *testing.T) {
	dir := wrInit(t)
	wrWrite(t, dir, "a.txt", "one\n")
	wrGit(t, dir, "add", "a.txt")
	wrGit(t, dir, "commit", "-q", "-m", "one")
	wrGit(t, dir, "repack", "-q", "-d")
	old, _ := filepath.Glob(filepath.Join(dir, ".git", "objects", "pack", "pack-*.pack"))
	if len(old) != 1 {
		t.Fatalf("%d packs after the first repack", len(old))
	}
	past := time.Now().Add(-time.Hour)
	if err := os.Chtimes(old[0], past, past); err != nil {
		t.Fatal(err)
	}
	wrWrite(t, dir, "b.txt", "two\n")
	wrGit(t, dir, "add", "b.txt")
	wrGit(t, dir, "commit", "-q", "-m", "two")
	wrGit(t, dir, "repack", "-q", "-d")
	r := wrOpen(t, dir)
	db, err := r.objects()
	if err != nil {
		t.Fatal(err)
	}
	packs, err := db.dirs[0].loadPacks()
	if err != nil {
		t.Fatal(err)
	}
	if len(packs) != 2 {
		t.Fatalf("%d packs, want 2", len(packs))
	}
	if packs[0].packPath == old[0] || !packs[0].mtime.After(packs[1].mtime) {
		t.Fatalf("packs in order %s (%v), %s (%v): the newest is not first", packs[0].packPath, packs[0].mtime, packs[1].packPath, packs[1].mtime)
	}
}

// TestIndexSearch: the interpolating search finds what binary search
// finds, for ids spread as real ones are and for ids made to mislead it
// (clustered, skewed), present and absent, at every edge.
func TestIndexSearch(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(b []byte) {
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
	}
	shapes := map[string]func(i int, h *Hash){
		"uniform": func(i int, h *Hash) { random(h[1:]) },
		"clustered": func(i int, h *Hash) { // equal up to the last bytes
			random(h[15:])
		},
		"skewed": func(i int, h *Hash) { // most ids in a sliver of the range
			random(h[1:])
			if i%10 != 0 {
				h[1], h[2] = 0xff, 0xff
			}
		},
	}
	for name, shape := range shapes {
		for _, n := range []int{0, 1, 5, 17, 100, 3000} {
			ids := make([]Hash, n)
			for i := range ids {
				ids[i][0] = 0x42
				shape(i, &ids[i])
			}
			slices.SortFunc(ids, func(a, b Hash) int { return bytes.Compare(a[:], b[:]) })
			ids = slices.Compact(ids)
			ix := &packIndex{stride: 20}
			for _, h := range ids {
				ix.data = append(ix.data, h[:]...)
			}
			want := func(h Hash) int {
				return sort.Search(len(ids), func(i int) bool { return bytes.Compare(ids[i][:], h[:]) >= 0 })
			}
			check := func(h Hash) {
				t.Helper()
				if got, w := ix.search(0, len(ids), h), want(h); got != w {
					t.Fatalf("%s, %d ids: search(%x) = %d, want %d", name, len(ids), h, got, w)
				}
			}
			var probes []Hash
			for _, h := range ids {
				probes = append(probes, h)
				lower, higher := h, h
				lower[19]--
				higher[19]++
				probes = append(probes, lower, higher)
			}
			for i := 0; i < 500; i++ {
				var h Hash
				h[0] = 0x42
				shape(i, &h)
				probes = append(probes, h)
			}
			lowest, highest := Hash{0x42}, Hash{0x42}
			for i := 1; i < 20; i++ {
				highest[i] = 0xff
			}
			probes = append(probes, lowest, highest)
			for _, h := range probes {
				check(h)
			}
		}
	}
}

// TestQuickInflateEntries: gitseal's pack writer stores a short
// incompressible blob (a sealed secret) as stored deflate blocks, git keeps
// them when it repacks, and git's zlib compresses them with the fixed codes
// when it packs them again (-F); longer ones get dynamic codes either way.
// quickInflater reads all three, and EachBlob and ReadBlob give what git
// gives. A damaged entry is not taken: compress/flate reads it and reports
// the damage.
func TestQuickInflateEntries(t *testing.T) {
	dir := wrInitWithFiles(t, map[string]string{"README": "hello\n"})
	objectsDir := filepath.Join(dir, ".git", "objects")
	var objs []packObject
	var want []string
	for i := 0; i < 80; i++ {
		var raw []byte // no repeats for deflate to find
		for j := 0; len(raw) < 40+2*i; j++ {
			sum := sha256.Sum256([]byte(fmt.Sprint(i, j)))
			raw = append(raw, sum[:]...)
		}
		data := []byte("gitseal:v1:" + base64.StdEncoding.EncodeToString(raw[:40+2*i]) + "\n")
		objs = append(objs, packObject{id: hashObject(BlobObject, data), t: BlobObject, data: data})
		want = append(want, string(data))
	}
	if err := writePack(objectsDir, objs, false, nil); err != nil {
		t.Fatal(err)
	}
	ids := make([]Hash, len(objs))
	var index strings.Builder // commit them, so that git repack keeps them
	for i, o := range objs {
		ids[i] = o.id
		fmt.Fprintf(&index, "100644 %s\tsecrets/S%02d\n", o.id, i)
	}
	wrGitIn(t, dir, index.String(), "update-index", "--index-info")
	wrGit(t, dir, "commit", "-q", "-m", "secrets")

	// readAll reads every blob both ways and compares with what git says.
	readAll := func(r *Repo) {
		t.Helper()
		got, err := collectBlobs(t, ids, func(fn func(int, []byte) error) error { return r.EachBlob(ids, fn) })
		if err != nil {
			t.Fatal(err)
		}
		for i, h := range ids {
			if string(got[i]) != want[i] {
				t.Fatalf("EachBlob %s = %q, want %q", h.short(), got[i], want[i])
			}
			if b, err := r.ReadBlob(h); err != nil || string(b) != want[i] {
				t.Fatalf("ReadBlob %s = %q, %v; want %q", h.short(), b, err, want[i])
			}
		}
	}
	// kinds counts the blobs whose entries start with a block of each type.
	var q quickInflater
	kinds := func(r *Repo) map[byte]int {
		t.Helper()
		db, err := r.objects()
		if err != nil {
			t.Fatal(err)
		}
		n := map[byte]int{}
		for i, h := range ids {
			e, ok, err := db.findWhole(h, nil)
			if err != nil || !ok {
				t.Fatalf("%s is not a whole pack entry: %v", h.short(), err)
			}
			z := e.p.data[e.hdr.dataOff : len(e.p.data)-20]
			btype := z[2] >> 1 & 3
			n[btype]++
			if out := make([]byte, e.hdr.size); !q.inflate(z, out) || string(out) != want[i] {
				t.Fatalf("blob %d, block type %d: quickInflater = %q, want %q", i, btype, out, want[i])
			}
		}
		return n
	}
	r := wrOpen(t, dir)
	if n := kinds(r); n[0] == 0 || n[2] == 0 {
		t.Fatalf("block types in gitseal's pack: %v; the test needs stored (0) and dynamic (2)", n)
	}
	readAll(r)
	r.Close()
	wrGit(t, dir, "repack", "-a", "-d", "-q", "--window=0") // git reuses the entries
	r = wrOpen(t, dir)
	if n := kinds(r); n[0] == 0 {
		t.Fatalf("block types after git repack: %v; git should have kept the stored ones", n)
	}
	readAll(r)
	r.Close()
	wrGit(t, dir, "repack", "-a", "-d", "-F", "-q", "--window=0") // git compresses again
	r = wrOpen(t, dir)
	if n := kinds(r); n[1] == 0 {
		t.Fatalf("block types after git repack -F: %v; the test needs git's fixed codes (1)", n)
	}
	readAll(r)
	r.Close()

	// Damage one stored entry's data in a pack gitseal wrote: quickInflate
	// refuses it (checksum), and both readers report it instead of
	// returning it.
	dir = wrInitWithFiles(t, map[string]string{"README": "hello\n"})
	if err := writePack(filepath.Join(dir, ".git", "objects"), objs, false, nil); err != nil {
		t.Fatal(err)
	}
	r = wrOpen(t, dir)
	db, _ := r.objects()
	e, _, _ := db.findWhole(ids[0], nil)
	z := bytes.Clone(e.p.data[e.hdr.dataOff : len(e.p.data)-20])
	if z[2]>>1&3 != 0 {
		t.Fatal("gitseal's pack writer did not store the first blob")
	}
	z[10] ^= 0x01 // inside the data of the first block
	if q.inflate(z, make([]byte, e.hdr.size)) {
		t.Fatal("quickInflater accepted a stream whose Adler-32 does not match")
	}
	packPath := e.p.packPath
	r.Close()
	b, err := os.ReadFile(packPath)
	if err != nil {
		t.Fatal(err)
	}
	b[e.hdr.dataOff+10] ^= 0x01
	os.Chmod(packPath, 0o644)
	if err := os.WriteFile(packPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	r = wrOpen(t, dir)
	if err := r.EachBlob(ids[:1], func(int, []byte) error { return nil }); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("EachBlob of a damaged stored entry = %v, want a checksum error", err)
	}
	if _, err := r.ReadBlob(ids[0]); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("ReadBlob of a damaged stored entry = %v, want a checksum error", err)
	}
}
