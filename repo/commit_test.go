package repo

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	wrX = ".gitseal/default/secrets/X"
	wrY = ".gitseal/default/secrets/Y"
	wrZ = ".gitseal/default/secrets/Z"
)

func wrBaseFiles() map[string]string {
	return map[string]string{
		"README.md":                    "readme\n",
		"src/a.go":                     "package a\n",
		"src/b/b.go":                   "package b\n",
		"docs/x.txt":                   "x\n",
		".gitseal/store.json":          "{}\n",
		".gitseal/default/recipients":  "age1xyz\n",
		wrX:                            "x-old\n",
		wrZ:                            "z-old\n",
		".gitseal/default/secrets/OTH": "other\n",
		".gitseal/staging/keys/K":      "k\n",
	}
}

// wrTreeListing is `git ls-tree -r` of a commit as "mode id path" lines.
func wrTreeListing(t testing.TB, dir, rev string) string {
	t.Helper()
	return wrGit(t, dir, "ls-tree", "-r", "--format=%(objectmode) %(objectname) %(path)", rev)
}

// wrIndexListing is `git ls-files -s` as "mode id path" lines.
func wrIndexListing(t testing.TB, dir string) string {
	t.Helper()
	return wrGit(t, dir, "ls-files", "--format=%(objectmode) %(objectname) %(path)")
}

func wrLooseObjects(t testing.TB, dir string) int {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, ".git", "objects", "??", "*"))
	return len(m)
}

