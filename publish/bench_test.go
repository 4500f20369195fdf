package publish

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitseal/gitseal/cipher"
	"github.com/gitseal/gitseal/versioning"
)

// The runtime loader's cost, in process: Open + Get of one secret, and
// Open + every secret, with 1,000 secrets at HEAD, on a small and a large
// repository.
//
// The repositories: GITSEAL_BENCH_SMALL / GITSEAL_BENCH_LARGE may name
// existing repositories (the reference ones of bench/mkrepos.sh:
// DIR/repos/small, DIR/repos/large), which are cloned (--local) and given a
// store of 1,000 secrets, then repacked. Unset, a synthetic repository is
// made: small, 1,100 files in 11 commits; large, 101,000 files in 21 commits
// (≈ 103k objects, one pack) — the reference large one has 20,000 commits
// and 335k objects, which only the pack index's size reflects here.
//
//	go test ./publish -run XXX -bench Open -benchtime 200x

const benchSecrets = 1000

type benchRepo struct {
	dir string
	ids cipher.IdentitySource
}

var (
	benchOnce  = map[string]*sync.Once{"small": {}, "large": {}}
	benchRepos = map[string]*benchRepo{}
	benchErrs  = map[string]error{}
	benchRoot  string
	benchMu    sync.Mutex
)

func TestMain(m *testing.M) {
	code := m.Run()
	if benchRoot != "" {
		os.RemoveAll(benchRoot)
	}
	os.Exit(code)
}

func getBenchRepo(b *testing.B, size string) *benchRepo {
	b.Helper()
	benchMu.Lock()
	defer benchMu.Unlock()
	benchOnce[size].Do(func() {
		if benchRoot == "" {
			var err error
			if benchRoot, err = os.MkdirTemp("", "gitseal-publish-bench-"); err != nil {
				benchErrs[size] = err
				return
			}
		}
		benchRepos[size], benchErrs[size] = makeBenchRepo(filepath.Join(benchRoot, size), size)
	})
	if benchErrs[size] != nil {
		b.Fatalf("making the %s benchmark repository: %v", size, benchErrs[size])
	}
	return benchRepos[size]
}

func benchGit(dir string, env []string, args ...string) error {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("git %v: %v\n%s", args, err, out)
	}
	return nil
}

func makeBenchRepo(dir, size string) (*benchRepo, error) {
	env := append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=Bench", "GIT_AUTHOR_EMAIL=bench@example.com",
		"GIT_COMMITTER_NAME=Bench", "GIT_COMMITTER_EMAIL=bench@example.com")
	if src := os.Getenv("GITSEAL_BENCH_" + strings.ToUpper(size)); src != "" {
		if err := benchGit(filepath.Dir(dir), env, "clone", "-q", "--local", "--no-checkout", src, dir); err != nil {
			return nil, err
		}
		if err := benchGit(dir, env, "checkout", "-q", "HEAD", "--", "."); err != nil {
			return nil, err
		}
	} else {
		files, commits := 1100, 10
		if size == "large" {
			files, commits = 101000, 20
		}
		if err := syntheticRepo(dir, env, files, commits); err != nil {
			return nil, err
		}
	}
	idFile, pub, err := cipher.GenerateIdentity(time.Now())
	if err != nil {
		return nil, err
	}
	keyPath := filepath.Join(filepath.Dir(dir), size+".key")
	if err := os.WriteFile(keyPath, idFile, 0o600); err != nil {
		return nil, err
	}
	ids := cipher.IdentitySource{File: keyPath, Getenv: func(string) string { return "" }}
	for _, kv := range env[len(os.Environ()):] {
		k, v, _ := strings.Cut(kv, "=")
		os.Setenv(k, v)
	}
	s, err := versioning.Open(dir, versioning.Options{Identity: ids})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	ctx := context.Background()
	if _, err := s.Init(ctx, versioning.InitOptions{Recipients: []cipher.Recipient{pub}}); err != nil {
		return nil, err
	}
	values := map[string][]byte{}
	for i := 0; i < benchSecrets; i++ {
		values[fmt.Sprintf("SECRET_%04d", i)] = []byte(fmt.Sprintf("value-%032d", i))
	}
	if _, err := s.Import(ctx, "", values, versioning.WriteOptions{}); err != nil {
		return nil, err
	}
	if err := benchGit(dir, env, "repack", "-q", "-a", "-d"); err != nil {
		return nil, err
	}
	return &benchRepo{dir: dir, ids: ids}, nil
}

