package repo

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// rdEnv is the environment for git commands building read-side fixtures:
// no user or system config, fixed identities.
func rdEnv(home string) []string {
	return append(os.Environ(),
		"HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=A U Thor", "GIT_AUTHOR_EMAIL=author@example.com",
		"GIT_COMMITTER_NAME=C O Mitter", "GIT_COMMITTER_EMAIL=committer@example.com",
		"GIT_AUTHOR_DATE=2020-01-02T03:04:05+0130", "GIT_COMMITTER_DATE=2020-01-02T03:04:05+0130",
	)
}

// rdGit runs git in dir and returns its trimmed stdout.
func rdGit(t testing.TB, dir string, args ...string) string {
	t.Helper()
	return rdGitEnv(t, dir, nil, "", args...)
}

func rdGitEnv(t testing.TB, dir string, env []string, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(rdEnv(dir), env...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("git %v in %s: %v\n%s", args, dir, err, stderr)
	}
	return strings.TrimRight(string(out), "\n")
}

// rdWrite writes a file under dir, creating parents.
func rdWrite(t testing.TB, dir, name, content string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// rdCommit writes files and commits them with a given committer date
// (seconds since 2020-01-01, so history has distinct, ordered dates).
func rdCommit(t testing.TB, dir string, sec int, msg string, files map[string]string) string {
	t.Helper()
	for name, content := range files {
		rdWrite(t, dir, name, content)
	}
	rdGit(t, dir, "add", "-A")
	date := "GIT_COMMITTER_DATE=" + rdDate(sec)
	rdGitEnv(t, dir, []string{date, "GIT_AUTHOR_" + date[len("GIT_COMMITTER_"):]}, "", "commit", "-q", "--allow-empty", "-m", msg)
	return rdGit(t, dir, "rev-parse", "HEAD")
}

// rdDate is the fixture date sec seconds after 2020-01-01, in git's format.
func rdDate(sec int) string {
	return strconv.Itoa(1577836800+sec) + " +0100"
}

// rdInit makes a repository with one commit on main and returns its path.
func rdInit(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	dir, _ = filepath.EvalSymlinks(dir)
	rdGit(t, dir, "init", "-q", "-b", "main")
	return dir
}

func rdOpen(t testing.TB, dir string) *Repo {
	t.Helper()
	r, err := Open(dir)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func TestOpenLayouts(t *testing.T) {
	dir := rdInit(t)
	rdCommit(t, dir, 1, "one", map[string]string{"a/b/c.txt": "hello\n"})

	t.Run("top and subdirectory", func(t *testing.T) {
		for _, d := range []string{dir, filepath.Join(dir, "a", "b")} {
			r := rdOpen(t, d)
			if r.WorkTree() != dir || r.GitDir() != filepath.Join(dir, ".git") || r.CommonDir() != r.GitDir() {
				t.Errorf("Open(%s) = worktree %q gitdir %q commondir %q", d, r.WorkTree(), r.GitDir(), r.CommonDir())
			}
		}
	})

	t.Run("inside .git", func(t *testing.T) {
		r := rdOpen(t, filepath.Join(dir, ".git", "refs"))
		if r.GitDir() != filepath.Join(dir, ".git") {
			t.Errorf("gitdir = %q", r.GitDir())
		}
	})

	t.Run("linked worktree", func(t *testing.T) {
		wt := filepath.Join(t.TempDir(), "wt")
		rdGit(t, dir, "worktree", "add", "-q", "-b", "side", wt)
		wt, _ = filepath.EvalSymlinks(wt)
		r := rdOpen(t, filepath.Join(wt, "a"))
		if r.WorkTree() != wt {
			t.Errorf("worktree = %q, want %q", r.WorkTree(), wt)
		}
		if want := rdGit(t, wt, "rev-parse", "--absolute-git-dir"); r.GitDir() != want {
			t.Errorf("gitdir = %q, want %q", r.GitDir(), want)
		}
		if r.CommonDir() != filepath.Join(dir, ".git") {
			t.Errorf("commondir = %q", r.CommonDir())
		}
		h, err := r.Head()
		if err != nil || h.Branch != "refs/heads/side" || h.Commit.String() != rdGit(t, dir, "rev-parse", "main") {
			t.Errorf("Head() = %+v, %v", h, err)
		}
	})

	t.Run("gitdir file", func(t *testing.T) {
		sep := t.TempDir()
		wt := t.TempDir()
		rdGit(t, wt, "init", "-q", "--separate-git-dir", filepath.Join(sep, "g"))
		wt, _ = filepath.EvalSymlinks(wt)
		r := rdOpen(t, wt)
		if r.WorkTree() != wt || !strings.HasSuffix(r.GitDir(), string(filepath.Separator)+"g") {
			t.Errorf("worktree %q gitdir %q", r.WorkTree(), r.GitDir())
		}
	})

	t.Run("bare", func(t *testing.T) {
		bare := filepath.Join(t.TempDir(), "b.git")
		rdGit(t, dir, "clone", "-q", "--bare", dir, bare)
		bare, _ = filepath.EvalSymlinks(bare)
		r := rdOpen(t, bare)
		if r.WorkTree() != "" || r.GitDir() != bare {
			t.Errorf("worktree %q gitdir %q", r.WorkTree(), r.GitDir())
		}
		if _, _, err := r.FileAt(mustResolve(t, r, "main"), "a/b/c.txt"); err != nil {
			t.Error(err)
		}
	})

	t.Run("not a repository", func(t *testing.T) {
		empty := t.TempDir()
		_, err := Open(empty)
		if !errors.Is(err, ErrNotRepository) {
			t.Fatalf("err = %v", err)
		}
		if want := "not a git repository (or any parent up to /): "; !strings.HasPrefix(err.Error(), want) {
			t.Errorf("err = %q", err)
		}
	})

	t.Run("GIT_DIR", func(t *testing.T) {
		t.Setenv("GIT_DIR", filepath.Join(dir, ".git"))
		other := t.TempDir()
		r := rdOpen(t, other)
		if r.GitDir() != filepath.Join(dir, ".git") {
			t.Errorf("gitdir %q", r.GitDir())
		}
	})
}

func TestOpenRefusesSHA256(t *testing.T) {
	dir := t.TempDir()
	rdGit(t, dir, "init", "-q", "--object-format=sha256")
	_, err := Open(dir)
	if err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Fatalf("Open(sha256 repo) err = %v, want refusal naming sha256", err)
	}
}

func mustResolve(t testing.TB, r *Repo, rev string) Hash {
	t.Helper()
	h, err := r.ResolveCommit(rev)
	if err != nil {
		t.Fatalf("ResolveCommit(%q): %v", rev, err)
	}
	return h
}
