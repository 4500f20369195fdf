package repo

// The behaviour of gitseal's HTTP client, seen from the wire: proxies,
// redirects, the framing of responses and of request bodies, and
// cancellation. The tests go through the public operations (ListRemote,
// Fetch, Push) and the environment only, so that they hold whatever
// client transport.go is built on: they are its contract.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// hbFailsafe bounds every wait in these tests. It is never what a test
// measures: reaching it means the behaviour under test did not happen.
const hbFailsafe = 20 * time.Second

// hbContext is a context for one test's operations that ends at the
// failsafe, so that a client waiting for what never comes fails the test
// instead of hanging it.
func hbContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), hbFailsafe)
	t.Cleanup(cancel)
	return ctx
}

// hbLog is the list of requests a test server or proxy was asked, one line
// each, safe for concurrent use.
type hbLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *hbLog) add(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *hbLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.lines)
}

func (l *hbLog) String() string { return strings.Join(l.all(), "\n") }

// hbBasic is the value of an Authorization (or Proxy-Authorization) header
// that gives user and pass by basic authentication.
func hbBasic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// hbAuthorized reports whether req carries rmHTTPUser and rmHTTPPass.
func hbAuthorized(req *http.Request) bool {
	return req.Header.Get("Authorization") == hbBasic(rmHTTPUser, rmHTTPPass)
}