// syntheticRepo writes files text files of 200–800 bytes, 100 per
// directory, in one commit, then commits-1 commits changing one file each,
// with git fast-import.
func syntheticRepo(dir string, env []string, files, commits int) error {
	if err := benchGit(filepath.Dir(dir), env, "init", "-q", "-b", "main", dir); err != nil {
		return err
	}
	cmd := exec.Command("git", "fast-import", "--quiet")
	cmd.Dir = dir
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	w := bufio.NewWriterSize(in, 1<<20)
	content := func(i, rev int) string {
		n := 200 + (i*7919)%600
		line := fmt.Sprintf("file %d revision %d ", i, rev)
		return strings.Repeat(line, n/len(line)+1)[:n]
	}
	path := func(i int) string { return fmt.Sprintf("src/m%02d/p%02d/f%02d.txt", i/10000, i/100%100, i%100) }
	for c := 0; c < commits; c++ {
		fmt.Fprintf(w, "commit refs/heads/main\ncommitter Bench <bench@example.com> %d +0000\ndata 6\ncommit\n", 1700000000+c*60)
		if c == 0 {
			for i := 0; i < files; i++ {
				d := content(i, 0)
				fmt.Fprintf(w, "M 100644 inline %s\ndata %d\n%s\n", path(i), len(d), d)
			}
		} else {
			i := (c * 104729) % files
			d := content(i, c)
			fmt.Fprintf(w, "M 100644 inline %s\ndata %d\n%s\n", path(i), len(d), d)
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	in.Close()
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("git fast-import: %v\n%s", err, stderr.String())
	}
	return benchGit(dir, env, "checkout", "-q", "-f", "main")
}

func BenchmarkOpenGet(b *testing.B) {
	for _, size := range []string{"small", "large"} {
		b.Run(size, func(b *testing.B) {
			r := getBenchRepo(b, size)
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				s, err := Open(ctx, Options{Dir: r.dir, Env: "default", Identity: r.ids, Getenv: func(string) string { return "" }})
				if err != nil {
					b.Fatal(err)
				}
				v, err := s.Get("SECRET_0500")
				if err != nil || len(v) != 38 {
					b.Fatalf("Get = %q, %v", v, err)
				}
				s.Close()
			}
		})
	}
}

func BenchmarkOpenAll(b *testing.B) {
	for _, size := range []string{"small", "large"} {
		b.Run(size, func(b *testing.B) {
			r := getBenchRepo(b, size)
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				s, err := Open(ctx, Options{Dir: r.dir, Env: "default", Identity: r.ids, Getenv: func(string) string { return "" }})
				if err != nil {
					b.Fatal(err)
				}
				all, err := s.All()
				if err != nil || len(all) != benchSecrets {
					b.Fatalf("All: %d values, %v", len(all), err)
				}
				s.Close()
			}
		})
	}
}

// BenchmarkAll is All alone, Open done once, on one core and on all: what
// reading and decrypting in parallel buys.
func BenchmarkAll(b *testing.B) {
	for _, size := range []string{"small", "large"} {
		for _, procs := range []int{1, runtime.GOMAXPROCS(0)} {
			b.Run(fmt.Sprintf("%s/procs=%d", size, procs), func(b *testing.B) {
				r := getBenchRepo(b, size)
				s, err := Open(context.Background(), Options{Dir: r.dir, Env: "default", Identity: r.ids, Getenv: func(string) string { return "" }})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if all, err := s.All(); err != nil || len(all) != benchSecrets {
						b.Fatalf("All: %d values, %v", len(all), err)
					}
				}
			})
		}
	}
}
