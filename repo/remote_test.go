package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Helpers for the remote tests (prefix rm).

func rmEnv(home string) []string {
	return append(os.Environ(),
		"HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=A U Thor", "GIT_AUTHOR_EMAIL=author@example.com",
		"GIT_COMMITTER_NAME=C O Mitter", "GIT_COMMITTER_EMAIL=committer@example.com",
	)
}

func rmGit(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = rmEnv(dir)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %v in %s: %v\n%s", args, dir, err, stderr.String())
	}
	return strings.TrimRight(string(out), "\n")
}

// rmRepo makes a repository with a branch of n commits and a separate
// chain of k commits at refs/gitseal/publish/prod (each holding one file),
// with refs/gitseal/pins/prod at the branch tip.
func rmRepo(t testing.TB, n, k int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "local")
	rmGit(t, filepath.Dir(dir), "init", "-q", "-b", "main", dir)
	for i := 0; i < n; i++ {
		os.MkdirAll(filepath.Join(dir, "src", fmt.Sprint(i%3)), 0o755)
		os.WriteFile(filepath.Join(dir, "src", fmt.Sprint(i%3), "f.txt"), []byte(fmt.Sprintf("file %d\n", i)), 0o644)
		os.WriteFile(filepath.Join(dir, "common.txt"), []byte(strings.Repeat("common line\n", 50)+fmt.Sprint(i)), 0o644)
		rmGit(t, dir, "add", "-A")
		rmGit(t, dir, "commit", "-q", "-m", fmt.Sprintf("c%d", i))
	}
	rmChain(t, dir, "refs/gitseal/publish/prod", k)
	rmGit(t, dir, "update-ref", "refs/gitseal/pins/prod", "HEAD")
	return dir
}

// rmChain adds k commits, each holding a file "record", on ref.
func rmChain(t testing.TB, dir, ref string, k int) string {
	t.Helper()
	parent, _ := exec.Command("git", "-C", dir, "rev-parse", "-q", "--verify", ref).Output()
	tip := strings.TrimSpace(string(parent))
	for i := 0; i < k; i++ {
		blob := rmGitIn(t, dir, fmt.Sprintf("record %s %d %d\n", ref, i, time.Now().UnixNano()), "hash-object", "-w", "--stdin")
		tree := rmGitIn(t, dir, "100644 blob "+blob+"\trecord\n", "mktree")
		args := []string{"commit-tree", tree, "-m", fmt.Sprint("record ", i)}
		if tip != "" {
			args = append(args, "-p", tip)
		}
		tip = rmGit(t, dir, args...)
	}
	if tip != "" {
		rmGit(t, dir, "update-ref", ref, tip)
	}
	return tip
}

func rmGitIn(t testing.TB, dir, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = rmEnv(dir)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %v: %v", args, err)
	}
	return strings.TrimSpace(string(out))
}

func rmBare(t testing.TB, parent, name string) string {
	t.Helper()
	dir := filepath.Join(parent, name)
	rmGit(t, parent, "init", "-q", "--bare", "-b", "main", dir)
	return dir
}

func rmFsck(t testing.TB, dir string) {
	t.Helper()
	cmd := exec.Command("git", "fsck", "--strict", "--no-progress", "--no-dangling")
	cmd.Dir = dir
	cmd.Env = rmEnv(dir)
	out, err := cmd.CombinedOutput()
	var problems []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" && !strings.HasPrefix(l, "notice: HEAD points to an unborn branch") {
			problems = append(problems, l)
		}
	}
	if err != nil || len(problems) > 0 {
		t.Fatalf("git fsck in %s: %v\n%s", dir, err, out)
	}
}

func rmHash(t testing.TB, s string) Hash {
	t.Helper()
	h, err := ParseHash(strings.TrimSpace(s))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// rmLsRemote is `git ls-remote URL PATTERN` as a map.
func rmLsRemote(t testing.TB, dir, url string, patterns ...string) map[string]string {
	t.Helper()
	out := rmGit(t, dir, append([]string{"ls-remote", url}, patterns...)...)
	m := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if h, name, ok := strings.Cut(l, "\t"); ok {
			m[name] = h
		}
	}
	return m
}

