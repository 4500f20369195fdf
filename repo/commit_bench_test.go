package repo

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// wrBenchRepo builds a repository of n files (200–800 bytes, 100 per
// directory) plus gitseal's files, checked out and packed, as PERF.md's
// reference repositories are.
func wrBenchRepo(b *testing.B, n int) string {
	b.Helper()
	dir := wrInit(b)
	var sb strings.Builder
	sb.WriteString("commit refs/heads/main\ncommitter Bench <bench@example.com> 1700000000 +0000\ndata 5\nbench\n")
	for i := 0; i < n; i++ {
		body := strings.Repeat(fmt.Sprintf("line %d of file %d\n", i%7, i), 10+(i*7919)%30)
		fmt.Fprintf(&sb, "M 100644 inline src/d%04d/f%03d.txt\ndata %d\n%s\n", i/100, i%100, len(body), body)
	}
	for name, content := range wrBaseFiles() {
		fmt.Fprintf(&sb, "M 100644 inline %s\ndata %d\n%s\n", name, len(content), content)
	}
	wrGitIn(b, dir, sb.String(), "fast-import", "--quiet")
	wrGit(b, dir, "reset", "-q", "--hard", "main")
	wrGit(b, dir, "repack", "-a", "-d", "-q")
	wrGit(b, dir, "prune-packed")
	wrGit(b, dir, "status", "--porcelain") // settle the index's stat data
	return dir
}

// BenchmarkCommitChanges commits one changed secret file on a repository
// with a large index (GITSEAL_BENCH_FILES files, default 20000): gitseal
// in-process, gitseal as a whole process (the test binary re-executed:
// Open, Lock, CommitChanges), and `git commit --only -- path` on the same
// repository.
func BenchmarkCommitChanges(b *testing.B) {
	n := 20000
	if v, err := strconv.Atoi(os.Getenv("GITSEAL_BENCH_FILES")); err == nil {
		n = v
	}
	dir := wrBenchRepo(b, n)
	seq := 0
	value := func() string { seq++; return fmt.Sprintf("value %d %d\n", seq, time.Now().UnixNano()) }

	b.Run(fmt.Sprintf("files=%d/gitseal", n), func(b *testing.B) {
		commitLoop(b, dir, value)
	})
	b.Run(fmt.Sprintf("files=%d/gitseal-nofsync", n), func(b *testing.B) {
		defer func() { fsyncWrites = true }()
		fsyncWrites = false
		commitLoop(b, dir, value)
	})
	b.Run(fmt.Sprintf("files=%d/gitseal-process", n), func(b *testing.B) {
		for b.Loop() {
			cmd := wrHelperCmd(b, "commit-once", "GITSEAL_WR_DIR="+dir, "GITSEAL_WR_PATH="+wrX, "GITSEAL_WR_VALUE="+value())
			if err := cmd.Run(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run(fmt.Sprintf("files=%d/git-commit-only", n), func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			wrWrite(b, dir, wrX, value())
			b.StartTimer()
			cmd := exec.Command("git", "commit", "-q", "--only", "-m", "git: set X", "--", wrX)
			cmd.Dir = dir
			cmd.Env = wrEnv(dir)
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("%v: %s", err, out)
			}
		}
	})
	b.Run(fmt.Sprintf("files=%d/process-start", n), func(b *testing.B) {
		// The floor under gitseal-process: the test binary starting up.
		for b.Loop() {
			if err := wrHelperCmd(b, "noop").Run(); err != nil {
				b.Fatal(err)
			}
		}
	})
	wrCheckClean(b, dir)
	wrFsck(b, dir)
}

// commitLoop commits one changed path per iteration, in process.
func commitLoop(b *testing.B, dir string, value func() string) {
	r, err := Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	for b.Loop() {
		l, err := r.Lock(ctx)
		if err != nil {
			b.Fatal(err)
		}
		_, err = r.CommitChanges(ctx, CommitRequest{Changes: []Change{wrSet(wrX, value())}, Message: "gitseal: set X"})
		l.Unlock()
		if err != nil {
			b.Fatal(err)
		}
	}
}