func TestCommitChangesUnbornBranch(t *testing.T) {
	dir := wrInit(t)
	res, err := wrCommit(t, dir, CommitRequest{
		Changes: []Change{wrSet(".gitseal/store.json", "{}\n"), wrSet(wrX, "x1\n")},
		Message: "gitseal: init\n\nGitseal-Action: init\n",
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Branch != "refs/heads/main" || !res.Parent.IsZero() || res.Commit.IsZero() {
		t.Errorf("result %+v", res)
	}
	if got := wrGit(t, dir, "rev-parse", "HEAD"); got != res.Commit.String() {
		t.Errorf("HEAD = %s, want %s", got, res.Commit)
	}
	if got := wrGit(t, dir, "rev-list", "--count", "HEAD"); got != "1" {
		t.Errorf("%s commits", got)
	}
	if got := wrGit(t, dir, "log", "-1", "--format=%an <%ae>|%cn|%B"); got != "Gitseal Test <gitseal@example.com>|Gitseal Test|gitseal: init\n\nGitseal-Action: init" {
		t.Errorf("commit: %q", got)
	}
	if got := wrGit(t, dir, "reflog", "show", "--format=%gs", "HEAD"); got != "commit (initial): gitseal: init" {
		t.Errorf("reflog: %q", got)
	}
	if got := wrGit(t, dir, "reflog", "show", "--format=%gs", "main"); got != "commit (initial): gitseal: init" {
		t.Errorf("branch reflog: %q", got)
	}
	if wrRead(t, dir, wrX) != "x1\n" {
		t.Error("working-tree file not written")
	}
	wrCheckClean(t, dir)
	wrCheckTreeMatchesHead(t, dir)
	if wrIndexListing(t, dir) != wrTreeListing(t, dir, "HEAD") {
		t.Errorf("index:\n%s\ntree:\n%s", wrIndexListing(t, dir), wrTreeListing(t, dir, "HEAD"))
	}
	wrFsck(t, dir)
}

func TestCommitChangesPreservesUserWork(t *testing.T) {
	dir := wrInitWithFiles(t, wrBaseFiles())
	// The user's own work in progress, of every kind.
	wrWrite(t, dir, "src/a.go", "package a // staged\n")
	wrWrite(t, dir, "src/new.go", "package src // staged new\n")
	wrWrite(t, dir, ".gitseal/default/secrets/OTH", "other staged\n")
	wrGit(t, dir, "add", "src/a.go", "src/new.go", ".gitseal/default/secrets/OTH")
	wrWrite(t, dir, "src/a.go", "package a // staged, then edited\n")
	wrWrite(t, dir, "README.md", "readme, unstaged edit\n")
	os.Remove(filepath.Join(dir, "docs/x.txt"))
	wrWrite(t, dir, "notes.txt", "untracked\n")
	wrWrite(t, dir, ".gitseal/default/secrets/UNTRACKED", "untracked secret file\n")
	wrWrite(t, dir, ".gitseal/staging/keys/K", "k, unstaged edit\n")
	before := wrUserState(t, dir)
	oldHead := wrGit(t, dir, "rev-parse", "HEAD")
	oldIndex, _ := os.Stat(filepath.Join(dir, ".git", "index"))

	res, err := wrCommit(t, dir, CommitRequest{Changes: []Change{
		wrSet(wrX, "x-new\n"), wrSet(wrY, "y-new\n"), wrDel(wrZ),
	}})
	if err != nil {
		t.Fatal(err)
	}
	// Racy git: the new index keeps the old one's mtime (see index.go).
	if fi, _ := os.Stat(filepath.Join(dir, ".git", "index")); os.SameFile(fi, oldIndex) || !fi.ModTime().Equal(oldIndex.ModTime()) {
		t.Errorf("index mtime %v, want the old index's %v (and a new file)", fi.ModTime(), oldIndex.ModTime())
	}
	if res.Parent.String() != oldHead {
		t.Errorf("parent %s, want %s", res.Parent, oldHead)
	}
	if got := wrGit(t, dir, "diff-tree", "-r", "--name-status", "HEAD~1", "HEAD"); got != "M\t"+wrX+"\nA\t"+wrY+"\nD\t"+wrZ {
		t.Errorf("the commit changes:\n%s", got)
	}
	after := wrUserState(t, dir)
	if after != before {
		t.Errorf("user's work changed:\nbefore %+v\nafter  %+v", before, after)
	}
	wrCheckClean(t, dir, wrX, wrY, wrZ)
	if _, err := os.Stat(filepath.Join(dir, wrZ)); !os.IsNotExist(err) {
		t.Errorf("deleted file still in the working tree: %v", err)
	}
	if wrRead(t, dir, wrX) != "x-new\n" || wrRead(t, dir, wrY) != "y-new\n" {
		t.Error("working-tree files not updated")
	}
	// Committing what the user staged gives their change on top of ours.
	wrGit(t, dir, "commit", "-q", "-m", "user")
	if got := wrGit(t, dir, "diff-tree", "-r", "--name-only", "HEAD~1", "HEAD"); got != ".gitseal/default/secrets/OTH\nsrc/a.go\nsrc/new.go" {
		t.Errorf("user's commit:\n%s", got)
	}
	if got := wrGit(t, dir, "show", "HEAD:"+wrX); got != "x-new" {
		t.Errorf("user's commit lost gitseal's change: %q", got)
	}
	wrFsck(t, dir)
}

func TestCommitChangesDeleteRemovesEmptyDirectories(t *testing.T) {
	dir := wrInitWithFiles(t, wrBaseFiles())
	wrGit(t, dir, "write-tree") // a fully valid cached tree
	_, err := wrCommit(t, dir, CommitRequest{Changes: []Change{wrDel(".gitseal/staging/keys/K")}})
	if err != nil {
		t.Fatal(err)
	}
	if out, _ := wrGitErr(dir, "", "rev-parse", "--verify", "-q", "HEAD:.gitseal/staging"); out != "" {
		t.Errorf("empty directory kept in the tree: %s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, ".gitseal/staging")); !os.IsNotExist(err) {
		t.Errorf("empty directory kept in the working tree: %v", err)
	}
	wrCheckClean(t, dir)
	wrCheckTreeMatchesHead(t, dir)
	// And back, in a directory that does not exist yet.
	if _, err := wrCommit(t, dir, CommitRequest{Changes: []Change{wrSet(".gitseal/staging/keys/K", "k2\n")}}); err != nil {
		t.Fatal(err)
	}
	wrCheckClean(t, dir)
	wrCheckTreeMatchesHead(t, dir)
	// Deleting everything leaves the empty tree.
	var all []Change
	for name := range wrBaseFiles() {
		all = append(all, wrDel(name))
	}
	if _, err := wrCommit(t, dir, CommitRequest{Changes: all}); err != nil {
		t.Fatal(err)
	}
	if got := wrGit(t, dir, "rev-parse", "HEAD^{tree}"); got != "4b825dc642cb6eb9a060e54bf8d69288fbee4904" {
		t.Errorf("tree %s, want the empty tree", got)
	}
	wrCheckClean(t, dir)
	wrCheckTreeMatchesHead(t, dir)
	wrFsck(t, dir)
}

func TestCommitChangesDetachedHead(t *testing.T) {
	dir := wrInitWithFiles(t, wrBaseFiles())
	main := wrGit(t, dir, "rev-parse", "main")
	wrGit(t, dir, "checkout", "-q", "--detach")
	res, err := wrCommit(t, dir, CommitRequest{Changes: []Change{wrSet(wrX, "detached\n")}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Branch != "" {
		t.Errorf("branch %q on a detached HEAD", res.Branch)
	}
	if got := wrGit(t, dir, "rev-parse", "HEAD"); got != res.Commit.String() {
		t.Errorf("HEAD = %s", got)
	}
	if got := wrGit(t, dir, "rev-parse", "main"); got != main {
		t.Errorf("main moved")
	}
	if got := wrGit(t, dir, "reflog", "show", "-1", "--format=%gs", "HEAD"); got != "commit: gitseal: test" {
		t.Errorf("HEAD reflog %q", got)
	}
	wrCheckClean(t, dir)
	wrCheckTreeMatchesHead(t, dir)
	wrFsck(t, dir)
}

func TestCommitChangesLinkedWorktree(t *testing.T) {
	dir := wrInitWithFiles(t, wrBaseFiles())
	wt := filepath.Join(filepath.Dir(dir), filepath.Base(dir)+"-wt")
	wrGit(t, dir, "worktree", "add", "-q", "-b", "feature", wt)
	t.Cleanup(func() { os.RemoveAll(wt) })
	if fi, err := os.Lstat(filepath.Join(wt, ".git")); err != nil || !fi.Mode().IsRegular() {
		t.Fatalf(".git of the linked worktree: %v", err)
	}
	mainState := wrUserState(t, dir)
	mainHead := wrGit(t, dir, "rev-parse", "HEAD")
	res, err := wrCommit(t, wt, CommitRequest{Changes: []Change{wrSet(wrX, "in worktree\n"), wrSet(wrY, "y\n")}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Branch != "refs/heads/feature" {
		t.Errorf("branch %q", res.Branch)
	}
	if got := wrGit(t, wt, "rev-parse", "HEAD"); got != res.Commit.String() {
		t.Errorf("worktree HEAD %s", got)
	}
	if got := wrGit(t, dir, "rev-parse", "HEAD"); got != mainHead {
		t.Errorf("main worktree's HEAD moved")
	}
	if got := wrUserState(t, dir); got != mainState {
		t.Errorf("main worktree changed: %+v", got)
	}
	if got := wrGit(t, wt, "reflog", "show", "-1", "--format=%gs", "HEAD"); got != "commit: gitseal: test" {
		t.Errorf("worktree HEAD reflog %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, ".git", "logs", "HEAD")); err == nil {
		if strings.Contains(wrGit(t, dir, "reflog", "show", "--format=%gs", "HEAD"), "gitseal: test") {
			t.Error("main worktree's HEAD reflog got the linked worktree's commit")
		}
	}
	wrCheckClean(t, wt)
	wrCheckTreeMatchesHead(t, wt)
	wrFsck(t, dir)
}

func TestCommitChangesBareRepository(t *testing.T) {
	src := wrInitWithFiles(t, wrBaseFiles())
	dir, _ := filepath.EvalSymlinks(t.TempDir())
	wrGit(t, dir, "clone", "-q", "--bare", src, "b.git")
	bare := filepath.Join(dir, "b.git")
	wrGit(t, bare, "config", "user.name", "Bare")
	wrGit(t, bare, "config", "user.email", "bare@example.com")
	res, err := wrCommit(t, bare, CommitRequest{Changes: []Change{wrSet(wrX, "bare\n")}})
	if err != nil {
		t.Fatal(err)
	}
	if got := wrGit(t, bare, "show", "main:"+wrX); got != "bare" {
		t.Errorf("got %q", got)
	}
	if _, err := os.Stat(filepath.Join(bare, "index")); !os.IsNotExist(err) {
		t.Errorf("bare repository got an index: %v", err)
	}
	if res.Commit.String() != wrGit(t, bare, "rev-parse", "main") {
		t.Error("main not moved")
	}
	wrFsck(t, bare)
}

func TestCommitChangesRefusesDirtyPaths(t *testing.T) {
	for _, tc := range []struct {
		name   string
		setup  func(t *testing.T, dir string)
		change Change
		want   string
	}{
		{"unstaged edit", func(t *testing.T, dir string) { wrWrite(t, dir, wrX, "my edit\n") },
			wrSet(wrX, "new\n"), wrX + " has uncommitted changes; commit or discard them first (git checkout -- " + wrX + ")"},
		{"unstaged edit, delete", func(t *testing.T, dir string) { wrWrite(t, dir, wrX, "my edit\n") },
			wrDel(wrX), "has uncommitted changes"},
		{"staged edit", func(t *testing.T, dir string) {
			wrWrite(t, dir, wrX, "my edit\n")
			wrGit(t, dir, "add", wrX)
			wrWrite(t, dir, wrX, "x-old\n")
		}, wrSet(wrX, "new\n"), "has staged changes; commit or discard them first (git checkout HEAD -- " + wrX + ")"},
		{"staged removal", func(t *testing.T, dir string) { wrGit(t, dir, "rm", "-q", "--cached", wrX) },
			wrSet(wrX, "new\n"), "has staged changes"},
		{"untracked file in the way", func(t *testing.T, dir string) { wrWrite(t, dir, wrY, "mine\n") },
			wrSet(wrY, "new\n"), wrY + " exists in the working tree but is not tracked"},
		{"directory in the way", func(t *testing.T, dir string) { wrWrite(t, dir, wrY+"/inner", "mine\n") },
			wrSet(wrY, "new\n"), "cannot be written"},
		{"staged new file", func(t *testing.T, dir string) {
			wrWrite(t, dir, wrY, "mine\n")
			wrGit(t, dir, "add", wrY)
		}, wrSet(wrY, "new\n"), "has staged changes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := wrInitWithFiles(t, wrBaseFiles())
			tc.setup(t, dir)
			index, _ := os.ReadFile(filepath.Join(dir, ".git", "index"))
			head := wrGit(t, dir, "rev-parse", "HEAD")
			objects := wrLooseObjects(t, dir)
			state := wrUserState(t, dir)
			index2, _ := os.ReadFile(filepath.Join(dir, ".git", "index")) // status may refresh it
			_, err := wrCommit(t, dir, CommitRequest{Changes: []Change{wrSet(".gitseal/default/secrets/OTH", "fine\n"), tc.change}})
			var de *DirtyPathError
			if !errors.Is(err, ErrDirtyPath) || !errors.As(err, &de) || de.Path != tc.change.Path || !strings.HasPrefix(err.Error(), tc.change.Path) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a DirtyPathError for %s saying %q", err, tc.change.Path, tc.want)
			}
			if got := wrGit(t, dir, "rev-parse", "HEAD"); got != head {
				t.Error("HEAD moved")
			}
			if got := wrLooseObjects(t, dir); got != objects {
				t.Errorf("%d new objects written", got-objects)
			}
			if b, _ := os.ReadFile(filepath.Join(dir, ".git", "index")); !bytes.Equal(b, index2) && !bytes.Equal(b, index) {
				t.Error("index changed")
			}
			if got := wrUserState(t, dir); got != state {
				t.Errorf("user state changed: %+v", got)
			}
			if _, err := os.Stat(filepath.Join(dir, ".git", "index.lock")); !os.IsNotExist(err) {
				t.Errorf("index.lock left: %v", err)
			}
			if _, err := os.Stat(filepath.Join(dir, ".git", journalName)); !os.IsNotExist(err) {
				t.Errorf("journal left: %v", err)
			}
		})
	}
}

func TestCommitChangesAcceptsContentAlreadyNew(t *testing.T) {
	dir := wrInitWithFiles(t, wrBaseFiles())
	// An untracked file, or an unstaged edit, that already holds exactly the
	// new content is not in the way.
	wrWrite(t, dir, wrY, "y\n")
	wrWrite(t, dir, wrX, "x2\n")
	if _, err := wrCommit(t, dir, CommitRequest{Changes: []Change{wrSet(wrX, "x2\n"), wrSet(wrY, "y\n")}}); err != nil {
		t.Fatal(err)
	}
	wrCheckClean(t, dir)
	wrCheckTreeMatchesHead(t, dir)
}

func TestCommitChangesExpectAndUnchanged(t *testing.T) {
	dir := wrInitWithFiles(t, wrBaseFiles())
	head, _ := ParseHash(wrGit(t, dir, "rev-parse", "HEAD"))
	stale := wrCommitTree(t, dir, "elsewhere")
	index, _ := os.ReadFile(filepath.Join(dir, ".git", "index"))
	_, err := wrCommit(t, dir, CommitRequest{Changes: []Change{wrSet(wrX, "new\n")}, Expect: stale, ExpectSet: true})
	if !errors.Is(err, ErrRefChanged) {
		t.Fatalf("stale Expect: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, ".git", "index")); !bytes.Equal(b, index) || wrRead(t, dir, wrX) != "x-old\n" {
		t.Error("index or working tree changed")
	}
	res, err := wrCommit(t, dir, CommitRequest{Changes: []Change{wrSet(wrX, "x-old\n")}, Expect: head, ExpectSet: true})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Unchanged || res.Commit != head {
		t.Errorf("same value: %+v", res)
	}
	if got := wrGit(t, dir, "rev-parse", "HEAD"); got != head.String() {
		t.Error("a commit was made")
	}
	_, err = wrCommit(t, dir, CommitRequest{Changes: []Change{wrSet(wrX, "n\n")}, Expect: ZeroHash, ExpectSet: true})
	if !errors.Is(err, ErrRefChanged) {
		t.Fatalf("Expect unborn on a born branch: %v", err)
	}
}

func TestCommitChangesStage(t *testing.T) {
	dir := wrInitWithFiles(t, wrBaseFiles())
	head := wrGit(t, dir, "rev-parse", "HEAD")
	wrWrite(t, dir, "src/a.go", "package a // unstaged\n")
	for _, v := range []string{"staged 1\n", "staged 2\n"} { // restaging overwrites, as git add does
		res, err := wrCommit(t, dir, CommitRequest{Changes: []Change{wrSet(wrX, v), wrSet(wrY, v)}, Stage: true})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Commit.IsZero() || res.Parent.String() != head {
			t.Errorf("result %+v", res)
		}
	}
	if got := wrGit(t, dir, "rev-parse", "HEAD"); got != head {
		t.Error("Stage moved HEAD")
	}
	if got := wrGit(t, dir, "diff", "--cached", "--name-only"); got != wrX+"\n"+wrY {
		t.Errorf("staged: %q", got)
	}
	if got := wrGit(t, dir, "diff", "--name-only"); got != "src/a.go" {
		t.Errorf("unstaged: %q", got)
	}
	if out := wrGit(t, dir, "diff-files", "--name-only", "--", wrX, wrY); out != "" {
		t.Errorf("unstaged changes (no refresh) for %s", out)
	}
	wrGit(t, dir, "commit", "-q", "-m", "user commit with the secret")
	if got := wrGit(t, dir, "show", "HEAD:"+wrY); got != "staged 2" {
		t.Errorf("committed %q", got)
	}
}

func TestCommitChangesKeepsExecutableMode(t *testing.T) {
	dir := wrInitWithFiles(t, wrBaseFiles())
	wrGit(t, dir, "update-index", "--chmod=+x", wrX)
	os.Chmod(filepath.Join(dir, wrX), 0o755)
	wrGit(t, dir, "commit", "-q", "-m", "exec")
	if _, err := wrCommit(t, dir, CommitRequest{Changes: []Change{wrSet(wrX, "exec\n")}}); err != nil {
		t.Fatal(err)
	}
	if got := wrGit(t, dir, "ls-tree", "HEAD", wrX); !strings.HasPrefix(got, "100755 ") {
		t.Errorf("mode: %s", got)
	}
	wrCheckClean(t, dir)
}

func TestCommitChangesRequiresLock(t *testing.T) {
	dir := wrInitWithFiles(t, wrBaseFiles())
	r := wrOpen(t, dir)
	if _, err := r.CommitChanges(context.Background(), CommitRequest{Changes: []Change{wrSet(wrX, "v\n")}, Message: "m"}); err == nil || !strings.Contains(err.Error(), "lock") {
		t.Fatalf("without the lock: %v", err)
	}
	for _, bad := range []string{"", "/abs", "a//b", "a/../b", ".git/config", "a/.GIT/x", "dir/"} {
		_, err := wrCommit(t, dir, CommitRequest{Changes: []Change{wrSet(bad, "v")}})
		if err == nil || !strings.Contains(err.Error(), "invalid path") {
			t.Errorf("path %q: %v", bad, err)
		}
	}
	if _, err := wrCommit(t, dir, CommitRequest{Changes: []Change{wrSet("a", "1"), wrSet("a/b", "2")}}); err == nil {
		t.Error("file and directory at once accepted")
	}
}

func TestCommitChangesNoIdentity(t *testing.T) {
	wrIsolateIdentity(t)
	dir := wrInitWithFiles(t, wrBaseFiles())
	wrGit(t, dir, "config", "--unset", "user.name")
	head := wrGit(t, dir, "rev-parse", "HEAD")
	_, err := wrCommit(t, dir, CommitRequest{Changes: []Change{wrSet(wrX, "v\n")}})
	if !errors.Is(err, ErrNoIdentity) || !strings.Contains(err.Error(), `git config --global user.name "Your Name"`) {
		t.Fatalf("err = %v", err)
	}
	if got := wrGit(t, dir, "rev-parse", "HEAD"); got != head {
		t.Error("HEAD moved")
	}
}

func TestCommitOnRef(t *testing.T) {
	dir := wrInitWithFiles(t, wrBaseFiles())
	r := wrOpen(t, dir)
	index, _ := os.ReadFile(filepath.Join(dir, ".git", "index"))
	ctx := context.Background()
	l, err := r.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	c1, err := r.CommitOnRef(ctx, "refs/gitseal/audit", []Change{wrSet("events/0001.json", "{\"n\":1}\n")}, "audit: reveal X")
	if err != nil {
		t.Fatal(err)
	}
	c2, err := r.CommitOnRef(ctx, "refs/gitseal/audit", []Change{wrSet("events/0002.json", "{\"n\":2}\n")}, "audit: reveal Y")
	if err != nil {
		t.Fatal(err)
	}
	if got := wrGit(t, dir, "rev-parse", "refs/gitseal/audit^"); got != c1.String() {
		t.Errorf("parent of %s is %s, want %s", c2, got, c1)
	}
	if got := wrGit(t, dir, "ls-tree", "-r", "--name-only", "refs/gitseal/audit"); got != "events/0001.json\nevents/0002.json" {
		t.Errorf("tree: %q", got)
	}
	c3, err := r.CommitOnRef(ctx, "refs/gitseal/audit", []Change{wrSet("events/0002.json", "{\"n\":2}\n")}, "no-op")
	if err != nil || c3 != c2 {
		t.Errorf("unchanged tree: %s %v", c3, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, ".git", "index")); !bytes.Equal(b, index) {
		t.Error("CommitOnRef touched the index")
	}
	if got := wrGit(t, dir, "status", "--porcelain"); got != "" {
		t.Errorf("status: %q", got)
	}
	if _, err := r.CommitOnRef(ctx, "HEAD", []Change{wrSet("x", "1")}, "m"); err == nil {
		t.Error("CommitOnRef on HEAD accepted")
	}
	wrFsck(t, dir)
}

// Another writer moves the branch between gitseal reading the tip and
// moving it: the compare-and-swap fails, and the index, working tree and
// the other writer's ref stay as they are.
func TestCommitChangesLosesRace(t *testing.T) {
	dir := wrInitWithFiles(t, wrBaseFiles())
	other := wrCommitTree(t, dir, "the other writer", "HEAD")
	index, _ := os.ReadFile(filepath.Join(dir, ".git", "index"))
	testHook = func(point string) {
		if point == "before-ref" {
			wrGit(t, dir, "update-ref", "refs/heads/main", other.String())
		}
	}
	defer func() { testHook = nil }()
	_, err := wrCommit(t, dir, CommitRequest{Changes: []Change{wrSet(wrX, "lost\n")}})
	if !errors.Is(err, ErrRefChanged) {
		t.Fatalf("err = %v", err)
	}
	if got := wrGit(t, dir, "rev-parse", "main"); got != other.String() {
		t.Errorf("main = %s, want the other writer's %s", got, other)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, ".git", "index")); !bytes.Equal(b, index) || wrRead(t, dir, wrX) != "x-old\n" {
		t.Error("index or working tree changed")
	}
	for _, f := range []string{"index.lock", "refs/heads/main.lock", journalName} {
		if _, err := os.Stat(filepath.Join(dir, ".git", f)); !os.IsNotExist(err) {
			t.Errorf("%s left: %v", f, err)
		}
	}
	testHook = nil
	if _, err := wrCommit(t, dir, CommitRequest{Changes: []Change{wrSet(wrX, "won\n")}}); err != nil {
		t.Fatal(err)
	}
	if got := wrGit(t, dir, "rev-parse", "HEAD~1"); got != other.String() {
		t.Errorf("next commit's parent %s", got)
	}
}

// Packed objects and a branch that lives only in packed-refs.
func TestCommitChangesPackedRepository(t *testing.T) {
	dir := wrInitWithFiles(t, wrBaseFiles())
	wrGit(t, dir, "gc", "-q")
	if _, err := os.Stat(filepath.Join(dir, ".git", "refs", "heads", "main")); !os.IsNotExist(err) {
		t.Fatalf("fixture: main still loose (%v)", err)
	}
	head := wrGit(t, dir, "rev-parse", "HEAD")
	res, err := wrCommit(t, dir, CommitRequest{Changes: []Change{wrSet(wrX, "packed\n"), wrDel(wrZ)}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Parent.String() != head || wrGit(t, dir, "rev-parse", "HEAD~1") != head {
		t.Errorf("parent %s, want %s", res.Parent, head)
	}
	wrCheckClean(t, dir)
	wrCheckTreeMatchesHead(t, dir)
	wrFsck(t, dir)
}
