package repo

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// benchRepo is built once per benchmark binary run: GITSEAL_BENCH_REPO names
// an existing repository instead (for example a reference repository from
// bench/mkrepos.sh), with GITSEAL_BENCH_PATH the file to read there.
var benchRepo struct {
	once sync.Once
	dir  string
	path string
	err  error
}

const (
	benchDirs    = 100
	benchPerDir  = 20
	benchCommits = 3000
)

func buildBenchRepo(dir string) error { return buildBenchRepoSized(dir, benchCommits) }

// benchFixture writes a history with git fast-import: benchDirs*benchPerDir
// text files, then benchCommits commits each changing 1-3 files, then
// repacks as PERF.md's reference repositories are.
func benchFixture(b *testing.B) (string, string) {
	benchRepo.once.Do(func() {
		if dir := os.Getenv("GITSEAL_BENCH_REPO"); dir != "" {
			benchRepo.dir, benchRepo.path = dir, os.Getenv("GITSEAL_BENCH_PATH")
			return
		}
		dir, err := os.MkdirTemp("", "gitseal-repo-bench-")
		if err != nil {
			benchRepo.err = err
			return
		}
		benchRepo.dir = dir
		benchRepo.path = "src/d007/f03.txt"
		benchRepo.err = buildBenchRepo(dir)
	})
	if benchRepo.err != nil {
		b.Fatal(benchRepo.err)
	}
	return benchRepo.dir, benchRepo.path
}

func buildBenchRepoSized(dir string, commits int) error {
	run := func(stdin func(w *bufio.Writer), args ...string) error {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = rdEnv(dir)
		var pipeErr error
		if stdin != nil {
			in, err := cmd.StdinPipe()
			if err != nil {
				return err
			}
			go func() {
				w := bufio.NewWriter(in)
				stdin(w)
				pipeErr = w.Flush()
				in.Close()
			}()
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("git %v: %v\n%s", args, err, out)
		}
		return pipeErr
	}
	if err := run(nil, "init", "-q", "-b", "main"); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	content := make([][]string, benchDirs*benchPerDir)
	for i := range content {
		n := 5 + rng.IntN(15)
		for j := 0; j < n; j++ {
			content[i] = append(content[i], fmt.Sprintf("file %d line %d %x", i, j, rng.Uint64()))
		}
	}
	name := func(i int) string { return fmt.Sprintf("src/d%03d/f%02d.txt", i/benchPerDir, i%benchPerDir) }
	stream := func(w *bufio.Writer) {
		for c := 0; c <= commits; c++ {
			fmt.Fprintf(w, "commit refs/heads/main\ncommitter B <b@example.com> %d +0000\ndata 8\ncommit %d\n", 1600000000+600*c, c%10)
			var changed []int
			if c == 0 {
				for i := range content {
					changed = append(changed, i)
				}
			} else {
				for k := 0; k < 1+rng.IntN(3); k++ {
					i := rng.IntN(len(content))
					if c%5 == 0 {
						i = 7*benchPerDir + 3 // the benchmark's file changes often
					}
					content[i][rng.IntN(len(content[i]))] = fmt.Sprintf("changed in %d %x", c, rng.Uint64())
					changed = append(changed, i)
				}
			}
			for _, i := range changed {
				text := strings.Join(content[i], "\n") + "\n"
				fmt.Fprintf(w, "M 100644 inline %s\ndata %d\n%s\n", name(i), len(text), text)
			}
		}
	}
	if err := run(stream, "fast-import", "--quiet"); err != nil {
		return err
	}
	return run(nil, "repack", "-q", "-a", "-d", "-f", "--depth=50", "--window=10")
}

// readOnce is what `gitseal get` does in-process: open, resolve HEAD, read
// one file, close.
func readOnce(b *testing.B, dir, path string, viaGoGit bool) {
	r, err := Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	h, err := r.ResolveCommit("HEAD")
	if err != nil {
		b.Fatal(err)
	}
	if viaGoGit {
		if _, err := goGitFileAt(r, h, path); err != nil {
			b.Fatal(err)
		}
		return
	}
	if _, _, err := r.FileAt(h, path); err != nil {
		b.Fatal(err)
	}
}

