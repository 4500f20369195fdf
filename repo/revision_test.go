package repo

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestResolveCommitAgreesWithGit(t *testing.T) {
	t.Parallel()
	dir := rdInit(t)
	c1 := rdCommit(t, dir, 1, "one", map[string]string{"a": "1\n"})
	rdGit(t, dir, "tag", "-a", "-m", "first", "v1")
	rdGit(t, dir, "tag", "-a", "-m", "tag of tag", "vv1", "v1")
	rdGit(t, dir, "branch", "side")
	rdCommit(t, dir, 2, "two", map[string]string{"a": "2\n"})
	rdGit(t, dir, "checkout", "-q", "side")
	rdCommit(t, dir, 3, "side", map[string]string{"b": "b\n"})
	rdGit(t, dir, "checkout", "-q", "main")
	rdGitEnv(t, dir, []string{"GIT_COMMITTER_DATE=1577836804 +0100"}, "", "merge", "-q", "--no-ff", "-m", "merge", "side")
	rdGit(t, dir, "update-ref", "refs/remotes/origin/main", c1)
	rdGit(t, dir, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/main")
	rdGit(t, dir, "gc", "-q") // packed refs and objects
	r := rdOpen(t, dir)

	for _, rev := range []string{
		"HEAD", "@", "main", "side", "v1", "vv1", "refs/tags/v1", "tags/v1", "heads/main",
		"origin/main", "origin", "refs/heads/main", c1, c1[:7], c1[:4],
		"HEAD~", "HEAD~1", "HEAD^", "HEAD^1", "HEAD^2", "HEAD^2~1", "HEAD~2", "HEAD^^", "@~1",
		"HEAD^0", "v1^{commit}", "vv1^{}", "v1~0", "main^{commit}~1", "HEAD^{commit}^2",
		strings.ToUpper(c1[:8]),
	} {
		want := rdGit(t, dir, "rev-parse", "--verify", "-q", rev+"^{commit}")
		got, err := r.ResolveCommit(rev)
		if err != nil || got.String() != want {
			t.Errorf("ResolveCommit(%q) = %s, %v; git says %s", rev, got, err, want)
		}
	}
	for _, rev := range []string{"v9", "HEAD~9", "HEAD^3", "HEAD^{tree}", "HEAD:a", "HEAD@{0}", "", "^", "0000",
		"HEAD^{blob}", "nosuch~1", rdGit(t, dir, "rev-parse", "HEAD:a"), "deadbeefdeadbeefdeadbeefdeadbeefdeadbeef"} {
		_, err := r.ResolveCommit(rev)
		if !errors.Is(err, ErrRevisionNotFound) {
			t.Errorf("ResolveCommit(%q) err = %v, want ErrRevisionNotFound", rev, err)
		}
	}
	_, err := r.ResolveCommit("v9")
	if err == nil || err.Error() != `unknown revision "v9"` {
		t.Errorf("error text %q", err)
	}
	blob := rdGit(t, dir, "rev-parse", "HEAD:a")
	_, err = r.ResolveCommit(blob)
	if err == nil || !strings.Contains(err.Error(), "blob") {
		t.Errorf("blob revision error %q should say what it is", err)
	}
}

func TestResolveAmbiguousPrefix(t *testing.T) {
	t.Parallel()
	dir := rdInit(t)
	// 1000 blobs: some 4-digit prefixes are bound to collide.
	var stream strings.Builder
	for i := 0; i < 1000; i++ {
		text := "blob number " + strconv.Itoa(i) + "\n"
		fmt.Fprintf(&stream, "blob\ndata %d\n%s\n", len(text), text)
	}
	rdGitEnv(t, dir, nil, stream.String(), "fast-import", "--quiet")
	objs := rdAllObjects(t, dir)
	byPrefix := map[string][]Hash{}
	for h := range objs {
		byPrefix[h.String()[:4]] = append(byPrefix[h.String()[:4]], h)
	}
	var ambiguous, unique string
	for prefix, hs := range byPrefix {
		if len(hs) > 1 && ambiguous == "" {
			ambiguous = prefix
		}
		if len(hs) == 1 && unique == "" {
			unique = prefix
		}
	}
	if ambiguous == "" || unique == "" {
		t.Fatal("fixture has no ambiguous or no unique 4-digit prefix")
	}
	check := func(state string) {
		r := rdOpen(t, dir)
		_, err := r.ResolveCommit(ambiguous)
		if err == nil || errors.Is(err, ErrRevisionNotFound) || !strings.Contains(err.Error(), "ambiguous") {
			t.Errorf("%s: ResolveCommit(%s) with %d candidates: err = %v", state, ambiguous, len(byPrefix[ambiguous]), err)
		}
		// A unique prefix of a blob names something, but not a commit.
		_, err = r.ResolveCommit(unique)
		if !errors.Is(err, ErrRevisionNotFound) || !strings.Contains(err.Error(), "blob") {
			t.Errorf("%s: ResolveCommit(%s) (a blob) err = %v", state, unique, err)
		}
	}
	check("packed")
	packs, _ := filepath.Glob(filepath.Join(dir, ".git", "objects", "pack", "pack-*.pack"))
	for _, p := range packs {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		os.Remove(p)
		os.Remove(strings.TrimSuffix(p, ".pack") + ".idx")
		rdGitEnv(t, dir, nil, string(b), "unpack-objects", "-q")
	}
	check("loose")
}
