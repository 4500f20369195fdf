package repo

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRefs(t *testing.T) {
	dir := rdInit(t)
	c1 := rdCommit(t, dir, 1, "one", map[string]string{"a": "1\n"})
	rdGit(t, dir, "tag", "light")
	rdGit(t, dir, "tag", "-a", "-m", "annotated", "v1")
	rdGit(t, dir, "branch", "feature/x")
	rdGit(t, dir, "update-ref", "refs/gitseal/pins/prod", c1)
	rdGit(t, dir, "pack-refs", "--all")
	c2 := rdCommit(t, dir, 2, "two", map[string]string{"a": "2\n"}) // loose main over packed main
	rdGit(t, dir, "update-ref", "refs/gitseal/pins/staging", c2)
	rdGit(t, dir, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/heads/main")
	rdGit(t, dir, "symbolic-ref", "refs/dangling", "refs/heads/nope")
	r := rdOpen(t, dir)

	for name, want := range map[string]string{
		"refs/heads/main":           c2,
		"HEAD":                      c2,
		"refs/heads/feature/x":      c1,
		"refs/tags/light":           c1,
		"refs/tags/v1":              rdGit(t, dir, "rev-parse", "refs/tags/v1"), // the tag object, not peeled
		"refs/gitseal/pins/prod":    c1,
		"refs/remotes/origin/HEAD":  c2,
		"refs/gitseal/pins/staging": c2,
	} {
		h, err := r.Ref(name)
		if err != nil || h.String() != want {
			t.Errorf("Ref(%s) = %s, %v; want %s", name, h, err, want)
		}
	}
	for _, name := range []string{"refs/heads/nope", "refs/dangling", "refs/heads/../../config", "main", "refs/heads/feature"} {
		if _, err := r.Ref(name); !errors.Is(err, ErrRefNotFound) {
			t.Errorf("Ref(%s) err = %v, want ErrRefNotFound", name, err)
		}
	}

	pins, err := r.Refs("refs/gitseal/pins/")
	if err != nil {
		t.Fatal(err)
	}
	if len(pins) != 2 || pins["refs/gitseal/pins/prod"].String() != c1 || pins["refs/gitseal/pins/staging"].String() != c2 {
		t.Errorf("Refs(pins) = %v", pins)
	}
	all, err := r.Refs("")
	if err != nil {
		t.Fatal(err)
	}
	gitRefs := rdGit(t, dir, "for-each-ref", "--format=%(refname) %(objectname)")
	n := 0
	for _, line := range strings.Split(gitRefs, "\n") {
		name, id, _ := strings.Cut(line, " ")
		if name == "refs/dangling" {
			continue
		}
		n++
		if all[name].String() != id {
			t.Errorf("Refs()[%s] = %s, git says %s", name, all[name], id)
		}
	}
	if len(all) != n {
		t.Errorf("Refs() has %d refs, git lists %d: %v", len(all), n, all)
	}
	heads, _ := r.Refs("refs/heads/")
	if len(heads) != 2 {
		t.Errorf("Refs(heads) = %v", heads)
	}

	// A packed-refs rewrite is noticed by the cache.
	rdGit(t, dir, "update-ref", "-d", "refs/gitseal/pins/prod")
	if _, err := r.Ref("refs/gitseal/pins/prod"); !errors.Is(err, ErrRefNotFound) {
		t.Errorf("deleted packed ref still read: %v", err)
	}
}

func TestHead(t *testing.T) {
	dir := rdInit(t)
	r := rdOpen(t, dir)
	h, err := r.Head()
	if err != nil || h.Branch != "refs/heads/main" || !h.Commit.IsZero() {
		t.Fatalf("unborn Head() = %+v, %v", h, err)
	}
	if _, err := r.ResolveCommit("HEAD"); !errors.Is(err, ErrRevisionNotFound) {
		t.Errorf("ResolveCommit(HEAD) on unborn = %v", err)
	}
	c1 := rdCommit(t, dir, 1, "one", map[string]string{"a": "1\n"})
	h, err = r.Head()
	if err != nil || h.Branch != "refs/heads/main" || h.Commit.String() != c1 {
		t.Fatalf("Head() = %+v, %v", h, err)
	}
	rdGit(t, dir, "checkout", "-q", "--detach")
	h, err = r.Head()
	if err != nil || h.Branch != "" || h.Commit.String() != c1 {
		t.Fatalf("detached Head() = %+v, %v", h, err)
	}
}

func TestPerWorktreeRefs(t *testing.T) {
	dir := rdInit(t)
	c1 := rdCommit(t, dir, 1, "one", map[string]string{"a": "1\n"})
	wt := filepath.Join(t.TempDir(), "wt")
	rdGit(t, dir, "worktree", "add", "-q", "--detach", wt)
	rdGit(t, wt, "update-ref", "refs/worktree/mine", c1)
	rdGit(t, wt, "update-ref", "refs/bisect/bad", c1)
	r := rdOpen(t, wt)
	main := rdOpen(t, dir)
	if _, err := r.Ref("refs/worktree/mine"); err != nil {
		t.Errorf("worktree ref from its worktree: %v", err)
	}
	if _, err := main.Ref("refs/worktree/mine"); !errors.Is(err, ErrRefNotFound) {
		t.Errorf("worktree ref seen from main: %v", err)
	}
	refs, _ := r.Refs("refs/")
	if _, ok := refs["refs/bisect/bad"]; !ok || len(refs) != 3 {
		t.Errorf("Refs from worktree = %v", refs)
	}
	h, _ := r.Head()
	if h.Branch != "" || h.Commit.String() != c1 {
		t.Errorf("worktree Head = %+v", h)
	}
}

func TestValidRefName(t *testing.T) {
	for _, ok := range []string{"HEAD", "FETCH_HEAD", "refs/heads/main", "refs/heads/a-b_c.d/e", "refs/gitseal/pins/prod"} {
		if !validRefName(ok) {
			t.Errorf("validRefName(%q) = false", ok)
		}
	}
	for _, bad := range []string{"", "main", "refs/heads/../x", "refs//x", "refs/heads/x.lock", "refs/heads/.x",
		"refs/heads/x/", "refs/heads/a b", "refs/heads/a~1", "refs/heads/a^", "refs/heads/a:b", "refs/x@{1}", "/etc/passwd", "refs/heads/a\x00"} {
		if validRefName(bad) {
			t.Errorf("validRefName(%q) = true", bad)
		}
	}
}

func TestBrokenLooseRefIsError(t *testing.T) {
	dir := rdInit(t)
	rdCommit(t, dir, 1, "one", map[string]string{"a": "1\n"})
	if err := os.WriteFile(filepath.Join(dir, ".git", "refs", "heads", "bad"), []byte("zzz\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := rdOpen(t, dir)
	_, err := r.Ref("refs/heads/bad")
	if err == nil || errors.Is(err, ErrRefNotFound) || !strings.Contains(err.Error(), "refs/heads/bad") {
		t.Errorf("broken ref err = %v", err)
	}
}