// goGitFileAt is FileAt with every object read through go-git's storage.
func goGitFileAt(r *Repo, commit Hash, path string) ([]byte, error) {
	db, err := r.objects()
	if err != nil {
		return nil, err
	}
	fb := db.fallback()
	_, data, err := fb.read(commit)
	if err != nil {
		return nil, err
	}
	c, err := parseCommit(data)
	if err != nil {
		return nil, err
	}
	h := c.Tree
	for _, name := range strings.Split(path, "/") {
		_, data, err := fb.read(h)
		if err != nil {
			return nil, err
		}
		e, ok, err := treeLookup(data, name)
		if err != nil || !ok {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		h = e.Hash
	}
	_, data, err = fb.read(h)
	return data, err
}

// BenchmarkFileAt reads one file at HEAD from a freshly opened repository,
// through the flat reader and through go-git's storage alternately in one
// run, and reports both and their ratio.
func BenchmarkFileAt(b *testing.B) {
	dir, path := benchFixture(b)
	readOnce(b, dir, path, false) // warm the page cache
	readOnce(b, dir, path, true)
	b.ResetTimer()
	var flat, gogit time.Duration
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		readOnce(b, dir, path, false)
		t1 := time.Now()
		readOnce(b, dir, path, true)
		gogit += time.Since(t1)
		flat += t1.Sub(t0)
	}
	b.ReportMetric(float64(flat.Microseconds())/float64(b.N), "flat-µs/op")
	b.ReportMetric(float64(gogit.Microseconds())/float64(b.N), "gogit-µs/op")
	b.ReportMetric(float64(gogit)/float64(flat), "gogit/flat")
}

// BenchmarkFileAtFlat is the flat reader alone, for allocation figures.
func BenchmarkFileAtFlat(b *testing.B) {
	dir, path := benchFixture(b)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		readOnce(b, dir, path, false)
	}
}

// TestBenchFixture keeps the benchmark's generator working: a few commits,
// and the flat reader agrees with git on the benchmark's file.
func TestBenchFixture(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a repository")
	}
	dir := t.TempDir()
	if err := buildBenchRepoSized(dir, 20); err != nil {
		t.Fatal(err)
	}
	r := rdOpen(t, dir)
	data, _, err := r.FileAt(mustResolve(t, r, "HEAD"), "src/d007/f03.txt")
	if err != nil || string(data) != rdGit(t, dir, "show", "HEAD:src/d007/f03.txt")+"\n" {
		t.Fatalf("FileAt = %q, %v", data, err)
	}
	if n := rdGit(t, dir, "rev-list", "--count", "HEAD"); n != "21" {
		t.Errorf("%s commits", n)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".git", "objects", "pack", "*.pack")); len(m) != 1 {
		t.Errorf("packs: %v", m)
	}
}

// BenchmarkPathLog lists the history of the benchmark's file over the whole
// history, as `gitseal history` does.
func BenchmarkPathLog(b *testing.B) {
	dir, path := benchFixture(b)
	r, err := Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	head, err := r.ResolveCommit("HEAD")
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := 0
		if err := r.PathLog(head, path, func(*Commit, Hash) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			b.Fatal("no history")
		}
	}
}

// BenchmarkIndexFind looks up 1,000 ids spread over the benchmark
// repository's largest pack index, as reading every secret does: the
// interpolating search against plain binary search in the same run.
//
//	GITSEAL_BENCH_REPO=/tmp/gitseal-bench/repos/large go test ./repo -run '^$' -bench IndexFind
func BenchmarkIndexFind(b *testing.B) {
	dir, _ := benchFixture(b)
	packs, _ := filepath.Glob(filepath.Join(dir, ".git", "objects", "pack", "*.idx"))
	var ix *packIndex
	for _, p := range packs {
		x, err := openPackIndex(p)
		if err != nil {
			b.Fatal(err)
		}
		if ix == nil || x.n > ix.n {
			ix = x
		}
	}
	if ix == nil {
		b.Fatal("no pack index")
	}
	// A thousand ids in random order, as a tree lists its blobs: in index
	// order each lookup would find the last one's pages still cached.
	rng := rand.New(rand.NewPCG(7, 7))
	var ids []Hash
	for range 1000 {
		ids = append(ids, Hash(ix.name(rng.IntN(ix.n))))
	}
	binary := func(h Hash) int {
		lo, hi := ix.fanout(h[0])
		return lo + sort.Search(hi-lo, func(i int) bool { return bytes.Compare(ix.name(lo+i), h[:]) >= 0 })
	}
	interp := func(h Hash) int { lo, hi := ix.fanout(h[0]); return ix.search(lo, hi, h) }
	for _, bc := range []struct {
		name string
		fn   func(Hash) int
	}{{"interpolation", interp}, {"binary", binary}} {
		b.Run(fmt.Sprintf("%s/%dk-objects", bc.name, ix.n/1000), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				for _, h := range ids {
					if j := bc.fn(h); !bytes.Equal(ix.name(j), h[:]) {
						b.Fatalf("%x not found", h)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ids)), "ns/lookup")
		})
	}
}
