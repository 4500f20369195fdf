package repo

// Remote operations against a real git smart-HTTP server: `git http-backend`
// run through net/http/cgi behind HTTP basic authentication. The scenarios
// (rmWire*) are shared with the SSH tests (remote_ssh_test.go) and mirror
// what remote_test.go checks over file:// and git://.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const (
	rmHTTPUser = "gitseal"
	rmHTTPPass = "s3cret-test-pass"
)

// rmHTTP serves the bare repositories under base with git http-backend,
// requiring HTTP basic authentication as rmHTTPUser/rmHTTPPass, and returns
// the server's host:port. The server is closed when the test ends. Tests
// skip only when git http-backend is not installed.
func rmHTTP(t *testing.T, base string) string {
	t.Helper()
	execPath, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Skipf("git http-backend tests skipped: git --exec-path: %v", err)
	}
	backend := filepath.Join(strings.TrimSpace(string(execPath)), "git-http-backend")
	if _, err := os.Stat(backend); err != nil {
		t.Skip("git http-backend tests skipped: git-http-backend is not installed")
	}
	home := t.TempDir()
	cgiHandler := &cgi.Handler{
		Path: backend,
		Dir:  base,
		Env: []string{
			"GIT_PROJECT_ROOT=" + base,
			"GIT_HTTP_EXPORT_ALL=1",
			"HOME=" + home,
			"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
			"GIT_CONFIG_NOSYSTEM=1",
			"GIT_CONFIG_GLOBAL=/dev/null",
		},
		Stderr: rmLogWriter{t},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		user, pass, ok := req.BasicAuth()
		if !ok || user != rmHTTPUser || pass != rmHTTPPass {
			w.Header().Set("WWW-Authenticate", `Basic realm="gitseal test"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		cgiHandler.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// rmHTTPBare makes a bare repository under base that accepts pushes over
// HTTP.
func rmHTTPBare(t *testing.T, base, name string) string {
	t.Helper()
	bare := rmBare(t, base, name)
	rmGit(t, bare, "config", "http.receivepack", "true")
	return bare
}

// rmLogWriter sends a server's diagnostics to the test log.
type rmLogWriter struct{ t testing.TB }

func (w rmLogWriter) Write(p []byte) (int, error) {
	w.t.Logf("server: %s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func rmHTTPURL(hostPort, user, pass, path string) string {
	if user == "" {
		return "http://" + hostPort + "/" + path
	}
	return "http://" + user + ":" + pass + "@" + hostPort + "/" + path
}

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

func TestHTTPListRemote(t *testing.T) {
	base := t.TempDir()
	bare := rmHTTPBare(t, base, "remote.git")
	rmHTTPBare(t, base, "empty.git")
	hp := rmHTTP(t, base)
	url := rmHTTPURL(hp, rmHTTPUser, rmHTTPPass, "remote.git")
	rmWireListRemote(t, bare, url, rmHTTPURL(hp, rmHTTPUser, rmHTTPPass, "empty.git"))
	// The server is sound: git itself lists the same refs through it.
	if got, want := rmLsRemote(t, bare, url), rmLsRemote(t, bare, bare); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("git ls-remote over HTTP = %v, in the repository = %v", got, want)
	}
}

func TestHTTPPushFetchRoundTrip(t *testing.T) {
	base := t.TempDir()
	bare := rmHTTPBare(t, base, "remote.git")
	rmWireRoundTrip(t, bare, rmHTTPURL(rmHTTP(t, base), rmHTTPUser, rmHTTPPass, "remote.git"))
}

func TestHTTPFetchCommits(t *testing.T) {
	base := t.TempDir()
	bare := rmHTTPBare(t, base, "remote.git")
	rmWireFetchCommits(t, bare, rmHTTPURL(rmHTTP(t, base), rmHTTPUser, rmHTTPPass, "remote.git"))
}

// TestHTTPAuthRequired: without credentials, or with wrong ones, every
// operation fails saying so, and nothing is written on either side.
func TestHTTPAuthRequired(t *testing.T) {
	base := t.TempDir()
	bare := rmHTTPBare(t, base, "remote.git")
	seed := rmRepo(t, 2, 1)
	rmGit(t, seed, "push", "-q", bare, "main", "refs/gitseal/*:refs/gitseal/*")
	hp := rmHTTP(t, base)
	for _, tc := range []struct{ name, user, pass string }{
		{"no-credentials", "", ""},
		{"wrong-password", rmHTTPUser, "not-the-password"},
		{"wrong-user", "someone", rmHTTPPass},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := rmHTTPURL(hp, tc.user, tc.pass, "remote.git")
			rmWireRefused(t, bare, url, func(op string, err error) {
				t.Logf("%s: %v", op, err)
				if !strings.Contains(strings.ToLower(err.Error()), "authentication") {
					t.Errorf("%s: error does not mention authentication: %v", op, err)
				}
				if tc.pass != "" && strings.Contains(err.Error(), tc.pass) {
					t.Errorf("%s: the error shows the URL's password: %v", op, err)
				}
			})
		})
	}
}

// TestHTTPRepositoryNotFound: a URL naming no repository (404) is an error
// for every operation, and nothing is created on either side.
func TestHTTPRepositoryNotFound(t *testing.T) {
	base := t.TempDir()
	rmHTTPBare(t, base, "remote.git")
	hp := rmHTTP(t, base)
	before := rmSnapshot(t, base)
	url := rmHTTPURL(hp, rmHTTPUser, rmHTTPPass, "missing.git")
	rmWireRefused(t, "", url, func(op string, err error) {
		t.Logf("%s: %v", op, err)
		if !strings.Contains(err.Error(), "no git repository") {
			t.Errorf("%s: error does not say there is no repository: %v", op, err)
		}
		if strings.Contains(err.Error(), rmHTTPPass) {
			t.Errorf("%s: the error shows the URL's password: %v", op, err)
		}
	}, filepath.Join(base, "missing.git"))
	if after := rmSnapshot(t, base); after != before {
		t.Errorf("the server's repositories changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}
