package repo

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	neturl "net/url"
	"strings"
	"testing"
	"time"
)

func TestNoProxy(t *testing.T) {
	for _, tc := range []struct {
		list, host, port string
		want             bool
	}{
		{"", "git.example.com", "", false},
		{"*", "git.example.com", "", true},
		{"example.com", "example.com", "", true},
		{"example.com", "git.example.com", "", true},
		{"example.com", "notexample.com", "", false},
		{".example.com", "example.com", "", false},
		{".example.com", "git.example.com", "", true},
		{"other.org, example.com", "git.example.com", "", true},
		{"other.org example.com", "git.example.com", "", true},
		{"EXAMPLE.com", "Git.Example.COM", "", true},
		{"example.com:8443", "git.example.com", "8443", true},
		{"example.com:8443", "git.example.com", "443", false},
		{"10.0.0.0/8", "10.1.2.3", "", true},
		{"10.0.0.0/8", "11.1.2.3", "", false},
		{"10.0.0.0/8", "ten.example", "", false},
		{"192.0.2.7", "192.0.2.7", "", true},
		{"192.0.2.7", "192.0.2.8", "", false},
		{"[2001:db8::1]:443", "2001:db8::1", "443", true},
		{"*.example.com", "git.example.com", "", true},
		{"*.example.com", "example.com", "", false},
	} {
		if got := noProxy(tc.list, tc.host, tc.port); got != tc.want {
			t.Errorf("noProxy(%q, %q, %q) = %v, want %v", tc.list, tc.host, tc.port, got, tc.want)
		}
	}
}

func TestProxyFor(t *testing.T) {
	for _, name := range []string{"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy", "REQUEST_METHOD"} {
		t.Setenv(name, "")
	}
	u := func(s string) *neturl.URL {
		v, err := neturl.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	check := func(target, want string) {
		t.Helper()
		p, err := proxyFor(u(target))
		got := ""
		if err != nil {
			got = "error"
		} else if p != nil {
			got = p.String()
		}
		if got != want {
			t.Errorf("proxyFor(%s) = %q, want %q", target, got, want)
		}
	}
	check("https://git.example.com/r.git", "")
	t.Setenv("https_proxy", "http://low.example:3128")
	check("https://git.example.com/r.git", "http://low.example:3128")
	t.Setenv("HTTPS_PROXY", "proxy.example:3128") // no scheme, as curl takes it
	check("https://git.example.com/r.git", "http://proxy.example:3128")
	check("http://git.example.com/r.git", "") // HTTPS_PROXY is for https only
	t.Setenv("HTTP_PROXY", "http://u:p@plain.example:8080")
	check("http://git.example.com/r.git", "http://u:p@plain.example:8080")
	check("https://127.0.0.1:8443/r.git", "") // loopback is never proxied
	check("https://localhost/r.git", "")
	check("https://[::1]/r.git", "")
	t.Setenv("NO_PROXY", "example.com:443") // the scheme's port counts
	check("https://git.example.com/r.git", "")
	check("https://git.example.com:8443/r.git", "http://proxy.example:3128")
	t.Setenv("NO_PROXY", "example.com")
	check("https://git.example.com/r.git", "")
	check("https://git.example.org/r.git", "http://proxy.example:3128")
	t.Setenv("HTTPS_PROXY", "socks5://proxy.example:1080")
	check("https://git.example.org/r.git", "error")
	t.Setenv("REQUEST_METHOD", "GET") // under CGI, HTTP_PROXY may be a request's header
	check("http://git.example.org/r.git", "error")
}

func TestChunkedReader(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		err            error // nil: read to EOF
	}{
		{"plain", "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world", nil},
		{"extensions and trailers", "5;name=v\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n", "hello", nil},
		{"upper-case hex, LF only", "A\n0123456789\n0\n\n", "0123456789", nil},
		{"cut in a chunk", "5\r\nhel", "hel", io.ErrUnexpectedEOF},
		{"cut before the last chunk", "5\r\nhello\r\n", "hello", io.ErrUnexpectedEOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := io.ReadAll(&chunkedReader{r: bufio.NewReader(strings.NewReader(tc.in))})
			if string(got) != tc.want || (tc.err == nil) != (err == nil) || (tc.err != nil && !errors.Is(err, tc.err)) {
				t.Errorf("read %q, %v; want %q, %v", got, err, tc.want, tc.err)
			}
		})
	}
	for _, bad := range []string{"zz\r\nhello\r\n0\r\n\r\n", "5\r\nhelloXX\r\n0\r\n\r\n", "-5\r\nhello\r\n0\r\n\r\n"} {
		if _, err := io.ReadAll(&chunkedReader{r: bufio.NewReader(strings.NewReader(bad))}); err == nil {
			t.Errorf("chunked body %q read without an error", bad)
		}
	}
}