// hbAuthGate is next behind basic authentication as rmHTTPUser/rmHTTPPass.
func hbAuthGate(next http.Handler) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		if !hbAuthorized(req) {
			w.Header().Set("WWW-Authenticate", `Basic realm="gitseal test"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, req)
	}
}

// hbRoundTrip pushes a small history to url, whose repository (bare) is
// empty, lists the remote's refs and fetches them back into an empty
// repository, checking each step against git in bare. That makes every
// kind of request smart HTTP has: a GET of info/refs and a POST for each
// of git-receive-pack and git-upload-pack.
func hbRoundTrip(t *testing.T, ctx context.Context, bare, url string) {
	t.Helper()
	local := rmRepo(t, 1, 1)
	r, err := Open(local)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	refs, err := r.Refs("refs/gitseal/")
	if err != nil || len(refs) != 2 {
		t.Fatalf("refs of the pushed repository: %v, %v", refs, err)
	}
	if _, err := r.Push(ctx, url, func(map[string]Hash) ([]RefUpdate, error) {
		var ups []RefUpdate
		for _, name := range sortedKeys(refs) {
			ups = append(ups, RefUpdate{Name: name, New: refs[name]})
		}
		return ups, nil
	}); err != nil {
		t.Fatalf("Push: %v", err)
	}
	for name, h := range refs {
		if got := rmGit(t, bare, "rev-parse", name); got != h.String() {
			t.Fatalf("after the push the remote has %s at %s, want %s", name, got, h)
		}
	}
	rmFsck(t, bare)

	listed, err := ListRemote(ctx, url)
	if err != nil {
		t.Fatalf("ListRemote: %v", err)
	}
	for name, h := range refs {
		if listed[name] != h {
			t.Errorf("ListRemote = %v; want %s at %s", listed, name, h)
		}
	}

	other, o := rmEmptyRepo(t)
	fr, err := o.Fetch(ctx, url, func(ref string) bool { return strings.HasPrefix(ref, "refs/gitseal/") })
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if fr.Objects == 0 || fr.Refs["refs/gitseal/publish/prod"] != refs["refs/gitseal/publish/prod"] {
		t.Fatalf("Fetch = %+v; want the pushed refs and their objects", fr)
	}
	for name, h := range refs {
		if err := o.UpdateRef(name, h, ZeroHash, "test"); err != nil {
			t.Fatal(err)
		}
	}
	rmFsck(t, other)
}

// hbServices are the requests hbRoundTrip makes, as path suffixes: each
// must be seen by whoever claims to have carried them.
var hbServices = []string{
	"GET /info/refs?service=git-receive-pack",
	"POST /git-receive-pack",
	"GET /info/refs?service=git-upload-pack",
	"POST /git-upload-pack",
}

// hbSawServices fails t unless lines (each "METHOD URL ...") hold every
// request of hbServices made to prefix (a URL up to the repository path).
func hbSawServices(t *testing.T, who string, lines []string, prefix string) {
	t.Helper()
	for _, s := range hbServices {
		method, path, _ := strings.Cut(s, " ")
		want := method + " " + prefix + path
		if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, want) }) {
			t.Errorf("%s never saw %q; it saw:\n%s", who, want, strings.Join(lines, "\n"))
		}
	}
}

// ---- Proxies ----

// hbProxyEnv are the variables that choose a proxy (REQUEST_METHOD makes
// the client refuse HTTP_PROXY, as a CGI program must).
var hbProxyEnv = []string{"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy",
	"NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "REQUEST_METHOD", "GIT_SSL_CAINFO"}

// hbClearProxyEnv empties every variable of hbProxyEnv for the test, so
// that only what the test sets chooses the proxy (the client reads them at
// every request).
func hbClearProxyEnv(t *testing.T) {
	for _, k := range hbProxyEnv {
		t.Setenv(k, "")
	}
}

// hbForwardProxy is an HTTP proxy for http:// URLs: it takes requests in
// absolute form ("GET http://host/path HTTP/1.1") and serves them, whatever
// host they name, with next, without their Proxy-Authorization. When auth
// is set ("user:pass"), a request without that proxy credential, or for
// the host refuse, is answered 407.
type hbForwardProxy struct {
	auth   string
	refuse string
	next   http.Handler
	log    hbLog // "METHOD URL PROTO proxy-auth=…", each request in order
}

// start serves p on 127.0.0.1 until the test ends and returns its
// host:port.
func (p *hbForwardProxy) start(t *testing.T) string {
	return rmHTTPServe(t, func(w http.ResponseWriter, req *http.Request) {
		p.log.add("%s %s %s proxy-auth=%q", req.Method, req.RequestURI, req.Proto, req.Header.Get("Proxy-Authorization"))
		if !req.URL.IsAbs() {
			http.Error(w, "a proxy takes requests in absolute form", http.StatusBadRequest)
			return
		}
		if p.auth != "" {
			user, pass, _ := strings.Cut(p.auth, ":")
			if req.Header.Get("Proxy-Authorization") != hbBasic(user, pass) || req.URL.Host == p.refuse {
				w.Header().Set("Proxy-Authenticate", `Basic realm="test proxy"`)
				http.Error(w, "proxy authentication required", http.StatusProxyAuthRequired)
				return
			}
		}
		req.Header.Del("Proxy-Authorization")
		p.next.ServeHTTP(w, req)
	})
}

// hbConnectProxy is an HTTP proxy for https:// URLs: it takes CONNECT
// host:port requests and, whatever host:port they name, opens the tunnel to
// target. When auth is set ("user:pass"), a CONNECT without that proxy
// credential, or to the host:port refuse, is answered 407.
type hbConnectProxy struct {
	target string
	auth   string
	refuse string
	log    hbLog // "CONNECT host:port proxy-auth=… authorization=…"
}

// start serves p on 127.0.0.1 until the test ends and returns its
// host:port.
func (p *hbConnectProxy) start(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	track := func(c net.Conn) {
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
	}
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			track(c)
			go p.serve(c, track)
		}
	}()
	return l.Addr().String()
}

func (p *hbConnectProxy) serve(c net.Conn, track func(net.Conn)) {
	defer c.Close()
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	p.log.add("%s %s proxy-auth=%q authorization=%q", req.Method, req.RequestURI,
		req.Header.Get("Proxy-Authorization"), req.Header.Get("Authorization"))
	if req.Method != http.MethodConnect {
		io.WriteString(c, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		return
	}
	if p.auth != "" {
		user, pass, _ := strings.Cut(p.auth, ":")
		if req.Header.Get("Proxy-Authorization") != hbBasic(user, pass) || req.RequestURI == p.refuse {
			io.WriteString(c, "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"test proxy\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
			return
		}
	}
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		return
	}
	track(server)
	defer server.Close()
	io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
	done := make(chan struct{})
	go func() {
		io.Copy(server, br) // br: what the client sent after the CONNECT too
		server.(*net.TCPConn).CloseWrite()
		close(done)
	}()
	io.Copy(c, server)
	c.(*net.TCPConn).CloseWrite()
	<-done
}

// hbTrap listens on 127.0.0.1 and counts the connections made to it,
// closing each: a proxy that must not be used.
func hbTrap(t *testing.T) (hostPort string, conns *atomic.Int32) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	conns = new(atomic.Int32)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			c.Close()
		}
	}()
	return l.Addr().String(), conns
}

const (
	hbProxyUser = "proxy-user"
	hbProxyPass = "pr0xy/p@ss" // in a URL: pr0xy%2Fp%40ss
)

// hbProxyURL is the URL of a proxy at hostPort, with hbProxyUser and
// hbProxyPass when creds is set.
func hbProxyURL(hostPort string, creds bool) string {
	if !creds {
		return "http://" + hostPort
	}
	return "http://" + hbProxyUser + ":pr0xy%2Fp%40ss@" + hostPort
}

// TestHTTPProxy: proxies are chosen from the environment as net/http's
// ProxyFromEnvironment and git choose them.
//
//   - An http:// remote goes through $HTTP_PROXY (or $http_proxy; a proxy
//     given without a scheme is http://), every request in absolute form,
//     with the proxy URL's credentials as Proxy-Authorization, and none
//     when it has none; $HTTPS_PROXY is not used for it.
//   - An https:// remote goes through $HTTPS_PROXY (or $https_proxy) by a
//     CONNECT host:port tunnel, with the proxy's credentials and never the
//     remote's own Authorization on the CONNECT, and TLS inside the tunnel
//     end to end: the server's certificate must be valid for the URL's
//     host (trusted through GIT_SSL_CAINFO here); $HTTP_PROXY is not used
//     for it.
//   - A host $NO_PROXY (or $no_proxy) lists, or every host with "*", is
//     reached directly.
//   - A proxy's password appears in no error.
//
// The remotes are named by hosts that do not resolve (git.invalid) or
// whose address is elsewhere (example.com): only the proxy reaches the
// test's server, whatever host it is asked for. (The client, as Go's
// net/http, never proxies localhost or a loopback address, which is why
// the direct cases use 0.0.0.0, a local address that is not a loopback
// one.)
func TestHTTPProxy(t *testing.T) {
	t.Run("http-upper", func(t *testing.T) { hbForwardProxyCase(t, "HTTP_PROXY", true) })
	t.Run("http-lower", func(t *testing.T) { hbForwardProxyCase(t, "http_proxy", false) })
	t.Run("https-upper", func(t *testing.T) { hbConnectProxyCase(t, "HTTPS_PROXY", true) })
	t.Run("https-lower", func(t *testing.T) { hbConnectProxyCase(t, "https_proxy", false) })
	t.Run("no-proxy-upper", func(t *testing.T) { hbNoProxyCase(t, "HTTP_PROXY", "NO_PROXY", "other.example, 0.0.0.0,127.0.0.1") })
	t.Run("no-proxy-lower", func(t *testing.T) { hbNoProxyCase(t, "http_proxy", "no_proxy", "*") })
}

// hbForwardProxyCase: an http:// remote through the proxy variable
// proxyVar, with proxy credentials when creds is set.
func hbForwardProxyCase(t *testing.T, proxyVar string, creds bool) {
	hbClearProxyEnv(t)
	base := t.TempDir()
	bare := rmHTTPBare(t, base, "remote.git")
	p := &hbForwardProxy{next: hbAuthGate(rmHTTPBackend(t, base))}
	if creds {
		p.auth, p.refuse = hbProxyUser+":"+hbProxyPass, "refused.invalid"
	}
	proxy := p.start(t)
	trap, trapped := hbTrap(t)
	proxyURL := hbProxyURL(proxy, creds)
	if !creds {
		proxyURL = proxy // no scheme: http:// is meant
	}
	t.Setenv(proxyVar, proxyURL)
	t.Setenv("HTTPS_PROXY", hbProxyURL(trap, false))
	ctx := hbContext(t)

	hbRoundTrip(t, ctx, bare, "http://"+rmHTTPUser+":"+rmHTTPPass+"@git.invalid/remote.git")
	lines := p.log.all()
	hbSawServices(t, "the proxy", lines, "http://git.invalid/remote.git")
	wantAuth := ""
	if creds {
		wantAuth = hbBasic(hbProxyUser, hbProxyPass)
	}
	for _, l := range lines {
		if !strings.Contains(l, " HTTP/1.1 ") {
			t.Errorf("proxy request %q: want HTTP/1.1", l)
		}
		if !strings.HasSuffix(l, fmt.Sprintf("proxy-auth=%q", wantAuth)) {
			t.Errorf("proxy request %q: want Proxy-Authorization %q", l, wantAuth)
		}
	}
	if n := trapped.Load(); n != 0 {
		t.Errorf("%d connections to the HTTPS_PROXY, which is not for http:// remotes", n)
	}

	if creds {
		hbProxyRefused(t, ctx, "http://refused.invalid/remote.git")
	}
}

// hbConnectProxyCase: an https:// remote through the proxy variable
// proxyVar, with proxy credentials when creds is set.
func hbConnectProxyCase(t *testing.T, proxyVar string, creds bool) {
	hbClearProxyEnv(t)
	base := t.TempDir()
	bare := rmHTTPBare(t, base, "remote.git")
	backend := hbAuthGate(rmHTTPBackend(t, base))
	var served hbLog
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		served.add("%s https://%s%s tls=%v", req.Method, req.Host, req.URL.RequestURI(), req.TLS != nil)
		backend.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	p := &hbConnectProxy{target: strings.TrimPrefix(srv.URL, "https://")}
	// httptest's certificate is valid for example.com; the port is any.
	const host = "example.com:4443"
	if creds {
		p.auth, p.refuse = hbProxyUser+":"+hbProxyPass, "refused.example:4443"
	}
	proxy := p.start(t)
	trap, trapped := hbTrap(t)
	t.Setenv(proxyVar, hbProxyURL(proxy, creds))
	t.Setenv("HTTP_PROXY", hbProxyURL(trap, false))
	t.Setenv("GIT_SSL_CAINFO", rmCAFile(t, srv))
	ctx := hbContext(t)

	hbRoundTrip(t, ctx, bare, "https://"+rmHTTPUser+":"+rmHTTPPass+"@"+host+"/remote.git")
	connects := p.log.all()
	if len(connects) == 0 {
		t.Fatal("no CONNECT reached the proxy")
	}
	wantAuth := ""
	if creds {
		wantAuth = hbBasic(hbProxyUser, hbProxyPass)
	}
	for _, l := range connects {
		if want := fmt.Sprintf("CONNECT %s proxy-auth=%q authorization=%q", host, wantAuth, ""); l != want {
			t.Errorf("the proxy was asked %q; want %q", l, want)
		}
	}
	hbSawServices(t, "the server", served.all(), "https://"+host+"/remote.git")
	for _, l := range served.all() {
		if !strings.HasSuffix(l, "tls=true") {
			t.Errorf("the server was asked %q outside TLS", l)
		}
	}
	if n := trapped.Load(); n != 0 {
		t.Errorf("%d connections to the HTTP_PROXY, which is not for https:// remotes", n)
	}

	// Inside the tunnel, the certificate is checked against the URL's host:
	// the same server named otherwise is refused.
	before := len(p.log.all())
	_, err := ListRemote(ctx, "https://"+rmHTTPUser+":"+rmHTTPPass+"@gitseal.invalid:4443/remote.git")
	if err == nil || !strings.Contains(err.Error(), "certificate") || strings.Contains(err.Error(), rmHTTPPass) {
		t.Errorf("ListRemote of a host the certificate does not name = %v; want a certificate error, without the password", err)
	}
	if len(p.log.all()) == before {
		t.Errorf("gitseal.invalid was not asked of the proxy; the certificate check was not reached")
	}

	if creds {
		before := len(served.all())
		hbProxyRefused(t, ctx, "https://refused.example:4443/remote.git")
		if after := len(served.all()); after != before {
			t.Errorf("the server was asked %d requests through a proxy that refused the CONNECT", after-before)
		}
	}
}

// hbProxyRefused: an operation on url, which the proxy refuses (407),
// fails without showing the proxy's password.
func hbProxyRefused(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	_, err := ListRemote(ctx, url)
	if err == nil || strings.Contains(err.Error(), hbProxyPass) || strings.Contains(err.Error(), "pr0xy%2Fp%40ss") {
		t.Errorf("ListRemote of %s, which the proxy refuses = %v; want an error without the proxy's password", url, err)
	}
	t.Logf("refused by the proxy: %v", err)
}

// hbNoProxyCase: with proxyVar naming a proxy and noProxyVar set to list,
// which covers 0.0.0.0 and 127.0.0.1, both are reached directly; with
// list not "*", git.invalid still goes through the proxy.
func hbNoProxyCase(t *testing.T, proxyVar, noProxyVar, list string) {
	hbClearProxyEnv(t)
	base := t.TempDir()
	bare := rmHTTPBare(t, base, "remote.git")
	backend := hbAuthGate(rmHTTPBackend(t, base))
	var direct atomic.Int32
	hp := rmHTTPServe(t, func(w http.ResponseWriter, req *http.Request) {
		direct.Add(1)
		backend.ServeHTTP(w, req)
	})
	// Connecting to 0.0.0.0 is connecting to this host (Linux, the BSDs):
	// it reaches the server on 127.0.0.1.
	_, port, _ := net.SplitHostPort(hp)
	p := &hbForwardProxy{next: backend}
	t.Setenv(proxyVar, "http://"+p.start(t))
	t.Setenv(noProxyVar, list)
	ctx := hbContext(t)

	hbRoundTrip(t, ctx, bare, rmHTTPURL("0.0.0.0:"+port, rmHTTPUser, rmHTTPPass, "remote.git"))
	if lines := p.log.all(); len(lines) != 0 {
		t.Errorf("with %s=%q, 0.0.0.0 went through the proxy:\n%s", noProxyVar, list, strings.Join(lines, "\n"))
	}
	if direct.Load() == 0 {
		t.Error("the server was not asked directly")
	}
	if _, err := ListRemote(ctx, rmHTTPURL("127.0.0.1:"+port, rmHTTPUser, rmHTTPPass, "remote.git")); err != nil {
		t.Errorf("ListRemote of 127.0.0.1, which %s lists: %v", noProxyVar, err)
	}
	if lines := p.log.all(); len(lines) != 0 {
		t.Errorf("with %s=%q, 127.0.0.1 went through the proxy:\n%s", noProxyVar, list, strings.Join(lines, "\n"))
	}
	if list == "*" {
		return
	}
	// A host the list does not name goes through the proxy: the proxy
	// variable is in force.
	if _, err := ListRemote(ctx, rmHTTPURL("git.invalid", rmHTTPUser, rmHTTPPass, "remote.git")); err != nil {
		t.Errorf("ListRemote of git.invalid through the proxy: %v", err)
	}
	if lines := p.log.all(); len(lines) == 0 {
		t.Error("git.invalid, which the list does not name, did not go through the proxy")
	}
}

// ---- Redirects ----

// TestHTTPRedirect: a redirect of the info/refs GET (301, 302, 307, 308;
// its Location a path, a relative reference with dot segments, or an
// absolute URL) is followed; the POSTs that follow go to the repository
// the GET ended at, as git sends them, never to the one first named; and
// the URL's credentials go along to the same origin.
func TestHTTPRedirect(t *testing.T) {
	for _, tc := range []struct {
		code int
		loc  string
	}{{301, "path"}, {302, "absolute"}, {307, "dots"}, {308, "absolute"}} {
		t.Run(fmt.Sprintf("%d-%s", tc.code, tc.loc), func(t *testing.T) {
			t.Parallel()
			base := t.TempDir()
			bare := rmHTTPBare(t, base, "new.git")
			backend := rmHTTPBackend(t, base)
			var log hbLog
			hp := rmHTTPServe(t, func(w http.ResponseWriter, req *http.Request) {
				log.add("%s %s auth=%v", req.Method, req.URL.RequestURI(), hbAuthorized(req))
				if !hbAuthorized(req) {
					http.Error(w, "authentication required", http.StatusUnauthorized)
					return
				}
				if req.Method == http.MethodGet && req.URL.Path == "/old.git/info/refs" {
					target := "/new.git/info/refs?" + req.URL.RawQuery
					switch tc.loc {
					case "dots":
						target = "../../new.git/info/refs?" + req.URL.RawQuery
					case "absolute":
						target = "http://" + req.Host + target
					}
					w.Header().Set("Location", target)
					w.WriteHeader(tc.code)
					io.WriteString(w, "moved\n")
					return
				}
				backend.ServeHTTP(w, req)
			})
			hbRoundTrip(t, hbContext(t), bare, rmHTTPURL(hp, rmHTTPUser, rmHTTPPass, "old.git"))
			lines := log.all()
			hbSawServices(t, "the server", lines, "/new.git")
			authorized := 0
			for _, l := range lines {
				if strings.HasPrefix(l, "POST /old.git") {
					t.Errorf("a POST went to the repository the GET was redirected from: %s", l)
				}
				if strings.Contains(l, " /new.git/") && strings.HasSuffix(l, "auth=true") {
					authorized++
				}
			}
			if authorized < len(hbServices)+1 { // + the GET of ListRemote
				t.Errorf("only %d requests to the redirected-to repository carried the credentials:\n%s", authorized, strings.Join(lines, "\n"))
			}
		})
	}
}

// TestHTTPRedirectCredentials: a redirect to another origin (the same
// host on another port, or another host) is followed, and the URL's
// credentials go neither with the redirected GET nor with the POSTs after
// it; they did go to the URL's own origin.
func TestHTTPRedirectCredentials(t *testing.T) {
	for _, tc := range []struct{ name, host string }{
		{"other-port", "127.0.0.1"},
		{"other-host", "localhost"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			base := t.TempDir()
			bare := rmHTTPBare(t, base, "new.git")
			backend := rmHTTPBackend(t, base)
			var toLog, fromLog hbLog
			to := rmHTTPServe(t, func(w http.ResponseWriter, req *http.Request) {
				toLog.add("%s %s authorization=%q", req.Method, req.URL.RequestURI(), req.Header.Get("Authorization"))
				backend.ServeHTTP(w, req)
			})
			_, port, _ := net.SplitHostPort(to)
			target := "http://" + net.JoinHostPort(tc.host, port)
			from := rmHTTPServe(t, func(w http.ResponseWriter, req *http.Request) {
				fromLog.add("%s %s auth=%v", req.Method, req.URL.RequestURI(), hbAuthorized(req))
				if !hbAuthorized(req) {
					http.Error(w, "authentication required", http.StatusUnauthorized)
					return
				}
				if req.Method != http.MethodGet || req.URL.Path != "/old.git/info/refs" {
					http.NotFound(w, req)
					return
				}
				http.Redirect(w, req, target+"/new.git/info/refs?"+req.URL.RawQuery, http.StatusFound)
			})
			hbRoundTrip(t, hbContext(t), bare, rmHTTPURL(from, rmHTTPUser, rmHTTPPass, "old.git"))
			hbSawServices(t, "the server redirected to", toLog.all(), "/new.git")
			var leaked []string
			for _, l := range toLog.all() {
				if !strings.HasSuffix(l, `authorization=""`) {
					leaked = append(leaked, l)
				}
			}
			authorized := 0
			for _, l := range fromLog.all() {
				if !strings.HasPrefix(l, "GET /old.git/info/refs?") {
					t.Errorf("the server redirected from was asked %s", l)
				}
				if strings.HasSuffix(l, "auth=true") {
					authorized++
				}
			}
			if authorized != 3 { // Push, ListRemote, Fetch
				t.Errorf("%d requests carried the credentials to the URL's own origin, want 3:\n%s", authorized, fromLog.String())
			}
			if len(leaked) != 0 {
				t.Errorf("the URL's credentials went to %s, another origin:\n%s", target, strings.Join(leaked, "\n"))
			}
		})
	}
}

// TestHTTPRedirectLimit: a chain of 10 redirects is followed to its end;
// one of 11 fails, saying so, without reaching its end.
func TestHTTPRedirectLimit(t *testing.T) {
	base := t.TempDir()
	bare := rmHTTPBare(t, base, "remote.git")
	seed := rmRepo(t, 1, 1)
	rmGit(t, seed, "push", "-q", bare, "main", "refs/gitseal/*:refs/gitseal/*")
	want := rmGit(t, bare, "rev-parse", "refs/gitseal/publish/prod")
	backend := rmHTTPBackend(t, base)
	var hops, ends atomic.Int32
	// /hops/N/remote.git is redirected to /hops/N-1/remote.git, and
	// /hops/0/remote.git is remote.git.
	hp := rmHTTPServe(t, func(w http.ResponseWriter, req *http.Request) {
		n, rest, _ := strings.Cut(strings.TrimPrefix(req.URL.Path, "/hops/"), "/")
		k, err := strconv.Atoi(n)
		switch {
		case err != nil:
			http.NotFound(w, req)
		case k > 0:
			hops.Add(1)
			w.Header().Set("Location", fmt.Sprintf("/hops/%d/%s?%s", k-1, rest, req.URL.RawQuery))
			w.WriteHeader(http.StatusFound)
		default:
			ends.Add(1)
			req.URL.Path = "/" + rest
			backend.ServeHTTP(w, req)
		}
	})
	ctx := hbContext(t)
	refs, err := ListRemote(ctx, rmHTTPURL(hp, "", "", "hops/10/remote.git"))
	if err != nil || refs["refs/gitseal/publish/prod"].String() != want {
		t.Fatalf("ListRemote through 10 redirects = %v, %v; want refs/gitseal/publish/prod at %s", refs, err, want)
	}
	if hops.Load() != 10 || ends.Load() != 1 {
		t.Fatalf("%d redirects and %d answers; want 10 and 1", hops.Load(), ends.Load())
	}
	hops.Store(0)
	ends.Store(0)
	_, err = ListRemote(ctx, rmHTTPURL(hp, "", "", "hops/11/remote.git"))
	if err == nil || !strings.Contains(err.Error(), "redirect") {
		t.Errorf("ListRemote through 11 redirects = %v; want an error about redirects", err)
	}
	if ends.Load() != 0 {
		t.Errorf("the end of a chain of 11 redirects was reached")
	}
	t.Logf("%d redirects answered before giving up", hops.Load())
}

// ---- Framing ----

// hbFramed serves next's answers with the framing its mode names:
//
//   - "content-length": with a Content-Length, the connection kept alive
//     (net/http's server); a client that reads until the server closes
//     waits for ever.
//   - "chunked": chunked by hand, with chunks of odd sizes, hexadecimal
//     sizes in both cases, a chunk extension and a trailer; the answer
//     says Connection: close, but the connection is left open until the
//     client closes it, so that only the framing says where the body ends.
//   - "until-close": neither a Content-Length nor chunked: the body ends
//     where the server closes the connection.
//
// It counts the answers it framed, and the "chunked" connections the
// client did not close.
type hbFramed struct {
	mode     string
	next     http.Handler
	served   atomic.Int32
	leftOpen atomic.Int32
	waiting  sync.WaitGroup // for the client to close a "chunked" connection
}

func (f *hbFramed) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	rec := httptest.NewRecorder()
	f.next.ServeHTTP(rec, req)
	res := rec.Result()
	body := rec.Body.Bytes()
	res.Header.Del("Content-Length")
	res.Header.Del("Transfer-Encoding")
	f.served.Add(1)
	if f.mode == "content-length" {
		for k, v := range res.Header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(res.StatusCode)
		w.Write(body)
		return
	}
	f.waiting.Add(1)
	defer f.waiting.Done()
	conn, bw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	fmt.Fprintf(bw, "HTTP/1.1 %d %s\r\n", res.StatusCode, http.StatusText(res.StatusCode))
	res.Header.Set("Connection", "close")
	if f.mode == "chunked" {
		res.Header.Set("Transfer-Encoding", "chunked")
		res.Header.Set("Trailer", "X-Gitseal-Trailer")
	}
	res.Header.Write(bw)
	io.WriteString(bw, "\r\n")
	if f.mode == "until-close" {
		bw.Write(body)
		bw.Flush()
		return
	}
	sizes := []int{1, 7, 4093, 2, 300, 1 << 14}
	for i := 0; len(body) > 0; i++ {
		n := min(sizes[i%len(sizes)], len(body))
		switch i % 3 {
		case 0:
			fmt.Fprintf(bw, "%x\r\n", n)
		case 1:
			fmt.Fprintf(bw, "%X;gitseal=ext\r\n", n)
		default:
			fmt.Fprintf(bw, "%04x\r\n", n)
		}
		bw.Write(body[:n])
		io.WriteString(bw, "\r\n")
		body = body[n:]
	}
	io.WriteString(bw, "0\r\nX-Gitseal-Trailer: end\r\n\r\n")
	bw.Flush()
	conn.SetReadDeadline(time.Now().Add(hbFailsafe))
	if _, err := io.Copy(io.Discard, bw); err != nil {
		f.leftOpen.Add(1) // the failsafe, not the client, ended the wait
	}
}

// TestHTTPResponseFraming: answers framed by a Content-Length, chunked
// (with extensions and a trailer), or by the end of the connection are
// all read whole, in the advertisement and in the answers to POSTs; a
// connection the server said it would close is closed by the client.
// (Chunked as net/http's server chunks git http-backend's answers is what
// every other HTTP test reads.)
func TestHTTPResponseFraming(t *testing.T) {
	for _, mode := range []string{"content-length", "chunked", "until-close"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			base := t.TempDir()
			bare := rmHTTPBare(t, base, "remote.git")
			f := &hbFramed{mode: mode, next: rmHTTPBackend(t, base)}
			hp := rmHTTPServe(t, f.ServeHTTP)
			hbRoundTrip(t, hbContext(t), bare, rmHTTPURL(hp, "", "", "remote.git"))
			if n := f.served.Load(); n < int32(len(hbServices)) {
				t.Errorf("only %d answers were framed %s", n, mode)
			}
			f.waiting.Wait() // bounded by the failsafe
			if n := f.leftOpen.Load(); n != 0 {
				t.Errorf("%d connections whose answers said Connection: close were left open", n)
			}
		})
	}
}

// TestHTTPRequestFraming: a push whose request fits in 1 MiB is sent with
// its Content-Length; a larger one (a blob of 1.5 MiB of random bytes) is
// sent chunked, and arrives whole: the server reads it to its last chunk
// and hands it to git with its length (net/http/cgi refuses a chunked
// request), git takes the pack (whose checksum it checks) and moves the
// ref, and git fsck finds the blob whole.
func TestHTTPRequestFraming(t *testing.T) {
	base := t.TempDir()
	bare := rmHTTPBare(t, base, "remote.git")
	backend := rmHTTPBackend(t, base)
	type post struct {
		contentLength, received int64
		header                  string
		chunked                 bool
	}
	var mu sync.Mutex
	var posts []post
	hp := rmHTTPServe(t, func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost || !strings.HasSuffix(req.URL.Path, "/git-receive-pack") {
			backend.ServeHTTP(w, req)
			return
		}
		p := post{contentLength: req.ContentLength, header: req.Header.Get("Content-Length"), chunked: slices.Contains(req.TransferEncoding, "chunked")}
		// CGI takes no chunked request (net/http/cgi answers 400): the
		// body is read whole here and given to git with its length.
		body, err := io.ReadAll(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		p.received = int64(len(body))
		mu.Lock()
		posts = append(posts, p)
		mu.Unlock()
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = p.received
		req.TransferEncoding = nil
		req.Header.Set("Content-Length", strconv.FormatInt(p.received, 10))
		backend.ServeHTTP(w, req)
	})
	url := rmHTTPURL(hp, "", "", "remote.git")
	ctx := hbContext(t)
	local := rmRepo(t, 1, 1)
	r, err := Open(local)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	push := func(ref string) {
		t.Helper()
		h := rmHash(t, rmGit(t, local, "rev-parse", ref))
		if _, err := r.Push(ctx, url, func(map[string]Hash) ([]RefUpdate, error) {
			return []RefUpdate{{Name: ref, New: h}}, nil
		}); err != nil {
			t.Fatalf("pushing %s: %v", ref, err)
		}
		if got := rmGit(t, bare, "rev-parse", ref); got != h.String() {
			t.Fatalf("after the push the remote has %s at %s, want %s", ref, got, h)
		}
	}
	last := func() post {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		if len(posts) == 0 {
			t.Fatal("no push reached the server")
		}
		p := posts[len(posts)-1]
		posts = nil
		return p
	}

	push("refs/gitseal/publish/prod")
	small := last()
	if small.chunked || small.contentLength <= 0 || small.header != strconv.FormatInt(small.received, 10) {
		t.Errorf("a small push was sent chunked=%v with Content-Length %q (%d bytes received); want its length",
			small.chunked, small.header, small.received)
	}

	big := make([]byte, 3<<19)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(local, "big.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	rmGit(t, local, "add", "big.bin")
	rmGit(t, local, "commit", "-q", "-m", "big")
	push("refs/heads/main")
	large := last()
	if !large.chunked || large.contentLength != -1 || large.header != "" {
		t.Errorf("a push of %d bytes was sent chunked=%v with Content-Length %q; want it chunked", large.received, large.chunked, large.header)
	}
	if large.received <= httpPostBuffer {
		t.Errorf("the server received %d bytes of the large push; want more than %d", large.received, httpPostBuffer)
	}
	if got := rmGit(t, bare, "cat-file", "-s", "refs/heads/main:big.bin"); got != strconv.Itoa(len(big)) {
		t.Errorf("big.bin on the remote is %s bytes, want %d", got, len(big))
	}
	rmFsck(t, bare)
}

// ---- Cancellation ----

// TestHTTPCancelWhileReading: cancelling an operation while the server is
// in the middle of an answer (it has sent the headers and part of the
// body, then stalls) makes the operation return an error that wraps
// context.Canceled, and closes the connection (the server sees it go).
// The advertisement (GET) and the answers to fetch and push (POSTs) are
// each stalled in turn.
func TestHTTPCancelWhileReading(t *testing.T) {
	base := t.TempDir()
	bare := rmHTTPBare(t, base, "remote.git")
	local, r := rmSeeded(t, bare, 1, 1)
	next := rmHash(t, rmChain(t, local, "refs/gitseal/publish/prod", 1))
	_, o := rmEmptyRepo(t)
	backend := rmHTTPBackend(t, base)
	before := rmSnapshot(t, bare)
	for _, tc := range []struct {
		name    string
		stall   string // the path of the request answered in part
		partial string // the part of the body sent
		run     func(ctx context.Context, url string) error
	}{
		{"advertisement", "/remote.git/info/refs", "001e# service=git-upload-pack\n0000003f", func(ctx context.Context, url string) error {
			_, err := ListRemote(ctx, url)
			return err
		}},
		{"fetch", "/remote.git/git-upload-pack", "0008NAK\n0020\x01PACK", func(ctx context.Context, url string) error {
			_, err := o.Fetch(ctx, url, func(string) bool { return true })
			return err
		}},
		{"push", "/remote.git/git-receive-pack", "0030\x01000eunpack ok\n", func(ctx context.Context, url string) error {
			_, err := r.Push(ctx, url, func(remote map[string]Hash) ([]RefUpdate, error) {
				return []RefUpdate{{Name: "refs/gitseal/publish/prod", Old: remote["refs/gitseal/publish/prod"], New: next}}, nil
			})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sent, gone := make(chan struct{}), make(chan struct{})
			var once sync.Once
			hp := rmHTTPServe(t, func(w http.ResponseWriter, req *http.Request) {
				if req.URL.Path != tc.stall {
					backend.ServeHTTP(w, req)
					return
				}
				io.Copy(io.Discard, req.Body) // then net/http watches for the client's close
				if req.Method == http.MethodGet {
					w.Header().Set("Content-Type", "application/x-"+req.URL.Query().Get("service")+"-advertisement")
				} else {
					w.Header().Set("Content-Type", "application/x-"+strings.TrimPrefix(tc.stall, "/remote.git/")+"-result")
				}
				w.WriteHeader(http.StatusOK)
				io.WriteString(w, tc.partial)
				http.NewResponseController(w).Flush()
				first := false
				once.Do(func() { first = true; close(sent) })
				if !first {
					return
				}
				select {
				case <-req.Context().Done():
					close(gone)
				case <-time.After(hbFailsafe):
				}
			})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			errc := make(chan error, 1)
			go func() { errc <- tc.run(ctx, rmHTTPURL(hp, "", "", "remote.git")) }()
			select {
			case <-sent:
			case err := <-errc:
				t.Fatalf("returned before the server stalled: %v", err)
			case <-time.After(hbFailsafe):
				t.Fatal("the server was never asked the request to stall")
			}
			cancel()
			select {
			case err := <-errc:
				if !errors.Is(err, context.Canceled) {
					t.Errorf("cancelled while reading an answer: %v; want an error wrapping context.Canceled", err)
				}
			case <-time.After(hbFailsafe):
				t.Fatal("still running long after it was cancelled")
			}
			select {
			case <-gone:
			case <-time.After(hbFailsafe):
				t.Error("the connection was not closed after the cancel")
			}
		})
	}
	if after := rmSnapshot(t, bare); after != before {
		t.Errorf("the remote changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}
