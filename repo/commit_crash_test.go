package repo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Several processes commit different paths at once, each taking the lock
// for each commit: every commit lands, none is lost.
func TestCommitChangesConcurrentProcesses(t *testing.T) {
	dir := wrInitWithFiles(t, wrBaseFiles())
	const procs, each = 4, 5
	var wg sync.WaitGroup
	errs := make([]error, procs)
	for i := 0; i < procs; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			cmd := wrHelperCmd(t, "commit-loop", "GITSEAL_WR_DIR="+dir, "GITSEAL_WR_N="+strconv.Itoa(each),
				"GITSEAL_WR_ID=p"+strconv.Itoa(i), "GITSEAL_WR_PATH=.gitseal/default/secrets/P"+strconv.Itoa(i))
			errs[i] = cmd.Run()
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("process %d: %v", i, err)
		}
	}
	if got := wrGit(t, dir, "rev-list", "--count", "HEAD"); got != strconv.Itoa(1+procs*each) {
		t.Errorf("%s commits, want %d", got, 1+procs*each)
	}
	for i := 0; i < procs; i++ {
		path := ".gitseal/default/secrets/P" + strconv.Itoa(i)
		if got := wrGit(t, dir, "show", "HEAD:"+path); got != fmt.Sprintf("p%d %d", i, each-1) {
			t.Errorf("%s = %q", path, got)
		}
		if got := wrGit(t, dir, "log", "--format=%s", "--", path); strings.Count(got, "\n")+1 != each {
			t.Errorf("history of %s:\n%s", path, got)
		}
	}
	if got := wrGit(t, dir, "reflog", "show", "--format=%gs", "main"); strings.Count(got, "\n")+1 != 1+procs*each {
		t.Errorf("reflog:\n%s", got)
	}
	wrCheckClean(t, dir)
	wrCheckTreeMatchesHead(t, dir)
	wrFsck(t, dir)
}

// A process committing in a loop is killed with SIGKILL at random moments.
// After each kill the next Lock recovers: git fsck is clean, the tip holds
// one whole commit, the index and working tree agree with it for gitseal's
// paths, the user's own work is exactly as it was, nothing is left behind,
// and committing again works.
func TestCommitChangesSurvivesSIGKILL(t *testing.T) {
	files := wrBaseFiles()
	files[".gitseal/default/secrets/A"] = "a-old\n"
	dir := wrInitWithFiles(t, files)
	wrWrite(t, dir, "src/a.go", "package a // staged\n")
	wrGit(t, dir, "add", "src/a.go")
	wrWrite(t, dir, "README.md", "unstaged\n")
	wrWrite(t, dir, ".gitseal/default/secrets/UNTRACKED", "untracked\n")
	baseline := wrUserState(t, dir)

	deadline := time.Now().Add(6 * time.Second)
	iterations, journals, commits := 0, 0, 0
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	last := wrGit(t, dir, "rev-parse", "HEAD")
	for ; iterations < 40 && time.Now().Before(deadline); iterations++ {
		cmd := wrHelperCmd(t, "crash-loop", "GITSEAL_WR_DIR="+dir)
		cmd.Stderr = nil
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(20+rng.IntN(100)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()

		if _, err := os.Stat(filepath.Join(dir, ".git", journalName)); err == nil {
			journals++
		}
		r, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		l, err := r.Lock(context.Background())
		if err != nil {
			t.Fatalf("iteration %d: Lock: %v", iterations, err)
		}
		wrCheckAfterCrash(t, dir, baseline, iterations)
		l.Unlock()
		r.Close()
		if head := wrGit(t, dir, "rev-parse", "HEAD"); head != last {
			commits++
			last = head
		}
		if t.Failed() {
			t.Fatalf("after iteration %d (%d journals found)", iterations, journals)
		}
	}
	t.Logf("%d kills, %d left a journal, HEAD moved in %d", iterations, journals, commits)
	if journals == 0 || commits == 0 {
		t.Errorf("no kill landed inside a commit (%d kills, %d journals, %d commits)", iterations, journals, commits)
	}
	if _, err := wrCommit(t, dir, CommitRequest{Changes: []Change{wrSet(".gitseal/default/secrets/A", "final\n")}}); err != nil {
		t.Fatalf("commit after the crashes: %v", err)
	}
	wrCheckAfterCrash(t, dir, baseline, iterations)
}

func wrCheckAfterCrash(t *testing.T, dir string, baseline wrState, iteration int) {
	t.Helper()
	wrFsck(t, dir)
	// The tip holds one whole iteration's commit.
	a := wrGit(t, dir, "show", "HEAD:.gitseal/default/secrets/A")
	var i int
	if a != "a-old" && a != "final" {
		if _, err := fmt.Sscanf(a, "a %d", &i); err != nil {
			t.Errorf("A = %q", a)
		}
		files := wrGit(t, dir, "ls-tree", "-r", "--name-only", "HEAD", ".gitseal")
		hasB := strings.Contains(files, "secrets/B\n")
		hasC := strings.Contains(files, "new/keys/C")
		hasD := strings.Contains(files, "secrets/D\n")
		if hasB != (i%2 == 0) || hasC != (i%2 == 0) || hasD == (i%2 == 0) {
			t.Errorf("tip mixes iterations: A=%q B=%v C=%v D=%v", a, hasB, hasC, hasD)
		}
	}
	// Index and working tree agree with the tip for gitseal's paths, with
	// stat data git accepts without re-reading, and the user's work is
	// untouched.
	if out := wrGit(t, dir, "diff-files", "--name-status", "--", ".gitseal"); out != "" {
		t.Errorf("diff-files after recovery:\n%s", out)
	}
	if out := wrGit(t, dir, "diff-index", "--cached", "--name-status", "HEAD", "--", ".gitseal"); out != "" {
		t.Errorf("index differs from HEAD after recovery:\n%s", out)
	}
	if got := wrUserState(t, dir); got != baseline {
		t.Errorf("user state after recovery:\n%+v\nwant\n%+v", got, baseline)
	}
	var left []string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		name := filepath.Base(p)
		if err == nil && (strings.HasSuffix(name, ".lock") && name != "gitseal.lock" ||
			strings.Contains(name, "gitseal-tmp") || strings.HasPrefix(name, "tmp_obj_") || name == journalName) {
			left = append(left, p)
		}
		return nil
	})
	if len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
}