func TestReadResponse(t *testing.T) {
	parse := func(raw, method string) (*httpResponse, string, error) {
		br := bufio.NewReaderSize(strings.NewReader(raw), httpMaxLine) // as roundTrip reads
		resp, err := readResponse(br)
		if err != nil {
			return nil, "", err
		}
		body, err := responseBody(br, method, resp)
		if err != nil {
			return resp, "", err
		}
		b, err := io.ReadAll(body)
		return resp, string(b), err
	}
	resp, body, err := parse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: a/b; x=y\r\ncontent-length: 5\r\n\r\nhelloEXTRA", "GET")
	if err != nil || resp.status != 200 || resp.get("Content-Type") != "a/b; x=y" || body != "hello" {
		t.Errorf("after a 100: %+v %q %v", resp, body, err)
	}
	if _, body, err = parse("HTTP/1.0 200 OK\r\n\r\nuntil the end", "GET"); body != "until the end" || err != nil {
		t.Errorf("no length: %q %v", body, err)
	}
	if _, body, err = parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", "POST"); body != "abc" || err != nil {
		t.Errorf("chunked: %q %v", body, err)
	}
	if _, _, err = parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "GET"); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short body: %v, want io.ErrUnexpectedEOF", err)
	}
	if _, body, err = parse("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", "GET"); body != "" || err != nil {
		t.Errorf("204: %q %v", body, err)
	}
	long := "HTTP/1.1 404 Not Found\r\nSet-Cookie: " + strings.Repeat("c", 10000) + "\r\nContent-Length: 4\r\n\r\ngone"
	if resp, body, err = parse(long, "GET"); err != nil || resp.status != 404 || body != "gone" {
		t.Errorf("a 10 KB header line: %v %q %v", resp, body, err)
	}
	if resp, _, err = parse("HTTP/1.1 200 OK\r\nContent-Type: application/x-git-upload-pack-advertisement;\r\n charset=utf-8\r\nContent-Length: 0\r\n\r\n", "GET"); err != nil || resp.get("content-type") != "application/x-git-upload-pack-advertisement; charset=utf-8" {
		t.Errorf("a folded header line: %+v %v", resp, err)
	}
	if resp, _, err = parse("HTTP/1.1 500 Bad\x1b[31m red\r\nContent-Length: 0\r\n\r\n", "GET"); err != nil || resp.reason != "Bad[31m red" {
		t.Errorf("reason with a control character: %+v %v", resp, err)
	}
	for _, bad := range []string{
		"SSH-2.0-OpenSSH\r\n",
		"HTTP/1.1 2000 OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
		"HTTP/1.1 200 OK\r\n folded first\r\n\r\n",
		"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n+5\r\nhello\r\n0\r\n\r\n",
		strings.Repeat("HTTP/1.1 103 Early Hints\r\n\r\n", httpMaxInterim+1) + "HTTP/1.1 200 OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", httpMaxLine) + "\r\n\r\n",
		"HTTP/1.1 200 OK\r\n",
	} {
		if _, _, err := parse(bad, "GET"); err == nil {
			t.Errorf("response %q parsed without an error", clip(bad))
		}
	}
}

// FuzzHTTPResponse: whatever a server sends, reading it ends (no panic, no
// hang) with a body of at most what was sent.
func FuzzHTTPResponse(f *testing.F) {
	f.Add("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
	f.Add("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x\r\nhello\r\n0\r\nT: 1\r\n\r\n")
	f.Add("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 404 Not Found\r\n\r\ngone")
	f.Fuzz(func(t *testing.T, raw string) {
		br := bufio.NewReader(strings.NewReader(raw))
		resp, err := readResponse(br)
		if err != nil {
			return
		}
		body, err := responseBody(br, "GET", resp)
		if err != nil {
			return
		}
		b, _ := io.ReadAll(body)
		if len(b) > len(raw) {
			t.Fatalf("a body of %d bytes from %d bytes sent", len(b), len(raw))
		}
	})
}

// hcServe accepts one connection at a time on 127.0.0.1 and hands each to
// serve; it returns the address. The listener closes when the test ends.
func hcServe(t *testing.T, serve func(c net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go serve(c)
		}
	}()
	return l.Addr().String()
}