// rmDaemon starts `git daemon` serving base on 127.0.0.1 with receive-pack
// enabled, and returns the git:// URL prefix. It is stopped when the test
// ends. Tests skip only when git daemon is not installed.
func rmDaemon(t testing.TB, base string) string {
	t.Helper()
	execPath, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Skipf("git daemon tests skipped: git --exec-path: %v", err)
	}
	if _, err := os.Stat(filepath.Join(strings.TrimSpace(string(execPath)), "git-daemon")); err != nil {
		t.Skip("git daemon tests skipped: git-daemon is not installed")
	}
	for attempt := 0; attempt < 5; attempt++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		cmd := exec.Command("git", "daemon", "--export-all", "--enable=receive-pack", "--reuseaddr",
			"--listen=127.0.0.1", fmt.Sprintf("--port=%d", port), "--base-path="+base, base)
		cmd.Env = rmEnv(base)
		// No pipes: the daemon's children would hold them open after it
		// is killed, and Wait would wait for them.
		cmd.WaitDelay = time.Second
		// Its own process group: `git daemon` runs git-daemon as a child,
		// which killing the parent alone would leave running.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting git daemon: %v", err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			select {
			case <-exited:
				deadline = time.Time{} // port taken meanwhile: try another
				continue
			default:
			}
			if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
				c.Close()
				t.Cleanup(func() {
					syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
					<-exited
				})
				return fmt.Sprintf("git://127.0.0.1:%d", port)
			}
			time.Sleep(20 * time.Millisecond)
		}
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
	t.Fatalf("git daemon did not start")
	return ""
}

// rmTransports runs fn with a bare remote reached over file:// and over
// git daemon.
func rmTransports(t *testing.T, fn func(t *testing.T, bare, url string)) {
	t.Run("file", func(t *testing.T) {
		bare := rmBare(t, t.TempDir(), "remote.git")
		fn(t, bare, "file://"+bare)
	})
	t.Run("daemon", func(t *testing.T) {
		base := t.TempDir()
		bare := rmBare(t, base, "remote.git")
		fn(t, bare, rmDaemon(t, base)+"/remote.git")
	})
}

// TestPushFetchRoundTrip: rmWireRoundTrip over file:// and git://.
func TestPushFetchRoundTrip(t *testing.T) { rmTransports(t, rmWireRoundTrip) }

