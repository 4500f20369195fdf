package publish

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gitseal/gitseal/repo"
	"github.com/gitseal/gitseal/versioning"
)

// syGit runs git in dir (with the fixture's environment, set by t.Setenv).
func syGit(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

func syFsck(t testing.TB, dir string) {
	t.Helper()
	out, err := exec.Command("git", "-C", dir, "fsck", "--strict", "--no-progress", "--no-dangling").CombinedOutput()
	if err != nil || strings.Contains(string(out), "error") || strings.Contains(string(out), "missing") {
		t.Fatalf("git fsck in %s: %v\n%s", dir, err, out)
	}
}

// syDaemon starts `git daemon` on 127.0.0.1 serving base, with receive-pack
// enabled; it is killed when the test ends. The test is skipped only when
// git-daemon is not installed.
func syDaemon(t testing.TB, base string) string {
	t.Helper()
	execPath, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Skipf("git daemon tests skipped: %v", err)
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
		cmd.WaitDelay = time.Second
		// Its own process group: `git daemon` runs git-daemon as a child,
		// which killing the parent alone would leave running.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting git daemon: %v", err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			select {
			case <-exited:
				deadline = time.Time{}
				continue
			default:
			}
			if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
				c.Close()
				t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); <-exited })
				return fmt.Sprintf("git://127.0.0.1:%d", port)
			}
		}
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
	t.Fatal("git daemon did not start")
	return ""
}

// syRemote makes a bare repository holding f's branch and returns it and
// the URL to reach it by (file:// or git://).
func syRemote(t *testing.T, f *fixture, daemon bool) (bare, url string) {
	t.Helper()
	base := t.TempDir()
	bare = filepath.Join(base, "remote.git")
	syGit(t, base, "init", "-q", "--bare", bare)
	syGit(t, f.dir, "push", "-q", bare, "HEAD:refs/heads/main")
	if daemon {
		return bare, syDaemon(t, base) + "/remote.git"
	}
	return bare, "file://" + bare
}

// syClone clones bare with git and opens the clone.
func syClone(t *testing.T, bare string) (string, *repo.Repo) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "b")
	syGit(t, filepath.Dir(dir), "clone", "-q", bare, dir)
	r, err := repo.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return dir, r
}

func syStatus(res SyncResult) map[string]string {
	m := map[string]string{}
	for _, c := range res.Changes {
		m[c.Ref] = c.Status
	}
	return m
}