// failingBody gives n bytes, then an error.
type failingBody struct {
	n   int
	err error
}

func (f *failingBody) Read(p []byte) (int, error) {
	if f.n == 0 {
		return 0, f.err
	}
	k := min(len(p), f.n)
	f.n -= k
	return k, nil
}

// hcDo runs do with a failsafe: a client that hangs fails the test
// instead of hanging it.
func hcDo(t *testing.T, req httpRequest) (*httpResponse, error) {
	t.Helper()
	type result struct {
		resp *httpResponse
		err  error
	}
	done := make(chan result, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		resp, err := (&httpClient{}).do(ctx, req)
		done <- result{resp, err}
	}()
	select {
	case r := <-done:
		return r.resp, r.err
	case <-time.After(20 * time.Second): // failsafe only
		t.Fatal("the request hung")
		return nil, nil
	}
}

// TestHTTPClientBody: a body that fails at its source ends the request
// with that error (the server, which waits for the rest, is not waited
// for); a server that answers before reading a large body, and keeps the
// connection open, has its answer returned.
func TestHTTPClientBody(t *testing.T) {
	sink := hcServe(t, func(c net.Conn) { io.Copy(io.Discard, c) }) // reads, never answers
	srcErr := errors.New("the pack could not be written")
	u, _ := neturl.Parse("http://" + sink + "/r.git/git-receive-pack")
	for _, length := range []int64{-1, 1 << 20} {
		_, err := hcDo(t, httpRequest{method: "POST", url: u, body: &failingBody{n: 100 << 10, err: srcErr}, length: length})
		if !errors.Is(err, srcErr) {
			t.Errorf("length %d: a body failing at its source = %v; want its error", length, err)
		}
	}

	early := hcServe(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for { // the request's head only
			line, err := br.ReadString('\n')
			if err != nil || line == "\r\n" {
				break
			}
		}
		io.WriteString(c, "HTTP/1.1 401 Unauthorized\r\nContent-Length: 6\r\n\r\nno way")
		time.Sleep(30 * time.Second) // keeps the connection, reading nothing
		c.Close()
	})
	u, _ = neturl.Parse("http://" + early + "/r.git/git-receive-pack")
	resp, err := hcDo(t, httpRequest{method: "POST", url: u, body: &failingBody{n: 64 << 20, err: io.EOF}, length: -1})
	if err != nil || resp.status != 401 {
		t.Fatalf("a server answering before reading the body: %v, %v; want its 401", resp, err)
	}
	body, _ := io.ReadAll(resp.body)
	resp.body.Close()
	if string(body) != "no way" {
		t.Errorf("body of the early answer = %q", body)
	}
}

// TestHTTPClientRedirectWithoutHost: a redirect to a URL with no host
// (which would dial a local port) is refused.
func TestHTTPClientRedirectWithoutHost(t *testing.T) {
	addr := hcServe(t, func(c net.Conn) {
		bufio.NewReader(c).ReadString('\n')
		io.WriteString(c, "HTTP/1.1 302 Found\r\nLocation: http://:1/x\r\nContent-Length: 0\r\n\r\n")
		c.Close()
	})
	u, _ := neturl.Parse("http://" + addr + "/r.git/info/refs")
	if _, err := hcDo(t, httpRequest{method: "GET", url: u}); err == nil || !strings.Contains(err.Error(), "without a host") {
		t.Fatalf("a redirect to http://:1/x = %v; want it refused", err)
	}
}

// TestHTTPClientRedirectQuerySpace: a redirect whose query holds a raw
// space is followed with the space escaped, so the request line stays
// three words.
func TestHTTPClientRedirectQuerySpace(t *testing.T) {
	lines := make(chan string, 2)
	addr := hcServe(t, func(c net.Conn) {
		defer c.Close()
		line, _ := bufio.NewReader(c).ReadString('\n')
		lines <- strings.TrimRight(line, "\r\n")
		if strings.HasPrefix(line, "GET /old") {
			io.WriteString(c, "HTTP/1.1 302 Found\r\nLocation: /new?a b\r\nContent-Length: 0\r\n\r\n")
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	})
	u, _ := neturl.Parse("http://" + addr + "/old")
	resp, err := hcDo(t, httpRequest{method: "GET", url: u})
	if err != nil || resp.status != 200 {
		t.Fatalf("GET through the redirect: %v, %v", resp, err)
	}
	resp.body.Close()
	<-lines
	if got := <-lines; got != "GET /new?a%20b HTTP/1.1" {
		t.Fatalf("the redirected request line = %q", got)
	}
}
