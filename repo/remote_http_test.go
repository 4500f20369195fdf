package repo

// Remote operations against a real git smart-HTTP server: `git http-backend`
// run through net/http/cgi behind HTTP basic authentication. The scenarios
// (rmWire*, in remote_test.go) are the same for every transport.

import (
	"fmt"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
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

func TestHTTPCancel(t *testing.T) {
	base := t.TempDir()
	bare := rmHTTPBare(t, base, "remote.git")
	rmWireCancel(t, bare, rmHTTPURL(rmHTTP(t, base), rmHTTPUser, rmHTTPPass, "remote.git"))
}
