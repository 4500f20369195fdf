package repo

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func wrCommitTree(t testing.TB, dir, msg string, parents ...string) Hash {
	t.Helper()
	args := []string{"commit-tree", wrGit(t, dir, "write-tree"), "-m", msg}
	for _, p := range parents {
		args = append(args, "-p", p)
	}
	h, err := ParseHash(wrGit(t, dir, args...))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestUpdateRefCompareAndSwap(t *testing.T) {
	dir := wrInit(t)
	r := wrOpen(t, dir)
	c1 := wrCommitTree(t, dir, "one")
	c2 := wrCommitTree(t, dir, "two", c1.String())
	c3 := wrCommitTree(t, dir, "three", c2.String())
	const ref = "refs/gitseal/pins/production"

	// Create: old zero means "must not exist".
	if err := r.UpdateRef(ref, c1, ZeroHash, "publish: production"); err != nil {
		t.Fatal(err)
	}
	if err := r.UpdateRef(ref, c2, ZeroHash, "x"); !errors.Is(err, ErrRefChanged) {
		t.Fatalf("create over existing: %v", err)
	}
	if err := r.UpdateRef(ref, c3, c2, "x"); !errors.Is(err, ErrRefChanged) {
		t.Fatalf("wrong old value: %v", err)
	}
	if got := wrGit(t, dir, "rev-parse", ref); got != c1.String() {
		t.Fatalf("after failed CAS the ref is %s", got)
	}
	if err := r.UpdateRef(ref, c2, c1, "publish: production again"); err != nil {
		t.Fatal(err)
	}
	if got := wrGit(t, dir, "rev-parse", ref); got != c2.String() {
		t.Fatalf("ref is %s, want %s", got, c2)
	}
	if _, err := os.Stat(filepath.Join(dir, ".git", ref+".lock")); !os.IsNotExist(err) {
		t.Errorf("lock file left: %v", err)
	}

	// Packed: CAS reads packed-refs; delete removes it from there too.
	wrGit(t, dir, "pack-refs", "--all")
	if err := r.UpdateRef(ref, c3, c1, "x"); !errors.Is(err, ErrRefChanged) {
		t.Fatalf("CAS against packed value: %v", err)
	}
	if err := r.UpdateRef(ref, c3, c2, "packed update"); err != nil {
		t.Fatal(err)
	}
	wrGit(t, dir, "pack-refs", "--all")
	if err := r.UpdateRef(ref, ZeroHash, c3, "unpublish"); err != nil {
		t.Fatal(err)
	}
	if out, err := wrGitErr(dir, "", "rev-parse", "--verify", "-q", ref); err == nil {
		t.Fatalf("deleted ref still resolves: %s", out)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, ".git", "packed-refs")); strings.Contains(string(b), ref) {
		t.Errorf("packed-refs still names %s:\n%s", ref, b)
	}
	if err := r.UpdateRef(ref, c1, ZeroHash, "again"); err != nil {
		t.Fatalf("recreate after delete: %v", err)
	}
	// A git lock file held by "git" (not registered by gitseal) is never
	// taken over.
	defer func(d time.Duration) { refLockTimeout = d }(refLockTimeout)
	refLockTimeout = 200 * time.Millisecond
	os.WriteFile(filepath.Join(dir, ".git", ref+".lock"), nil, 0o644)
	start := time.Now()
	if err := r.UpdateRef(ref, c2, c1, "x"); !errors.Is(err, ErrGitLocked) {
		t.Fatalf("with a foreign lock file: %v", err)
	} else if time.Since(start) < refLockTimeout/2 {
		t.Errorf("gave up after %v without waiting", time.Since(start))
	}
	wrFsck(t, dir)
}