// TestPushSendsOnlyMissing: with the branch already on the remote, pushing
// a pin at the branch tip sends no object, and pushing a pin at a new
// commit sends exactly what `git rev-list --objects new --not remote` lists.
func TestPushSendsOnlyMissing(t *testing.T) {
	ctx := context.Background()
	local := rmRepo(t, 5, 1)
	bare := rmBare(t, t.TempDir(), "remote.git")
	rmGit(t, local, "push", "-q", bare, "main")
	r, err := Open(local)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	head := rmHash(t, rmGit(t, local, "rev-parse", "HEAD"))
	res, err := r.Push(ctx, bare, func(map[string]Hash) ([]RefUpdate, error) {
		return []RefUpdate{{Name: "refs/gitseal/pins/prod", New: head}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Objects != 0 {
		t.Errorf("pin at a commit the remote has: sent %d objects, want 0", res.Objects)
	}
	os.WriteFile(filepath.Join(local, "new.txt"), []byte("new\n"), 0o644)
	rmGit(t, local, "add", "new.txt")
	rmGit(t, local, "commit", "-q", "-m", "new")
	rmGit(t, local, "commit", "-q", "--allow-empty", "-m", "empty")
	next := rmHash(t, rmGit(t, local, "rev-parse", "HEAD"))
	want := strings.Split(rmGit(t, local, "rev-list", "--objects", "HEAD", "--not", head.String()), "\n")
	got, err := r.objectsToSend([]Hash{next}, []Hash{head})
	if err != nil {
		t.Fatal(err)
	}
	var wantIDs, gotIDs []string
	for _, l := range want {
		wantIDs = append(wantIDs, l[:40])
	}
	for _, h := range got {
		gotIDs = append(gotIDs, h.String())
	}
	sort.Strings(wantIDs)
	sort.Strings(gotIDs)
	if strings.Join(wantIDs, " ") != strings.Join(gotIDs, " ") {
		t.Errorf("objectsToSend = %v\ngit rev-list --objects = %v", gotIDs, wantIDs)
	}
	if _, err := r.Push(ctx, bare, func(remote map[string]Hash) ([]RefUpdate, error) {
		return []RefUpdate{{Name: "refs/gitseal/pins/prod", Old: head, New: next}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if heads := rmLsRemote(t, local, bare, "refs/heads/main"); heads["refs/heads/main"] != head.String() {
		t.Errorf("push moved the branch: %v", heads)
	}
	rmFsck(t, bare)
}

func TestRemoteURL(t *testing.T) {
	local := rmRepo(t, 1, 0)
	rmGit(t, local, "remote", "add", "origin", "../remote.git")
	rmGit(t, local, "remote", "add", "up", "git://example.com/x.git")
	r, err := Open(local)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for in, want := range map[string]string{
		"":                      filepath.Join(filepath.Dir(local), "remote.git"),
		"origin":                filepath.Join(filepath.Dir(local), "remote.git"),
		"up":                    "git://example.com/x.git",
		"/abs/path.git":         "/abs/path.git",
		"file:///x":             "file:///x",
		"git@example.com:a/b":   "git@example.com:a/b",
		"./sub":                 filepath.Join(local, "sub"),
		"https://h.example/a.b": "https://h.example/a.b",
	} {
		got, err := r.RemoteURL(in)
		if err != nil || got != want {
			t.Errorf("RemoteURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := r.RemoteURL("nope"); !errors.Is(err, ErrRemoteNotFound) {
		t.Errorf("RemoteURL(nope): %v, want ErrRemoteNotFound", err)
	}
}

func TestFetchErrors(t *testing.T) {
	ctx := context.Background()
	local := rmRepo(t, 1, 0)
	r, err := Open(local)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	missing := filepath.Join(t.TempDir(), "nothing-here.git")
	if _, err := r.Fetch(ctx, "file://"+missing, func(string) bool { return true }); err == nil {
		t.Error("fetch from a missing repository succeeded")
	}
	if _, err := ListRemote(ctx, "file://"+missing); err == nil {
		t.Error("listing a missing repository succeeded")
	}
	// An empty remote: nothing to fetch, no error.
	bare := rmBare(t, t.TempDir(), "empty.git")
	fr, err := r.Fetch(ctx, bare, func(string) bool { return true })
	if err != nil || len(fr.Refs) != 0 || fr.Objects != 0 {
		t.Errorf("fetch from an empty remote: %+v, %v", fr, err)
	}
	refs, err := ListRemote(ctx, bare)
	if err != nil || len(refs) != 0 {
		t.Errorf("ListRemote(empty) = %v, %v", refs, err)
	}
}

// TestFetchCommits: rmWireFetchCommits over file:// and git://.
func TestFetchCommits(t *testing.T) { rmTransports(t, rmWireFetchCommits) }

// rmSnapshot lists every file under dir with its size and mode, to show
// that a failed operation wrote nothing.
func rmSnapshot(t testing.TB, dir string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		size := fi.Size()
		if fi.IsDir() {
			size = 0
		}
		lines = append(lines, fmt.Sprintf("%s %v %d", rel, fi.Mode(), size))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// rmSeeded makes a repository of n commits with k gitseal refs (rmRepo),
// pushes main and its gitseal refs to bare, and opens it; it is closed when
// the test ends.
func rmSeeded(t *testing.T, bare string, n, k int) (string, *Repo) {
	t.Helper()
	local := rmRepo(t, n, k)
	rmGit(t, local, "push", "-q", bare, "main", "refs/gitseal/*:refs/gitseal/*")
	r, err := Open(local)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return local, r
}

// rmEmptyRepo makes an empty non-bare repository to fetch into.
func rmEmptyRepo(t testing.TB) (string, *Repo) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "other")
	rmGit(t, filepath.Dir(dir), "init", "-q", dir)
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return dir, r
}

// rmWireListRemote: ListRemote over url sees what git sees in bare, and an
// empty repository lists no ref without an error.
func rmWireListRemote(t *testing.T, bare, url, emptyURL string) {
	ctx := context.Background()
	local := rmRepo(t, 2, 2)
	rmGit(t, local, "push", "-q", bare, "main", "refs/gitseal/*:refs/gitseal/*")
	want := rmLsRemote(t, local, bare)
	if len(want) != 4 || want["HEAD"] == "" {
		t.Fatalf("git ls-remote %s = %v: expected HEAD, main and two gitseal refs", bare, want)
	}
	got, err := ListRemote(ctx, url)
	if err != nil {
		t.Fatalf("ListRemote: %v", err)
	}
	gotStr := map[string]string{}
	for name, h := range got {
		gotStr[name] = h.String()
	}
	if fmt.Sprint(gotStr) != fmt.Sprint(want) {
		t.Errorf("ListRemote = %v\ngit ls-remote = %v", gotStr, want)
	}
	refs, err := ListRemote(ctx, emptyURL)
	if err != nil || len(refs) != 0 {
		t.Errorf("ListRemote(empty) = %v, %v", refs, err)
	}
}

// rmWireRoundTrip is TestPushFetchRoundTrip over url, checked in bare with
// the git binary: push creating refs, a fast-forward, a refused stale
// compare-and-swap, fetch into an empty repository (then again, then
// incrementally), and deleting a ref.
func rmWireRoundTrip(t *testing.T, bare, url string) {
	ctx := context.Background()
	local := rmRepo(t, 4, 3)
	r, err := Open(local)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	refs, err := r.Refs("refs/gitseal/")
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Push(ctx, url, func(remote map[string]Hash) ([]RefUpdate, error) {
		if len(remote) != 0 {
			t.Errorf("empty remote advertised %v", remote)
		}
		var ups []RefUpdate
		for _, name := range sortedKeys(refs) {
			ups = append(ups, RefUpdate{Name: name, New: refs[name]})
		}
		return ups, nil
	})
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	want := strings.Count(rmGit(t, local, "rev-list", "--objects", "refs/gitseal/pins/prod", "refs/gitseal/publish/prod"), "\n") + 1
	if res.Objects != want {
		t.Errorf("pushed %d objects, git rev-list --objects counts %d", res.Objects, want)
	}
	got := rmLsRemote(t, local, bare, "refs/gitseal/*")
	if len(got) != 2 || got["refs/gitseal/pins/prod"] != refs["refs/gitseal/pins/prod"].String() ||
		got["refs/gitseal/publish/prod"] != refs["refs/gitseal/publish/prod"].String() {
		t.Errorf("git ls-remote sees %v, want %v", got, refs)
	}
	if heads := rmLsRemote(t, local, bare, "refs/heads/*"); len(heads) != 0 {
		t.Errorf("push touched branches: %v", heads)
	}
	rmFsck(t, bare)

	// A fast-forward sends only the new records.
	newTip := rmChain(t, local, "refs/gitseal/publish/prod", 2)
	old := refs["refs/gitseal/publish/prod"]
	res, err = r.Push(ctx, url, func(remote map[string]Hash) ([]RefUpdate, error) {
		if remote["refs/gitseal/publish/prod"] != old {
			t.Errorf("remote advertised %v", remote)
		}
		return []RefUpdate{{Name: "refs/gitseal/publish/prod", Old: old, New: rmHash(t, newTip)}}, nil
	})
	if err != nil {
		t.Fatalf("push fast-forward: %v", err)
	}
	if res.Objects != 6 {
		t.Errorf("fast-forward of 2 one-file commits sent %d objects, want 6", res.Objects)
	}
	if got := rmGit(t, bare, "rev-parse", "refs/gitseal/publish/prod"); got != newTip {
		t.Errorf("after the fast-forward the remote has %s, want %s", got, newTip)
	}
	rmFsck(t, bare)

	// A compare-and-swap on a stale old value is refused, not forced.
	res, err = r.Push(ctx, url, func(map[string]Hash) ([]RefUpdate, error) {
		return []RefUpdate{{Name: "refs/gitseal/publish/prod", Old: old, New: old}}, nil
	})
	if !errors.Is(err, ErrPushRejected) {
		t.Fatalf("stale push: err = %v, want ErrPushRejected", err)
	}
	if _, ok := res.Rejected["refs/gitseal/publish/prod"]; !ok {
		t.Errorf("stale push: Rejected = %v, want refs/gitseal/publish/prod", res.Rejected)
	}
	if got := rmLsRemote(t, local, bare, "refs/gitseal/publish/prod"); got["refs/gitseal/publish/prod"] != newTip {
		t.Errorf("after a refused push the remote has %v, want %s", got, newTip)
	}

	// Fetch into an empty repository: objects arrive, no ref moves.
	other, o := rmEmptyRepo(t)
	fr, err := o.Fetch(ctx, url, func(ref string) bool { return strings.HasPrefix(ref, "refs/gitseal/") })
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	if fr.Refs["refs/gitseal/publish/prod"].String() != newTip || fr.Objects == 0 {
		t.Fatalf("fetch result %+v", fr)
	}
	if refs, _ := o.Refs("refs/"); len(refs) != 0 {
		t.Errorf("fetch moved refs: %v", refs)
	}
	for _, name := range []string{"refs/gitseal/publish/prod", "refs/gitseal/pins/prod"} {
		if err := o.UpdateRef(name, fr.Refs[name], ZeroHash, "test"); err != nil {
			t.Fatal(err)
		}
	}
	data, _, err := o.FileAt(fr.Refs["refs/gitseal/pins/prod"], "common.txt")
	if err != nil || !strings.HasPrefix(string(data), "common line") {
		t.Fatalf("reading a fetched file: %q, %v", data, err)
	}
	rmFsck(t, other)
	packs, _ := filepath.Glob(filepath.Join(other, ".git", "objects", "pack", "pack-*.idx"))
	if len(packs) != 1 {
		t.Errorf("fetch left %d pack indexes, want 1", len(packs))
	}
	if tmp, _ := filepath.Glob(filepath.Join(other, ".git", "objects", "pack", "tmp_*")); len(tmp) != 0 {
		t.Errorf("fetch left temporary files: %v", tmp)
	}

	// Fetching again brings nothing; a newer record brings only it.
	fr, err = o.Fetch(ctx, url, func(ref string) bool { return strings.HasPrefix(ref, "refs/gitseal/") })
	if err != nil || fr.Objects != 0 {
		t.Fatalf("second fetch: %+v, %v", fr, err)
	}
	tip3 := rmChain(t, local, "refs/gitseal/publish/prod", 1)
	if _, err := r.Push(ctx, url, func(remote map[string]Hash) ([]RefUpdate, error) {
		return []RefUpdate{{Name: "refs/gitseal/publish/prod", Old: remote["refs/gitseal/publish/prod"], New: rmHash(t, tip3)}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	fr, err = o.Fetch(ctx, url, func(ref string) bool { return strings.HasPrefix(ref, "refs/gitseal/") })
	if err != nil || fr.Objects != 3 {
		t.Fatalf("incremental fetch: %d objects, %v; want 3 (one commit, tree, blob)", fr.Objects, err)
	}
	if ok, err := o.IsAncestor(rmHash(t, newTip), rmHash(t, tip3)); err != nil || !ok {
		t.Errorf("IsAncestor(old, new) = %v, %v", ok, err)
	}
	rmFsck(t, other)

	// Deleting a ref on the remote.
	if _, err := r.Push(ctx, url, func(remote map[string]Hash) ([]RefUpdate, error) {
		return []RefUpdate{{Name: "refs/gitseal/pins/prod", Old: remote["refs/gitseal/pins/prod"]}}, nil
	}); err != nil {
		t.Fatalf("push deleting a ref: %v", err)
	}
	if got := rmLsRemote(t, local, bare, "refs/gitseal/pins/*"); len(got) != 0 {
		t.Errorf("deleted pin still on the remote: %v", got)
	}
	if got := rmGit(t, bare, "rev-parse", "refs/gitseal/publish/prod"); got != tip3 {
		t.Errorf("deleting the pin moved the record ref to %s, want %s", got, tip3)
	}
	rmFsck(t, bare)
}

// rmWireFetchCommits is TestFetchCommits over url: a depth-1 fetch of
// advertised tips, then an unadvertised commit, refused and then allowed.
func rmWireFetchCommits(t *testing.T, bare, url string) {
	ctx := context.Background()
	local := rmRepo(t, 6, 2)
	rmGit(t, local, "push", "-q", bare, "main", "refs/gitseal/*:refs/gitseal/*")
	pin := rmHash(t, rmGit(t, bare, "rev-parse", "refs/gitseal/pins/prod"))
	hist := rmHash(t, rmGit(t, bare, "rev-parse", "refs/gitseal/publish/prod"))
	objs, err := FetchCommits(ctx, url, func(refs map[string]Hash) ([]Hash, error) {
		if refs["refs/gitseal/pins/prod"] != pin || refs["HEAD"] != pin {
			t.Errorf("advertised refs %v", refs)
		}
		return []Hash{refs["refs/gitseal/pins/prod"], refs["refs/gitseal/publish/prod"]}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	data, _, err := objs.FileAt(pin, "src/2/f.txt")
	if err != nil || string(data) != "file 5\n" {
		t.Errorf("FileAt = %q, %v", data, err)
	}
	if _, _, err := objs.FileAt(hist, "record"); err != nil {
		t.Errorf("record: %v", err)
	}
	entries, err := objs.DirAt(pin, "src")
	if err != nil || len(entries) != 3 {
		t.Errorf("DirAt(src) = %v, %v", entries, err)
	}
	if _, err := objs.TreeEntryAt(pin, "nope"); !errors.Is(err, ErrPathNotFound) {
		t.Errorf("missing path: %v", err)
	}
	// Depth 1: the pinned commit's parent did not come along.
	c, err := objs.ReadCommit(pin)
	if err != nil || len(c.Parents) != 1 {
		t.Fatalf("ReadCommit: %v, %v", c, err)
	}
	if _, err := objs.ReadCommit(c.Parents[0]); !errors.Is(err, ErrObjectNotFound) {
		t.Errorf("the parent was fetched too (err %v): not a depth-1 fetch", err)
	}
	// A commit no ref points at: refused by a default git server.
	old := c.Parents[0]
	_, err = FetchCommits(ctx, url, func(map[string]Hash) ([]Hash, error) { return []Hash{old}, nil })
	if !errors.Is(err, ErrNotAdvertised) {
		t.Errorf("fetching an unadvertised commit: %v, want ErrNotAdvertised", err)
	}
	// Allowed by the server: it comes.
	rmGit(t, bare, "config", "uploadpack.allowReachableSHA1InWant", "true")
	objs, err = FetchCommits(ctx, url, func(map[string]Hash) ([]Hash, error) { return []Hash{old}, nil })
	if err != nil {
		t.Fatal(err)
	}
	if data, _, err := objs.FileAt(old, "src/1/f.txt"); err != nil || string(data) != "file 4\n" {
		t.Errorf("FileAt(old) = %q, %v", data, err)
	}
}

// rmWireRefused runs every operation against url, which must refuse them
// all, and checks that each error satisfies check, that plan and pick were
// never called, and that neither bare nor the repository fetched into
// changed. bare may be "" (no repository behind url); absent lists files
// that must still not exist afterwards.
func rmWireRefused(t *testing.T, bare, url string, check func(op string, err error), absent ...string) {
	t.Helper()
	ctx := context.Background()
	local := rmRepo(t, 2, 1)
	r, err := Open(local)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	tip := rmHash(t, rmGit(t, local, "rev-parse", "refs/gitseal/publish/prod"))
	other, o := rmEmptyRepo(t)
	var before string
	if bare != "" {
		before = rmSnapshot(t, bare)
	}
	otherBefore := rmSnapshot(t, filepath.Join(other, ".git"))

	refs, err := ListRemote(ctx, url)
	if err == nil {
		t.Errorf("ListRemote succeeded: %v", refs)
	} else {
		check("ListRemote", err)
	}
	fr, err := o.Fetch(ctx, url, func(string) bool { return true })
	if err == nil {
		t.Errorf("Fetch succeeded: %+v", fr)
	} else {
		check("Fetch", err)
	}
	res, err := r.Push(ctx, url, func(remote map[string]Hash) ([]RefUpdate, error) {
		t.Errorf("Push called plan with %v", remote)
		return []RefUpdate{{Name: "refs/gitseal/publish/prod", New: tip}}, nil
	})
	if err == nil {
		t.Errorf("Push succeeded: %+v", res)
	} else {
		check("Push", err)
	}
	objs, err := FetchCommits(ctx, url, func(refs map[string]Hash) ([]Hash, error) {
		t.Errorf("FetchCommits called pick with %v", refs)
		return nil, nil
	})
	if err == nil {
		t.Errorf("FetchCommits succeeded: %v", objs.Refs())
	} else {
		check("FetchCommits", err)
	}

	if bare != "" {
		if after := rmSnapshot(t, bare); after != before {
			t.Errorf("the remote repository changed:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		rmFsck(t, bare)
	}
	if after := rmSnapshot(t, filepath.Join(other, ".git")); after != otherBefore {
		t.Errorf("the repository fetched into changed:\nbefore:\n%s\nafter:\n%s", otherBefore, after)
	}
	for _, p := range absent {
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s exists after the refused operations (stat: %v)", p, err)
		}
	}
}

// TestCancel: rmWireCancel over file:// and git://.
func TestCancel(t *testing.T) { rmTransports(t, rmWireCancel) }

// rmWireCancel: an operation whose ctx is cancelled (before it starts, or
// from a callback it makes once the remote has answered) or whose deadline
// has passed returns an error that wraps context.Canceled or
// context.DeadlineExceeded, with the cancel cause in its text, and changes
// nothing on either side.
func rmWireCancel(t *testing.T, bare, url string) {
	local, r := rmSeeded(t, bare, 2, 1)
	tip := rmHash(t, rmGit(t, local, "rev-parse", "refs/gitseal/publish/prod"))
	other, o := rmEmptyRepo(t)
	before, otherBefore := rmSnapshot(t, bare), rmSnapshot(t, filepath.Join(other, ".git"))
	check := func(op string, err, want error) {
		t.Helper()
		if !errors.Is(err, want) {
			t.Errorf("%s: %v; want an error wrapping %v", op, err, want)
		}
	}
	bg := context.Background()

	ctx, cancel := context.WithCancel(bg)
	cancel()
	_, err := ListRemote(ctx, url)
	check("ListRemote, cancelled before", err, context.Canceled)
	_, err = o.Fetch(ctx, url, func(string) bool { return true })
	check("Fetch, cancelled before", err, context.Canceled)

	ctx, cancel = context.WithDeadline(bg, time.Unix(1, 0)) // long past
	defer cancel()
	_, err = ListRemote(ctx, url)
	check("ListRemote, deadline passed", err, context.DeadlineExceeded)
	_, err = FetchCommits(ctx, url, func(refs map[string]Hash) ([]Hash, error) { return []Hash{tip}, nil })
	check("FetchCommits, deadline passed", err, context.DeadlineExceeded)

	// Cancelled once the remote has listed its refs, from the callback.
	ctx, cancel = context.WithCancel(bg)
	_, err = o.Fetch(ctx, url, func(string) bool { cancel(); return true })
	check("Fetch, cancelled in match", err, context.Canceled)
	ctx, cancel = context.WithCancel(bg)
	_, err = r.Push(ctx, url, func(map[string]Hash) ([]RefUpdate, error) {
		cancel()
		return []RefUpdate{{Name: "refs/gitseal/new", New: tip}}, nil
	})
	check("Push, cancelled in plan", err, context.Canceled)
	ctxc, cancelCause := context.WithCancelCause(bg)
	_, err = FetchCommits(ctxc, url, func(refs map[string]Hash) ([]Hash, error) {
		cancelCause(errors.New("the deploy was called off"))
		return []Hash{tip}, nil
	})
	check("FetchCommits, cancelled in pick", err, context.Canceled)
	if err != nil && !strings.Contains(err.Error(), "the deploy was called off") {
		t.Errorf("FetchCommits: %v does not give the cancel cause", err)
	}

	if after := rmSnapshot(t, bare); after != before {
		t.Errorf("the remote changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if after := rmSnapshot(t, filepath.Join(other, ".git")); after != otherBefore {
		t.Errorf("the repository fetched into changed:\nbefore:\n%s\nafter:\n%s", otherBefore, after)
	}
}

// rmProxy relays TCP connections to a git daemon and can misbehave in two
// ways, each at a point fixed by what the client has sent, not by time.
type rmProxy struct {
	t      *testing.T
	target string
	// freezeOn: when the client's bytes so far contain it, freeze is
	// called and nothing more is relayed either way (that chunk included);
	// the connections stay open until the test ends.
	freezeOn string
	freeze   func()
	// cutFlush: once the client has sent "done", the server's last 4 bytes
	// (its final flush-pkt) are held back and dropped when the server
	// closes: the answer ends where its flush-pkt should be.
	cutFlush bool
}

// start listens on 127.0.0.1 and returns the git:// URL prefix to use.
func (p *rmProxy) start() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		p.t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	p.t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	go func() {
		for {
			client, err := l.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", p.target)
			if err != nil {
				client.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, client, server)
			mu.Unlock()
			go p.relay(client, server)
		}
	}()
	return "git://" + l.Addr().String()
}

func (p *rmProxy) relay(client, server net.Conn) {
	var mu sync.Mutex
	frozen, sentDone := false, false
	go func() { // client → server
		var seen []byte
		buf := make([]byte, 32<<10)
		for {
			n, err := client.Read(buf)
			if n > 0 {
				seen = append(seen, buf[:n]...)
				mu.Lock()
				if p.freezeOn != "" && !frozen && bytes.Contains(seen, []byte(p.freezeOn)) {
					frozen = true
					mu.Unlock()
					p.freeze()
					return
				}
				sentDone = sentDone || bytes.Contains(seen, []byte("0009done\n"))
				stop := frozen
				mu.Unlock()
				if stop {
					return
				}
				server.Write(buf[:n])
			}
			if err != nil {
				if tcp, ok := server.(*net.TCPConn); ok {
					tcp.CloseWrite()
				}
				return
			}
		}
	}()
	// server → client
	var held []byte
	buf := make([]byte, 32<<10)
	for {
		n, err := server.Read(buf)
		mu.Lock()
		stop, cut := frozen, p.cutFlush && sentDone
		mu.Unlock()
		if stop {
			return
		}
		out := append(held, buf[:n]...)
		held = nil
		if cut && len(out) >= 4 {
			out, held = out[:len(out)-4], append([]byte(nil), out[len(out)-4:]...)
		}
		client.Write(out)
		if err != nil {
			if string(held) != "0000" {
				client.Write(held)
			}
			client.Close()
			return
		}
	}
}

// TestCancelMidStream: cancelling while the remote is answering (the
// request sent, the answer not yet read) tears the connection down under
// the operation; the error it returns wraps context.Canceled, not the
// closed connection's error.
func TestCancelMidStream(t *testing.T) {
	base := t.TempDir()
	bare := rmBare(t, base, "remote.git")
	daemon := strings.TrimPrefix(rmDaemon(t, base), "git://")
	local, r := rmSeeded(t, bare, 2, 1)
	next := rmHash(t, rmChain(t, local, "refs/gitseal/publish/prod", 1))
	_, o := rmEmptyRepo(t)
	before := rmSnapshot(t, bare)
	for _, tc := range []struct {
		op, freezeOn string
		run          func(ctx context.Context, url string) error
	}{
		{"ListRemote", "git-upload-pack", func(ctx context.Context, url string) error {
			_, err := ListRemote(ctx, url)
			return err
		}},
		{"Fetch", "0009done\n", func(ctx context.Context, url string) error {
			_, err := o.Fetch(ctx, url, func(string) bool { return true })
			return err
		}},
		{"FetchCommits", "0009done\n", func(ctx context.Context, url string) error {
			_, err := FetchCommits(ctx, url, func(refs map[string]Hash) ([]Hash, error) {
				return []Hash{refs["refs/heads/main"]}, nil
			})
			return err
		}},
		{"Push", "PACK", func(ctx context.Context, url string) error {
			_, err := r.Push(ctx, url, func(remote map[string]Hash) ([]RefUpdate, error) {
				return []RefUpdate{{Name: "refs/gitseal/publish/prod", Old: remote["refs/gitseal/publish/prod"], New: next}}, nil
			})
			return err
		}},
	} {
		t.Run(tc.op, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var froze atomic.Bool
			p := &rmProxy{t: t, target: daemon, freezeOn: tc.freezeOn, freeze: func() { froze.Store(true); cancel() }}
			err := tc.run(ctx, p.start()+"/remote.git")
			if !froze.Load() {
				t.Fatalf("the proxy never saw %q (err %v)", tc.freezeOn, err)
			}
			if !errors.Is(err, context.Canceled) {
				t.Errorf("%s cancelled mid-stream: %v; want an error wrapping context.Canceled", tc.op, err)
			}
		})
	}
	if after := rmSnapshot(t, bare); after != before {
		t.Errorf("the remote changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// TestPackCutShort: a fetch whose answer ends where the side-band stream's
// final flush-pkt belongs fails, saying the remote hung up, and stores
// nothing: a stream cut there is not taken for a whole one.
func TestPackCutShort(t *testing.T) {
	base := t.TempDir()
	bare := rmBare(t, base, "remote.git")
	daemon := strings.TrimPrefix(rmDaemon(t, base), "git://")
	local := rmRepo(t, 2, 1)
	rmGit(t, local, "push", "-q", bare, "main", "refs/gitseal/*:refs/gitseal/*")
	url := (&rmProxy{t: t, target: daemon, cutFlush: true}).start() + "/remote.git"
	other, o := rmEmptyRepo(t)
	before := rmSnapshot(t, filepath.Join(other, ".git"))
	_, err := o.Fetch(context.Background(), url, func(string) bool { return true })
	if err == nil || !strings.Contains(err.Error(), "hung up") {
		t.Errorf("Fetch of a stream without its final flush-pkt: %v; want an error saying the remote hung up", err)
	}
	if after := rmSnapshot(t, filepath.Join(other, ".git")); after != before {
		t.Errorf("the repository fetched into changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	_, err = FetchCommits(context.Background(), url, func(refs map[string]Hash) ([]Hash, error) {
		return []Hash{refs["refs/heads/main"]}, nil
	})
	if err == nil || !strings.Contains(err.Error(), "hung up") {
		t.Errorf("FetchCommits of a stream without its final flush-pkt: %v; want an error saying the remote hung up", err)
	}
	// The same server, not cut: both work (the proxy is sound).
	url = (&rmProxy{t: t, target: daemon}).start() + "/remote.git"
	if _, err := o.Fetch(context.Background(), url, func(string) bool { return true }); err != nil {
		t.Errorf("Fetch through a proxy that relays everything: %v", err)
	}
}

// TestPushAlternates: receive-pack's ".have" lines (the tips of its
// alternates) are not refs: they are in no ref map given to plan or
// returned, but what they reach is taken as on the remote, and not sent.
func TestPushAlternates(t *testing.T) {
	ctx := context.Background()
	local := rmRepo(t, 3, 1)
	dir := t.TempDir()
	shared := rmBare(t, dir, "shared.git")
	rmGit(t, local, "push", "-q", shared, "main")
	bare := rmBare(t, dir, "remote.git")
	if err := os.WriteFile(filepath.Join(bare, "objects", "info", "alternates"), []byte(filepath.Join(shared, "objects")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Open(local)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	head := rmHash(t, rmGit(t, local, "rev-parse", "HEAD"))
	res, err := r.Push(ctx, bare, func(remote map[string]Hash) ([]RefUpdate, error) {
		if len(remote) != 0 {
			t.Errorf("plan was given %v; the remote has no refs", remote)
		}
		return []RefUpdate{{Name: "refs/gitseal/pins/prod", New: head}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Remote) != 0 {
		t.Errorf("PushResult.Remote = %v; the remote has no refs", res.Remote)
	}
	if res.Objects != 0 {
		t.Errorf("sent %d objects; the remote's alternate has them all", res.Objects)
	}
	if got := rmGit(t, bare, "rev-parse", "refs/gitseal/pins/prod"); got != head.String() {
		t.Errorf("the pin is at %s on the remote, want %s", got, head)
	}
	rmFsck(t, bare)
}
