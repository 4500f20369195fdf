package repo

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Helpers for the write-side tests (prefix wr).

// wrEnv is the environment for git commands in write-side tests: no user or
// system config, fixed identities.
func wrEnv(dir string) []string {
	return append(os.Environ(),
		"HOME="+dir, "XDG_CONFIG_HOME="+filepath.Join(dir, ".config"),
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=A U Thor", "GIT_AUTHOR_EMAIL=author@example.com",
		"GIT_COMMITTER_NAME=C O Mitter", "GIT_COMMITTER_EMAIL=committer@example.com",
	)
}

// wrGit runs git in dir and returns its stdout with trailing newlines
// trimmed; it fails the test when git fails.
func wrGit(t testing.TB, dir string, args ...string) string {
	t.Helper()
	out, err := wrGitErr(dir, "", args...)
	if err != nil {
		t.Fatalf("git %v in %s: %v", args, dir, err)
	}
	return out
}

// wrGitIn runs git with stdin.
func wrGitIn(t testing.TB, dir, stdin string, args ...string) string {
	t.Helper()
	out, err := wrGitErr(dir, stdin, args...)
	if err != nil {
		t.Fatalf("git %v in %s: %v", args, dir, err)
	}
	return out
}

type wrGitError struct {
	err    error
	stderr string
}

func (e *wrGitError) Error() string { return e.err.Error() + ": " + e.stderr }

func wrGitErr(dir, stdin string, args ...string) (string, error) {
	return wrRun(dir, wrEnv(dir), stdin, args...)
}

// wrRun runs git with the given environment.
func wrRun(dir string, env []string, stdin string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = env
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), &wrGitError{err, stderr.String()}
	}
	return strings.TrimRight(string(out), "\n"), nil
}