func TestUpdateRefReflogAsGit(t *testing.T) {
	dir := wrInit(t)
	r := wrOpen(t, dir)
	c1 := wrCommitTree(t, dir, "one")
	c2 := wrCommitTree(t, dir, "two", c1.String())
	t.Setenv("GIT_COMMITTER_NAME", "Ref  Writer")
	t.Setenv("GIT_COMMITTER_EMAIL", "ref@example.com")
	t.Setenv("GIT_COMMITTER_DATE", "@1700000000 +0200")
	// HEAD points at main (unborn): updating main logs to HEAD too.
	if err := r.UpdateRef("refs/heads/main", c1, ZeroHash, "commit (initial): one"); err != nil {
		t.Fatal(err)
	}
	// Through the symbolic ref HEAD.
	if err := r.UpdateRef("HEAD", c2, c1, "commit:   two\nmore"); err != nil {
		t.Fatal(err)
	}
	want := c1.String() + " " + c2.String() + " Ref  Writer <ref@example.com> 1700000000 +0200\tcommit: two more\n"
	for _, log := range []string{"logs/HEAD", "logs/refs/heads/main"} {
		b, err := os.ReadFile(filepath.Join(dir, ".git", log))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.SplitAfter(string(b), "\n")
		if len(lines) != 3 || lines[1] != want {
			t.Errorf("%s:\n%s\nwant second line\n%s", log, b, want)
		}
	}
	if got := wrGit(t, dir, "reflog", "show", "--format=%H %gs", "main"); got != c2.String()+" commit: two more\n"+c1.String()+" commit (initial): one" {
		t.Errorf("git reflog:\n%s", got)
	}
	if got := wrGit(t, dir, "rev-parse", "main@{1}"); got != c1.String() {
		t.Errorf("main@{1} = %s", got)
	}
	// refs/gitseal is not logged unless asked for (core.logAllRefUpdates).
	if err := r.UpdateRef("refs/gitseal/audit", c1, ZeroHash, "audit"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".git", "logs", "refs", "gitseal")); !os.IsNotExist(err) {
		t.Errorf("reflog created for refs/gitseal: %v", err)
	}
	wrGit(t, dir, "config", "core.logAllRefUpdates", "always")
	if err := r.UpdateRef("refs/gitseal/audit", c2, c1, "audit 2"); err != nil {
		t.Fatal(err)
	}
	if got := wrGit(t, dir, "reflog", "show", "--format=%gs", "refs/gitseal/audit"); got != "audit 2" {
		t.Errorf("reflog with logAllRefUpdates=always: %q", got)
	}
	wrFsck(t, dir)
}

func TestUpdateRefDetachedHead(t *testing.T) {
	dir := wrInit(t)
	c1 := wrCommitTree(t, dir, "one")
	c2 := wrCommitTree(t, dir, "two", c1.String())
	wrGit(t, dir, "update-ref", "refs/heads/main", c1.String())
	wrGit(t, dir, "checkout", "-q", "--detach", "main")
	r := wrOpen(t, dir)
	if err := r.UpdateRef("HEAD", c2, c1, "detached move"); err != nil {
		t.Fatal(err)
	}
	if got := wrGit(t, dir, "rev-parse", "HEAD"); got != c2.String() {
		t.Errorf("HEAD = %s", got)
	}
	if got := wrGit(t, dir, "rev-parse", "main"); got != c1.String() {
		t.Errorf("main moved to %s", got)
	}
	if got := wrGit(t, dir, "reflog", "show", "-1", "--format=%gs", "HEAD"); got != "detached move" {
		t.Errorf("HEAD reflog: %q", got)
	}
}

// A <ref>.lock left by a gitseal killed while it held the gitseal lock is
// removed by the next Lock; one with another inode (a live git's) is not.
func TestLockRecoversStaleGitLocks(t *testing.T) {
	dir := wrInit(t)
	r := wrOpen(t, dir)
	c1 := wrCommitTree(t, dir, "one")
	l, err := r.Lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, ".git", "refs", "gitseal", "x")
	os.MkdirAll(filepath.Dir(path), 0o755)
	lk, err := r.acquireGitLock(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	lk.f.Close() // as if killed now: the lock file stays
	heldLocks.Lock()
	delete(heldLocks.m, l.key)
	heldLocks.Unlock()
	l.j.close()
	l.f.Close()

	foreign := filepath.Join(dir, ".git", "refs", "gitseal", "y.lock")
	os.WriteFile(foreign, nil, 0o644)
	if _, err := os.Stat(path + ".lock"); err != nil {
		t.Fatal(err)
	}
	l2, err := r.Lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Unlock()
	if _, err := os.Stat(path + ".lock"); !os.IsNotExist(err) {
		t.Errorf("stale lock not removed: %v", err)
	}
	if _, err := os.Stat(foreign); err != nil {
		t.Errorf("foreign lock removed: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".git", journalName)); !os.IsNotExist(err) {
		t.Errorf("journal left after recovery: %v", err)
	}
	if err := r.UpdateRef("refs/gitseal/x", c1, ZeroHash, "after recovery"); err != nil {
		t.Fatal(err)
	}
	matches, _ := filepath.Glob(filepath.Join(dir, ".git", "refs", "gitseal", "*gitseal-*"))
	if len(matches) != 0 {
		t.Errorf("temporary lock names left: %v", matches)
	}
}