// A gitseal killed at each chosen point of a commit (or a stage), in a
// linked worktree: the next Lock, taken from the main worktree, finishes
// the linked worktree's index and files (or leaves them, when the ref had
// not moved), and the user's work there is untouched.
func TestCommitChangesRecoversAtEachPoint(t *testing.T) {
	for _, tc := range []struct {
		at    string
		stage bool
		moved bool // the ref (or, staging, the index) ends at the new value
	}{
		{"before-ref", false, false},
		{"after-ref", false, true},
		{"mid-overwrite", false, true},
		{"after-files", false, true},
		{"mid-overwrite", true, true},
		{"after-files", true, true},
	} {
		name := tc.at
		if tc.stage {
			name += "-stage"
		}
		t.Run(name, func(t *testing.T) {
			dir := wrInitWithFiles(t, wrBaseFiles())
			wt := filepath.Join(filepath.Dir(dir), filepath.Base(dir)+"-wt")
			wrGit(t, dir, "worktree", "add", "-q", "-b", "feature", wt)
			t.Cleanup(func() { os.RemoveAll(wt) })
			wrWrite(t, wt, "src/a.go", "package a // unstaged in the worktree\n")
			baseline := wrUserState(t, wt)
			head := wrGit(t, wt, "rev-parse", "HEAD")
			env := []string{"GITSEAL_WR_DIR=" + wt, "GITSEAL_WR_PATH=" + wrX, "GITSEAL_WR_VALUE=crashed\n",
				"GITSEAL_WR_DELETE=" + wrZ, "GITSEAL_WR_DIE_AT=" + tc.at}
			if tc.stage {
				env = append(env, "GITSEAL_WR_STAGE=1")
			}
			cmd := wrHelperCmd(t, "commit-once", env...)
			if err := cmd.Run(); err == nil {
				t.Fatal("helper was not killed")
			}
			if _, err := os.Stat(filepath.Join(dir, ".git", journalName)); err != nil {
				t.Fatalf("no journal after the kill: %v", err)
			}
			r := wrOpen(t, dir) // the main worktree
			l, err := r.Lock(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			l.Unlock()
			wrFsck(t, dir)
			moved := wrGit(t, wt, "rev-parse", "HEAD") != head
			if moved != (tc.moved && !tc.stage) {
				t.Errorf("HEAD moved = %v", moved)
			}
			switch {
			case tc.stage:
				if got := wrGit(t, wt, "diff", "--cached", "--name-status"); got != "M\t"+wrX+"\nD\t"+wrZ {
					t.Errorf("staged after recovery:\n%s", got)
				}
			case tc.moved:
				if out := wrGit(t, wt, "diff-index", "--cached", "--name-status", "HEAD", "--", ".gitseal"); out != "" {
					t.Errorf("index lags HEAD after recovery:\n%s", out)
				}
			default:
				if got := wrUserState(t, wt); got != baseline {
					t.Errorf("state changed without a commit: %+v", got)
				}
			}
			if out := wrGit(t, wt, "diff-files", "--name-status", "--", ".gitseal"); out != "" {
				t.Errorf("working tree differs from the index after recovery:\n%s", out)
			}
			if got := wrGit(t, wt, "diff", "--", "src"); got != baseline.unstaged {
				t.Errorf("user's unstaged work changed:\n%s", got)
			}
			for _, f := range []string{filepath.Join(dir, ".git", journalName), filepath.Join(dir, ".git", "worktrees", filepath.Base(wt), "index.lock")} {
				if _, err := os.Stat(f); !os.IsNotExist(err) {
					t.Errorf("%s left: %v", f, err)
				}
			}
			if _, err := wrCommit(t, wt, CommitRequest{Changes: []Change{wrSet(wrY, "after\n")}, Stage: tc.stage}); err != nil {
				t.Fatalf("next commit: %v", err)
			}
		})
	}
}