// wrWrite writes a file under dir, creating parents.
func wrWrite(t testing.TB, dir, name, content string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func wrRead(t testing.TB, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// wrInit makes an empty repository on main with a local identity and
// returns its path.
func wrInit(t testing.TB) string {
	t.Helper()
	dir, _ := filepath.EvalSymlinks(t.TempDir())
	wrGit(t, dir, "init", "-q", "-b", "main")
	wrGit(t, dir, "config", "user.name", "Gitseal Test")
	wrGit(t, dir, "config", "user.email", "gitseal@example.com")
	return dir
}

// wrInitWithFiles makes a repository with one commit holding files.
func wrInitWithFiles(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := wrInit(t)
	for name, content := range files {
		wrWrite(t, dir, name, content)
	}
	wrGit(t, dir, "add", "-A")
	wrGit(t, dir, "commit", "-q", "-m", "initial")
	return dir
}

func wrOpen(t testing.TB, dir string) *Repo {
	t.Helper()
	r, err := Open(dir)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// wrCommit opens dir, takes the lock and commits changes on HEAD.
func wrCommit(t testing.TB, dir string, req CommitRequest) (CommitResult, error) {
	t.Helper()
	r := wrOpen(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l, err := r.Lock(ctx)
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	defer l.Unlock()
	if req.Message == "" && !req.Stage {
		req.Message = "gitseal: test\n\nGitseal-Action: test\n"
	}
	return r.CommitChanges(ctx, req)
}

func wrSet(path, value string) Change { return Change{Path: path, Data: []byte(value)} }
func wrDel(path string) Change        { return Change{Path: path, Delete: true} }

// wrFsck fails the test unless `git fsck --strict` is clean.
func wrFsck(t testing.TB, dir string) {
	t.Helper()
	out, err := wrGitErr(dir, "", "fsck", "--strict", "--no-dangling", "--no-progress")
	if err != nil || strings.TrimSpace(out) != "" {
		t.Fatalf("git fsck --strict: %v\n%s", err, out)
	}
}

// wrState is what a user sees of their work: staged and unstaged diffs and
// the status, as git prints them.
type wrState struct{ cached, unstaged, status string }

func wrUserState(t testing.TB, dir string) wrState {
	t.Helper()
	return wrState{
		cached:   wrGit(t, dir, "diff", "--cached", "--binary"),
		unstaged: wrGit(t, dir, "diff", "--binary"),
		status:   wrGit(t, dir, "status", "--porcelain", "--untracked-files=all"),
	}
}

// wrCheckClean fails unless git shows the paths clean and the index's tree
// (as git write-tree computes it) is HEAD's tree.
func wrCheckClean(t testing.TB, dir string, paths ...string) {
	t.Helper()
	// Plumbing first, which does not refresh the index: the stat data
	// gitseal wrote must already match the files.
	args := append([]string{"diff-files", "--name-only", "--"}, paths...)
	if out := wrGit(t, dir, args...); out != "" {
		t.Errorf("git diff-files (no refresh) lists %v:\n%s", paths, out)
	}
	args = append([]string{"status", "--porcelain", "--untracked-files=all", "--"}, paths...)
	if out := wrGit(t, dir, args...); out != "" {
		t.Errorf("git status not clean for %v:\n%s", paths, out)
	}
}

func wrCheckTreeMatchesHead(t testing.TB, dir string) {
	t.Helper()
	wt := wrGit(t, dir, "write-tree")
	head := wrGit(t, dir, "rev-parse", "HEAD^{tree}")
	if wt != head {
		t.Errorf("git write-tree = %s, HEAD^{tree} = %s", wt, head)
	}
}

// wrHelperMain runs in a child process (see TestLockHelperProcess); the
// directory is GITSEAL_WR_DIR. Modes:
//
//	noop          exit at once (process start-up cost)
//	hold-lock     take the lock, print "locked", wait to be killed
//	commit-once   lock, commit GITSEAL_WR_PATH = GITSEAL_WR_VALUE (and delete
//	              GITSEAL_WR_DELETE; stage only if GITSEAL_WR_STAGE), unlock
//	commit-loop   GITSEAL_WR_N times: lock, commit GITSEAL_WR_PATH = "<GITSEAL_WR_ID> <i>", unlock
//	crash-loop    commit forever (set A, toggle B and C/D), until killed
//
// GITSEAL_WR_DIE_AT names a point of CommitChanges (see testHook) where the
// process kills itself with SIGKILL.
func wrHelperMain(mode string) int {
	if mode == "noop" {
		return 0
	}
	if at := os.Getenv("GITSEAL_WR_DIE_AT"); at != "" {
		testHook = func(point string) {
			if point == at {
				syscall.Kill(os.Getpid(), syscall.SIGKILL)
				select {}
			}
		}
	}
	dir := os.Getenv("GITSEAL_WR_DIR")
	r, err := Open(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	switch mode {
	case "hold-lock":
		if _, err := r.Lock(ctx); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Print("locked")
		select {}
	case "commit-loop":
		n, _ := strconv.Atoi(os.Getenv("GITSEAL_WR_N"))
		id, path := os.Getenv("GITSEAL_WR_ID"), os.Getenv("GITSEAL_WR_PATH")
		for i := 0; i < n; i++ {
			l, err := r.Lock(ctx)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			_, err = r.CommitChanges(ctx, CommitRequest{
				Changes: []Change{wrSet(path, fmt.Sprintf("%s %d\n", id, i))},
				Message: fmt.Sprintf("gitseal: set %s %d", id, i),
			})
			l.Unlock()
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
		return 0
	case "commit-once":
		l, err := r.Lock(ctx)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer l.Unlock()
		changes := []Change{wrSet(os.Getenv("GITSEAL_WR_PATH"), os.Getenv("GITSEAL_WR_VALUE"))}
		if p := os.Getenv("GITSEAL_WR_DELETE"); p != "" {
			changes = append(changes, wrDel(p))
		}
		_, err = r.CommitChanges(ctx, CommitRequest{Changes: changes, Message: "gitseal: set",
			Stage: os.Getenv("GITSEAL_WR_STAGE") != ""})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	case "crash-loop":
		for i := 0; ; i++ {
			l, err := r.Lock(ctx)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			changes := []Change{wrSet(".gitseal/default/secrets/A", fmt.Sprintf("a %d\n", i))}
			if i%2 == 0 {
				changes = append(changes, wrSet(".gitseal/default/secrets/B", fmt.Sprintf("b %d\n", i)),
					wrSet(".gitseal/new/keys/C", "c\n"), wrDel(".gitseal/default/secrets/D"))
			} else {
				changes = append(changes, wrDel(".gitseal/default/secrets/B"), wrDel(".gitseal/new/keys/C"),
					wrSet(".gitseal/default/secrets/D", fmt.Sprintf("d %d\n", i)))
			}
			_, err = r.CommitChanges(ctx, CommitRequest{Changes: changes, Message: fmt.Sprintf("gitseal: crash loop %d", i)})
			l.Unlock()
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
	}
	fmt.Fprintln(os.Stderr, "unknown helper mode", mode)
	return 2
}
