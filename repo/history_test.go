package repo

import (
	"errors"
	"strings"
	"testing"
)

func TestPathLogAgreesWithGitLog(t *testing.T) {
	t.Parallel()
	dir := rdInit(t)
	sec := 0
	commit := func(msg string, files map[string]string) {
		sec++
		rdCommit(t, dir, sec, msg, files)
	}
	merge := func(branch string) {
		sec++
		date := "GIT_COMMITTER_DATE=" + rdDate(sec)
		rdGitEnv(t, dir, []string{date}, "", "merge", "-q", "--no-ff", "-m", "merge "+branch, branch)
	}
	commit("add", map[string]string{".gitseal/prod/secrets/DB": "v1\n", "other": "x\n"})
	commit("unrelated", map[string]string{"other": "y\n"})
	commit("change", map[string]string{".gitseal/prod/secrets/DB": "v2\n"})
	rdGit(t, dir, "branch", "side")
	rdGit(t, dir, "branch", "same")
	commit("main change", map[string]string{".gitseal/prod/secrets/DB": "v3\n"})
	rdGit(t, dir, "checkout", "-q", "side")
	commit("side change", map[string]string{".gitseal/prod/secrets/API": "a1\n", "other": "side\n"})
	rdGit(t, dir, "checkout", "-q", "same")
	commit("same value as main", map[string]string{".gitseal/prod/secrets/DB": "v3\n"})
	rdGit(t, dir, "checkout", "-q", "main")
	merge("side")
	merge("same")
	rdGit(t, dir, "rm", "-q", ".gitseal/prod/secrets/DB")
	sec++
	rdGitEnv(t, dir, []string{"GIT_COMMITTER_DATE=" + rdDate(sec)}, "", "commit", "-q", "-m", "delete")
	commit("re-add", map[string]string{".gitseal/prod/secrets/DB": "v1\n"})
	// A merge whose result differs from both parents.
	rdGit(t, dir, "checkout", "-q", "-b", "conflict", "HEAD~1")
	commit("conflict side", map[string]string{".gitseal/prod/secrets/DB": "side\n"})
	rdGit(t, dir, "checkout", "-q", "main")
	sec++
	rdGitEnv(t, dir, []string{"GIT_COMMITTER_DATE=" + rdDate(sec)}, "", "merge", "-q", "--no-commit", "-s", "ours", "conflict")
	rdWrite(t, dir, ".gitseal/prod/secrets/DB", "resolved\n")
	rdGit(t, dir, "add", "-A")
	rdGitEnv(t, dir, []string{"GIT_COMMITTER_DATE=" + rdDate(sec)}, "", "commit", "-q", "-m", "evil merge")
	rdGit(t, dir, "gc", "-q")

	r := rdOpen(t, dir)
	head := mustResolve(t, r, "HEAD")
	for _, path := range []string{".gitseal/prod/secrets/DB", ".gitseal/prod/secrets/API", ".gitseal/prod", "other", "nope"} {
		want := rdGit(t, dir, "log", "--format=%H", "--", path)
		var got []string
		err := r.PathLog(head, path, func(c *Commit, entry Hash) error {
			got = append(got, c.Hash.String())
			wantEntry := ZeroHash
			if e, err := r.TreeEntryAt(c.Hash, path); err == nil {
				wantEntry = e.Hash
			}
			if entry != wantEntry {
				t.Errorf("%s at %s: entry %s, want %s", path, c.Hash.short(), entry, wantEntry)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(got, "\n") != want {
			t.Errorf("PathLog(%s):\n got %v\nwant %v", path, got, strings.Fields(want))
		}
		if path == ".gitseal/prod/secrets/DB" && len(got) < 6 {
			t.Errorf("fixture too small: %d commits", len(got))
		}
	}

	stop := errors.New("stop")
	n := 0
	err := r.PathLog(head, ".gitseal/prod/secrets/DB", func(*Commit, Hash) error { n++; return stop })
	if err != stop || n != 1 {
		t.Errorf("stop: err %v after %d calls", err, n)
	}
}

func TestPathLogShallow(t *testing.T) {
	t.Parallel()
	up := rdInit(t)
	for i := 1; i <= 4; i++ {
		rdCommit(t, up, i, "c", map[string]string{"f": strings.Repeat("x", i) + "\n"})
	}
	down := t.TempDir()
	rdGit(t, up, "clone", "-q", "--depth=2", "file://"+up, down)
	r := rdOpen(t, down)
	var got []string
	if err := r.PathLog(mustResolve(t, r, "HEAD"), "f", func(c *Commit, _ Hash) error {
		got = append(got, c.Hash.String())
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := rdGit(t, down, "log", "--format=%H", "--", "f"); strings.Join(got, "\n") != want {
		t.Errorf("shallow PathLog = %v, want %v", got, want)
	}
}