func syRef(t testing.TB, r *repo.Repo, name string) repo.Hash {
	t.Helper()
	h, err := current(r, name)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestPushFetch(t *testing.T) {
	for _, daemon := range []bool{false, true} {
		name := map[bool]string{false: "file", true: "daemon"}[daemon]
		t.Run(name, func(t *testing.T) { testPushFetch(t, daemon) })
	}
}

func testPushFetch(t *testing.T, daemon bool) {
	ctx := context.Background()
	a := newFixture(t)
	bare, url := syRemote(t, a, daemon)
	syGit(t, a.dir, "remote", "add", "origin", url)

	// Nothing published: nothing to push.
	res, err := Push(ctx, a.r, "")
	if err != nil || res.Changed() {
		t.Fatalf("push of nothing: %+v, %v", res, err)
	}

	if _, err := Publish(ctx, a.r, "default", a.c2.String()); err != nil {
		t.Fatal(err)
	}
	res, err = Push(ctx, a.r, "origin")
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	st := syStatus(res)
	if st[PinRef("default")] != StatusCreated || st[HistoryRef("default")] != StatusCreated {
		t.Fatalf("first push: %v", st)
	}
	ls := syGit(t, a.dir, "ls-remote", url, "refs/gitseal/*")
	if !strings.Contains(ls, a.c2.String()+"\trefs/gitseal/pins/default") || !strings.Contains(ls, "\trefs/gitseal/publish/default") {
		t.Fatalf("git ls-remote: %s", ls)
	}
	if heads := syGit(t, a.dir, "ls-remote", "--heads", url); strings.Count(heads, "\n") != 0 || !strings.Contains(heads, "refs/heads/main") {
		t.Fatalf("branches on the remote changed: %s", heads)
	}
	syFsck(t, bare)

	// A second clone fetches the pins and the history.
	bDir, b := syClone(t, bare)
	res, err = Fetch(ctx, b, url)
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	if syRef(t, b, PinRef("default")) != a.c2 || syRef(t, b, HistoryRef("default")) != syRef(t, a.r, HistoryRef("default")) {
		t.Fatalf("fetch did not bring the refs: %+v", res)
	}
	if h, err := History(b, "default"); err != nil || len(h) != 1 {
		t.Fatalf("history after fetch: %v, %v", h, err)
	}
	syFsck(t, bDir)

	// Publishing an older commit moves the pin backwards: accepted, since
	// the history that records it fast-forwards.
	if _, err := Publish(ctx, a.r, "default", a.c1.String()); err != nil {
		t.Fatal(err)
	}
	if res, err = Push(ctx, a.r, ""); err != nil {
		t.Fatalf("push of an older pin: %v", err)
	}
	if st := syStatus(res); st[PinRef("default")] != StatusUpdated || st[HistoryRef("default")] != StatusUpdated {
		t.Fatalf("push of an older pin: %v", st)
	}
	if res, err = Fetch(ctx, b, url); err != nil {
		t.Fatalf("fetch of an older pin: %v", err)
	}
	if syRef(t, b, PinRef("default")) != a.c1 {
		t.Fatalf("fetched pin %s, want %s", syRef(t, b, PinRef("default")), a.c1)
	}

	// b behind: its push moves nothing and is no error.
	if _, err := Publish(ctx, a.r, "default", a.c2.String()); err != nil {
		t.Fatal(err)
	}
	if _, err := Push(ctx, a.r, ""); err != nil {
		t.Fatal(err)
	}
	// b has not seen the newest record: pushing is refused, not forced.
	res, err = Push(ctx, b, url)
	if !errors.Is(err, ErrRefused) || syStatus(res)[HistoryRef("default")] != StatusRefused {
		t.Fatalf("push from a clone that has not fetched: %v %v", syStatus(res), err)
	}
	if _, err := Fetch(ctx, b, url); err != nil {
		t.Fatal(err)
	}
	res, err = Push(ctx, b, url)
	if err != nil || res.Changed() {
		t.Fatalf("push after fetch: %v, %v", syStatus(res), err)
	}
	// a ahead of the remote as seen from fetch: "behind" for the remote.
	if _, err := Publish(ctx, b, "default", a.c1.String()); err != nil {
		t.Fatal(err)
	}
	res, err = Fetch(ctx, b, url)
	if err != nil || syStatus(res)[HistoryRef("default")] != StatusBehind || syRef(t, b, PinRef("default")) != a.c1 {
		t.Fatalf("fetch while ahead: %v, %v", syStatus(res), err)
	}

	// Diverged: a and b each publish; a pushes first; b's push and fetch
	// are both refused and b's refs stay. (a re-publishes c2: had it
	// published c1 in the same second, its record would be the very
	// commit b made.)
	if _, err := Publish(ctx, a.r, "default", a.c2.String()); err != nil {
		t.Fatal(err)
	}
	if _, err := Push(ctx, a.r, ""); err != nil {
		t.Fatal(err)
	}
	bHist := syRef(t, b, HistoryRef("default"))
	if res, err = Push(ctx, b, url); !errors.Is(err, ErrRefused) {
		t.Fatalf("push of diverged history: %+v, %v", res, err)
	}
	res, err = Fetch(ctx, b, url)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "diverged") {
		t.Fatalf("fetch of diverged history: %v", err)
	}
	if syRef(t, b, HistoryRef("default")) != bHist || syRef(t, b, PinRef("default")) != a.c1 {
		t.Fatal("a refused fetch moved b's refs")
	}
	if remote := syGit(t, a.dir, "ls-remote", url, HistoryRef("default")); !strings.HasPrefix(remote, syRef(t, a.r, HistoryRef("default")).String()) {
		t.Fatalf("a refused push changed the remote: %s", remote)
	}

	// Unpublish travels: the remote pin and then b's are removed.
	if _, err := Unpublish(ctx, a.r, "default"); err != nil {
		t.Fatal(err)
	}
	if res, err = Push(ctx, a.r, ""); err != nil || syStatus(res)[PinRef("default")] != StatusDeleted {
		t.Fatalf("push of an unpublish: %v, %v", syStatus(res), err)
	}
	if ls := syGit(t, a.dir, "ls-remote", url, "refs/gitseal/pins/*"); ls != "" {
		t.Fatalf("remote pin after unpublish: %s", ls)
	}
	cDir := filepath.Join(t.TempDir(), "c")
	syGit(t, filepath.Dir(cDir), "clone", "-q", bare, cDir)
	c, err := repo.Open(cDir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.UpdateRef(PinRef("default"), a.c2, repo.ZeroHash, "old pin"); err != nil {
		t.Fatal(err)
	}
	if res, err = Fetch(ctx, c, url); err != nil || !syRef(t, c, PinRef("default")).IsZero() {
		t.Fatalf("fetch of an unpublish: %v, %v", syStatus(res), err)
	}

	// A pin moved by hand, not what the history records, is not pushed,
	// and neither is the history.
	if _, err := Publish(ctx, a.r, "default", a.c2.String()); err != nil {
		t.Fatal(err)
	}
	if err := a.r.UpdateRef(PinRef("default"), a.c1, a.c2, "by hand"); err != nil {
		t.Fatal(err)
	}
	before := syGit(t, a.dir, "ls-remote", url, "refs/gitseal/*")
	res, err = Push(ctx, a.r, "")
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "newest publish record") {
		t.Fatalf("push of a hand-moved pin: %v", err)
	}
	if after := syGit(t, a.dir, "ls-remote", url, "refs/gitseal/*"); after != before {
		t.Fatalf("a refused push changed the remote:\n%s\n%s", before, after)
	}
	if err := a.r.UpdateRef(PinRef("default"), a.c2, a.c1, "back"); err != nil {
		t.Fatal(err)
	}

	// Any other gitseal chain, such as the audit log, moves forward only.
	auditTip := func(r *repo.Repo, msg string) repo.Hash {
		t.Helper()
		h, err := r.CommitOnRef(ctx, "refs/gitseal/audit", []repo.Change{{Path: "event", Data: []byte(msg + "\n")}}, msg)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	tip := auditTip(a.r, "one")
	if res, err = Push(ctx, a.r, ""); err != nil || syStatus(res)["refs/gitseal/audit"] != StatusCreated {
		t.Fatalf("push of the audit log: %v, %v", syStatus(res), err)
	}
	if res, err = Fetch(ctx, b, url); syRef(t, b, "refs/gitseal/audit") != tip {
		t.Fatalf("fetch of the audit log: %v, %v", syStatus(res), err)
	}
	auditTip(a.r, "two")
	auditTip(b, "other")
	if _, err := Push(ctx, a.r, ""); err != nil {
		t.Fatal(err)
	}
	if res, err = Push(ctx, b, url); !errors.Is(err, ErrRefused) || syStatus(res)["refs/gitseal/audit"] != StatusRefused {
		t.Fatalf("push of a diverged audit log: %v, %v", syStatus(res), err)
	}
	syFsck(t, bare)
	syFsck(t, bDir)
	syFsck(t, a.dir)
}

// TestPushSendsAppCommits: a pin at a commit the remote does not have
// carries the commit and its history with it (receive-pack would refuse a
// ref to a missing object).
func TestPushSendsAppCommits(t *testing.T) {
	ctx := context.Background()
	a := newFixture(t)
	bare := filepath.Join(t.TempDir(), "empty.git")
	syGit(t, filepath.Dir(bare), "init", "-q", "--bare", bare)
	if _, err := Publish(ctx, a.r, "default", ""); err != nil {
		t.Fatal(err)
	}
	res, err := Push(ctx, a.r, bare)
	if err != nil || res.Objects == 0 {
		t.Fatalf("push to an empty remote: %+v, %v", res, err)
	}
	if got := syGit(t, bare, "rev-parse", "refs/gitseal/pins/default"); got != a.c2.String() {
		t.Fatalf("remote pin %s", got)
	}
	if heads := syGit(t, bare, "for-each-ref", "refs/heads"); heads != "" {
		t.Fatalf("push created branches: %s", heads)
	}
	syFsck(t, bare)
	if _, err := Push(ctx, a.r, "no-such-remote"); !errors.Is(err, repo.ErrRemoteNotFound) {
		t.Fatalf("push to an unknown remote: %v", err)
	}
}

// TestAuditLogsMergeOnFetch: two clones that both record reveals have
// diverged audit logs. Push refuses and says to fetch; fetch joins the two
// with a merge entry; the next push fast-forwards, and both clones then
// hold every entry.
func TestAuditLogsMergeOnFetch(t *testing.T) {
	ctx := context.Background()
	a := newFixture(t)
	bare, url := syRemote(t, a, false)
	// Each clone's events differ: identical events in the same second by
	// the same person are the same commit.
	reveal := func(dir string) repo.Hash {
		t.Helper()
		s, err := versioning.Open(dir, versioning.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		e, err := s.RecordReveal(ctx, versioning.AuditEvent{Action: versioning.RevealGet, Command: "get", Env: "default", Secrets: []string{"DB"}, Commit: a.c2, Host: filepath.Base(dir)})
		if err != nil {
			t.Fatal(err)
		}
		return e.Entry
	}
	a1 := reveal(a.dir)
	if _, err := Push(ctx, a.r, url); err != nil {
		t.Fatal(err)
	}
	bDir, b := syClone(t, bare)
	if _, err := Fetch(ctx, b, url); err != nil || syRef(t, b, versioning.AuditRef) != a1 {
		t.Fatalf("first fetch: %v, audit log at %s", err, syRef(t, b, versioning.AuditRef))
	}

	a2 := reveal(a.dir)
	if res, err := Push(ctx, a.r, url); err != nil || syStatus(res)[versioning.AuditRef] != StatusUpdated {
		t.Fatalf("push of a new entry: %v (%v)", err, syStatus(res))
	}
	b1 := reveal(bDir)
	res, err := Push(ctx, b, url)
	if !errors.Is(err, ErrRefused) || syStatus(res)[versioning.AuditRef] != StatusRefused || !strings.Contains(err.Error(), "gitseal fetch") {
		t.Fatalf("push of a diverged audit log: %v (%v); want refused, saying to fetch", err, syStatus(res))
	}

	res, err = Fetch(ctx, b, url)
	if err != nil || syStatus(res)[versioning.AuditRef] != StatusMerged || syReason(res, versioning.AuditRef) != "" {
		t.Fatalf("fetch of a diverged audit log: %v (%+v); want merged, with nothing to warn about", err, res.Changes)
	}
	tip := syRef(t, b, versioning.AuditRef)
	c, err := b.ReadCommit(tip)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Parents) != 2 || c.Parents[0] != b1 || c.Parents[1] != a2 {
		t.Fatalf("merge entry %s has parents %v, want this clone's %s and the remote's %s", tip, c.Parents, b1, a2)
	}

	if res, err = Push(ctx, b, url); err != nil || syStatus(res)[versioning.AuditRef] != StatusUpdated {
		t.Fatalf("push after the merge: %v (%v); want a fast-forward", err, syStatus(res))
	}
	if res, err = Fetch(ctx, a.r, url); err != nil || syStatus(res)[versioning.AuditRef] != StatusUpdated {
		t.Fatalf("fetch into the first clone: %v (%v); want a fast-forward", err, syStatus(res))
	}
	for _, dir := range []string{a.dir, bDir} {
		s, err := versioning.Open(dir, versioning.Options{})
		if err != nil {
			t.Fatal(err)
		}
		log, err := s.AuditLog()
		if err != nil {
			t.Fatal(err)
		}
		got := map[repo.Hash]bool{}
		for _, e := range log {
			got[e.Entry] = true
		}
		if len(log) != 3 || !got[a1] || !got[a2] || !got[b1] {
			t.Fatalf("%s: audit log has %d events, want a1, a2 and b1", dir, len(log))
		}
		if rep, err := s.VerifyAudit(); err != nil {
			t.Fatalf("%s: audit verify: %v %v", dir, err, rep.Problems)
		}
		s.Close()
	}
	syFsck(t, bare)

	// Someone replaces the remote's log with one of their own: fetch still
	// keeps both, and warns.
	cDir, _ := syClone(t, bare)
	syGit(t, cDir, "update-ref", "-d", versioning.AuditRef)
	reveal(cDir)
	syGit(t, cDir, "push", "-q", "--force", bare, versioning.AuditRef+":"+versioning.AuditRef)
	res, err = Fetch(ctx, b, url)
	if err != nil || syStatus(res)[versioning.AuditRef] != StatusMerged || !strings.Contains(syReason(res, versioning.AuditRef), "shares no entry") {
		t.Fatalf("fetch of a replaced audit log: %v (%+v); want merged, with a warning", err, res.Changes)
	}
}

func syReason(res SyncResult, ref string) string {
	for _, c := range res.Changes {
		if c.Ref == ref {
			return c.Reason
		}
	}
	return ""
}
