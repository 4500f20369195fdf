package repo

// Remote operations against a real git smart-HTTP server: `git http-backend`
// run through net/http/cgi behind HTTP basic authentication. The scenarios
// (rmWire*, in remote_test.go) are the same for every transport.

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
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
	backend := rmHTTPBackend(t, base)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		user, pass, ok := req.BasicAuth()
		if !ok || user != rmHTTPUser || pass != rmHTTPPass {
			w.Header().Set("WWW-Authenticate", `Basic realm="gitseal test"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		backend.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// rmHTTPServe serves h on 127.0.0.1 and returns its host:port. The server
// is closed when the test ends.
func rmHTTPServe(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// rmHTTPBackend is git http-backend serving the bare repositories under
// base, through net/http/cgi. Tests skip only when git http-backend is not
// installed.
func rmHTTPBackend(t *testing.T, base string) http.Handler {
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
	return &cgi.Handler{
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

// rmCTWriter adds parameters to the media type of git's smart HTTP
// answers.
type rmCTWriter struct{ http.ResponseWriter }

func (w rmCTWriter) WriteHeader(code int) {
	if ct := w.Header().Get("Content-Type"); strings.HasPrefix(ct, "application/x-git-") {
		w.Header().Set("Content-Type", ct+"; charset=utf-8")
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w rmCTWriter) Write(p []byte) (int, error) {
	if w.Header().Get("Content-Type") == "" {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}

// TestHTTPContentTypeParameters: a server whose answers carry their media
// type with parameters (application/x-git-upload-pack-advertisement;
// charset=utf-8) speaks smart HTTP all the same.
func TestHTTPContentTypeParameters(t *testing.T) {
	base := t.TempDir()
	bare := rmHTTPBare(t, base, "remote.git")
	rmHTTPBare(t, base, "empty.git")
	other := rmHTTPBare(t, base, "other.git")
	backend := rmHTTPBackend(t, base)
	var sawParam bool
	var mu sync.Mutex
	hp := rmHTTPServe(t, func(w http.ResponseWriter, req *http.Request) {
		backend.ServeHTTP(rmCTWriter{w}, req)
		mu.Lock()
		sawParam = sawParam || strings.HasSuffix(w.Header().Get("Content-Type"), "; charset=utf-8")
		mu.Unlock()
	})
	rmWireListRemote(t, bare, rmHTTPURL(hp, "", "", "remote.git"), rmHTTPURL(hp, "", "", "empty.git"))
	rmWireFetchCommits(t, other, rmHTTPURL(hp, "", "", "other.git"))
	mu.Lock()
	tested := sawParam
	mu.Unlock()
	if !tested {
		t.Error("the server never sent a media type with parameters: the test tests nothing")
	}
	// git agrees the server is sound.
	rmLsRemote(t, bare, rmHTTPURL(hp, "", "", "remote.git"))
}

// TestHTTPQueryString: a URL's query string is kept on every request
// (some servers route or authorise by it), with service= added to it for
// the advertisement, as git does; the whole round trip works through a
// server that answers 404 without it. (git itself appends info/refs to
// the URL's text, query and all, so its path lands in the query: no check
// against git here.)
func TestHTTPQueryString(t *testing.T) {
	base := t.TempDir()
	bare := rmHTTPBare(t, base, "remote.git")
	backend := rmHTTPBackend(t, base)
	var mu sync.Mutex
	var seen []string
	hp := rmHTTPServe(t, func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		seen = append(seen, req.Method+" "+req.URL.RequestURI())
		mu.Unlock()
		q := req.URL.Query()
		if q.Get("tenant") != "acme" || (req.Method == http.MethodGet && q.Get("service") == "") {
			http.NotFound(w, req)
			return
		}
		backend.ServeHTTP(w, req)
	})
	url := rmHTTPURL(hp, "", "", "remote.git?tenant=acme")
	rmWireRoundTrip(t, bare, url)
	mu.Lock()
	defer mu.Unlock()
	for _, r := range seen {
		if !strings.Contains(r, "tenant=acme") {
			t.Errorf("request %s lost the URL's query", r)
		}
	}
	if len(seen) == 0 || !strings.Contains(strings.Join(seen, "\n"), "POST /remote.git/git-receive-pack?tenant=acme") {
		t.Errorf("requests made:\n%s\nwant a push POSTed to /remote.git/git-receive-pack?tenant=acme", strings.Join(seen, "\n"))
	}
}

// TestHTTPForbidden: an HTTP 403 says access was refused, not that
// credentials were wrong (a 401 says that): without credentials it
// suggests giving some, with them it says the account lacks access. Every
// operation fails, nothing is written, no password is shown.
func TestHTTPForbidden(t *testing.T) {
	base := t.TempDir()
	bare := rmHTTPBare(t, base, "remote.git")
	seed := rmRepo(t, 2, 1)
	rmGit(t, seed, "push", "-q", bare, "main", "refs/gitseal/*:refs/gitseal/*")
	hp := rmHTTPServe(t, func(w http.ResponseWriter, req *http.Request) {
		http.Error(w, "forbidden", http.StatusForbidden)
	})
	t.Run("no-credentials", func(t *testing.T) {
		rmWireRefused(t, bare, rmHTTPURL(hp, "", "", "remote.git"), func(op string, err error) {
			t.Logf("%s: %v", op, err)
			msg := err.Error()
			if !errors.Is(err, errAccessRefused) || !strings.Contains(msg, "403") || !strings.Contains(msg, "USER:TOKEN@") {
				t.Errorf("%s: %v; want access refused (403), suggesting credentials in the URL", op, err)
			}
			if errors.Is(err, errAuthFailed) || strings.Contains(msg, "refused the URL's credentials") {
				t.Errorf("%s: %v speaks of refused credentials; none were sent", op, err)
			}
		})
	})
	t.Run("with-credentials", func(t *testing.T) {
		rmWireRefused(t, bare, rmHTTPURL(hp, rmHTTPUser, rmHTTPPass, "remote.git"), func(op string, err error) {
			t.Logf("%s: %v", op, err)
			if !errors.Is(err, errAccessRefused) || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "credentials") {
				t.Errorf("%s: %v; want access refused (403) with the URL's credentials", op, err)
			}
			if strings.Contains(err.Error(), rmHTTPPass) {
				t.Errorf("%s: the error shows the URL's password: %v", op, err)
			}
		})
	})
}

// rmHTTPS is rmHTTP over TLS, with a certificate of the test's own
// authority: it returns the server's host:port and a PEM file of that
// authority's certificate.
func rmHTTPS(t *testing.T, base string) (hostPort, caFile string) {
	t.Helper()
	backend := rmHTTPBackend(t, base)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if user, pass, ok := req.BasicAuth(); !ok || user != rmHTTPUser || pass != rmHTTPPass {
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		backend.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "https://"), rmCAFile(t, srv)
}

// rmCAFile writes the certificate of srv's authority to a PEM file.
func rmCAFile(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	block := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, block, 0o644); err != nil {
		t.Fatal(err)
	}
	return caFile
}

// TestHTTPSCertificates: an https remote whose certificate no system root
// vouches for is refused (without the password in the message); the
// authority named by GIT_SSL_CAINFO, or by http.sslCAInfo in the
// repository's config, is trusted instead, as git does; a file with no
// certificate in it is an error that names where it was set.
func TestHTTPSCertificates(t *testing.T) {
	base := t.TempDir()
	bare := rmHTTPBare(t, base, "remote.git")
	seed := rmRepo(t, 1, 1)
	rmGit(t, seed, "push", "-q", bare, "main", "refs/gitseal/*:refs/gitseal/*")
	want := rmGit(t, bare, "rev-parse", "refs/gitseal/publish/prod")
	hp, caFile := rmHTTPS(t, base)
	url := "https://" + rmHTTPUser + ":" + rmHTTPPass + "@" + hp + "/remote.git"
	ctx := context.Background()
	os.Unsetenv("GIT_SSL_CAINFO")
	t.Setenv("GIT_CONFIG_GLOBAL", filepath.Join(t.TempDir(), "none"))

	_, err := ListRemote(ctx, url)
	if err == nil || !strings.Contains(err.Error(), "certificate") || strings.Contains(err.Error(), rmHTTPPass) {
		t.Fatalf("ListRemote of a server no root vouches for = %v; want a certificate error without the password", err)
	}

	t.Setenv("GIT_SSL_CAINFO", caFile)
	refs, err := ListRemote(ctx, url)
	if err != nil || refs["refs/gitseal/publish/prod"].String() != want {
		t.Fatalf("ListRemote with GIT_SSL_CAINFO = %v, %v; want refs/gitseal/publish/prod %s", refs, err, want)
	}

	os.Unsetenv("GIT_SSL_CAINFO")
	local, r := rmEmptyRepo(t)
	rmGit(t, local, "config", "http.sslCAInfo", caFile)
	res, err := r.Fetch(ctx, url, func(string) bool { return true })
	if err != nil || res.Refs["refs/gitseal/publish/prod"].String() != want {
		t.Fatalf("Fetch with http.sslCAInfo = %v; want refs/gitseal/publish/prod %s", err, want)
	}

	notPEM := filepath.Join(t.TempDir(), "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GIT_SSL_CAINFO", notPEM)
	if _, err := ListRemote(ctx, url); err == nil || !strings.Contains(err.Error(), "GIT_SSL_CAINFO") {
		t.Fatalf("ListRemote with a GIT_SSL_CAINFO of no certificate = %v; want an error naming GIT_SSL_CAINFO", err)
	}
}

// TestHTTPSRedirectToHTTP: an https remote that redirects to plain http is
// refused, and nothing at all is sent over plain http.
func TestHTTPSRedirectToHTTP(t *testing.T) {
	var plainRequests atomic.Int32
	plain := rmHTTPServe(t, func(w http.ResponseWriter, req *http.Request) {
		plainRequests.Add(1)
		http.Error(w, "should not be asked", http.StatusTeapot)
	})
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		http.Redirect(w, req, "http://"+plain+req.URL.RequestURI(), http.StatusFound)
	}))
	t.Cleanup(srv.Close)
	t.Setenv("GIT_SSL_CAINFO", rmCAFile(t, srv))
	url := "https://" + rmHTTPUser + ":" + rmHTTPPass + "@" + strings.TrimPrefix(srv.URL, "https://") + "/remote.git"
	if _, err := ListRemote(context.Background(), url); err == nil || !strings.Contains(err.Error(), "without TLS") || strings.Contains(err.Error(), rmHTTPPass) {
		t.Fatalf("ListRemote through an https-to-http redirect = %v; want it refused, without the password", err)
	}
	if n := plainRequests.Load(); n != 0 {
		t.Fatalf("%d requests reached the plain-http server", n)
	}
}
