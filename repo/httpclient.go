package repo

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	neturl "net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// gitseal's HTTP/1.1 client, for git's smart HTTP (httpConn in
// transport.go): one request per connection, TLS against the system's
// roots or a given set, redirects of GETs, a proxy from the environment as
// Go and curl take it. It exists because linking net/http costs every
// gitseal process, whatever the command, about half a millisecond of
// package initialisation and page faults (http2, hpack, idna, textproto,
// mime/multipart ...), which is 3–5 % of `gitseal run`; git's smart HTTP
// needs very little of what net/http does.

// httpRequest is one request; auth, when set, gives the basic credentials
// for a URL (the client asks it again for every redirect).
type httpRequest struct {
	method string
	url    *neturl.URL
	header []string // "Name: value" lines
	body   io.Reader
	length int64 // the body's length; -1: unknown, sent chunked
	auth   func(u *neturl.URL) (user, pass string, ok bool)
}

// httpResponse is a response whose body is being read from the connection;
// closing the body closes the connection.
type httpResponse struct {
	status int
	reason string // "Not Found"
	header map[string][]string
	body   io.ReadCloser
	url    *neturl.URL // the URL that answered, after any redirect
}

// get returns the first value of a header (names are case-insensitive).
func (r *httpResponse) get(name string) string {
	if v := r.header[strings.ToLower(name)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// httpClient sends requests. roots nil means the system's roots.
type httpClient struct {
	roots *x509.CertPool
}

const (
	httpMaxRedirects = 10
	httpMaxLine      = 64 << 10 // one header line
	httpMaxHeader    = 1 << 20  // all of a response's header lines, or its trailers
	httpMaxInterim   = 10       // 1xx responses before the final one
	httpDialTimeout  = 30 * time.Second
	httpTLSTimeout   = 10 * time.Second
)

// do sends req, following up to httpMaxRedirects redirects of a GET (never
// from https to anything else), and returns the response, whatever its
// status.
func (c *httpClient) do(ctx context.Context, req httpRequest) (*httpResponse, error) {
	first := req.url
	for hops := 0; ; hops++ {
		resp, err := c.roundTrip(ctx, req)
		if err != nil {
			return nil, err
		}
		switch resp.status {
		case 301, 302, 303, 307, 308:
		default:
			return resp, nil
		}
		loc := resp.get("Location")
		if req.method != "GET" || loc == "" {
			return resp, nil
		}
		resp.body.Close()
		next, err := req.url.Parse(loc)
		if err != nil {
			return nil, fmt.Errorf("the server redirected to an address that is not a URL: %w", err)
		}
		if first.Scheme == "https" && next.Scheme != "https" {
			return nil, fmt.Errorf("the server redirected from https to %s; refusing to go on without TLS", next.Scheme)
		}
		if next.Scheme != "http" && next.Scheme != "https" {
			return nil, fmt.Errorf("the server redirected to a %s: URL", next.Scheme)
		}
		if next.Hostname() == "" {
			return nil, errors.New("the server redirected to a URL without a host")
		}
		if hops >= httpMaxRedirects {
			return nil, fmt.Errorf("stopped after %d redirects", httpMaxRedirects)
		}
		next.User = nil
		req.url = next
	}
}

// roundTrip sends one request on a new connection and reads the response's
// header.
func (c *httpClient) roundTrip(ctx context.Context, req httpRequest) (*httpResponse, error) {
	u := req.url
	proxy, err := proxyFor(u)
	if err != nil {
		return nil, err
	}
	addr := hostPort(u)
	dialer := net.Dialer{Timeout: httpDialTimeout, KeepAlive: 30 * time.Second}
	dialAddr := addr
	if proxy != nil {
		dialAddr = hostPort(proxy)
	}
	raw, err := dialer.DialContext(ctx, "tcp", dialAddr)
	if err != nil {
		return nil, err
	}
	conn := raw // raw, or TLS over it
	// Ending ctx closes the connection under whatever reads or writes it.
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	fail := func(err error) (*httpResponse, error) {
		stop()
		raw.Close()
		return nil, err
	}
	if proxy != nil && u.Scheme == "https" {
		if err := connectTunnel(conn, proxy, addr); err != nil {
			return fail(err)
		}
	}
	if u.Scheme == "https" {
		tc := tls.Client(conn, &tls.Config{ServerName: u.Hostname(), RootCAs: c.roots, NextProtos: []string{"http/1.1"}})
		hctx, cancel := context.WithTimeout(ctx, httpTLSTimeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			return fail(err)
		}
		conn = tc
	}
	w := bufio.NewWriter(conn)
	target := u.RequestURI()
	if proxy != nil && u.Scheme == "http" {
		abs := *u // a forward proxy is asked for the absolute URL
		abs.User, abs.Fragment, abs.RawFragment = nil, "", ""
		target = abs.String()
	}
	// A redirect's query may hold a raw space, which url.Parse keeps and
	// which would end the request line's target early.
	target = strings.ReplaceAll(target, " ", "%20")
	fmt.Fprintf(w, "%s %s HTTP/1.1\r\nHost: %s\r\n", req.method, target, u.Host)
	for _, h := range req.header {
		fmt.Fprintf(w, "%s\r\n", h)
	}
	if req.auth != nil {
		if user, pass, ok := req.auth(u); ok {
			fmt.Fprintf(w, "Authorization: Basic %s\r\n", base64.StdEncoding.EncodeToString([]byte(user+":"+pass)))
		}
	}
	if proxy != nil && u.Scheme == "http" {
		writeProxyAuth(w, proxy)
	}
	switch {
	case req.body == nil:
	case req.length >= 0:
		fmt.Fprintf(w, "Content-Length: %d\r\n", req.length)
	default:
		w.WriteString("Transfer-Encoding: chunked\r\n")
	}
	w.WriteString("Connection: close\r\n\r\n")
	// The body is written while the response is read, as net/http does: a
	// server may answer (a refusal) before it has read all of a body, and
	// what it said is worth more than a broken pipe or a full window. A
	// body that fails at its source closes the connection, or the server
	// would wait for the rest of it and the response for ever.
	written := make(chan error, 1)
	go func() {
		err := writeBody(w, req.body, req.length)
		if err == nil {
			err = w.Flush()
		}
		var src *bodySourceError
		if errors.As(err, &src) {
			raw.Close()
		}
		written <- err
	}()
	br := bufio.NewReaderSize(conn, httpMaxLine)
	resp, rerr := readResponse(br)
	if rerr != nil {
		raw.Close()
		werr := <-written
		var src *bodySourceError
		if errors.As(werr, &src) {
			return fail(src.err)
		}
		return fail(rerr)
	}
	resp.url = u
	body, err := responseBody(br, req.method, resp)
	if err != nil {
		return fail(err)
	}
	resp.body = &connBody{Reader: body, conn: conn, stop: stop}
	return resp, nil
}

// bodySourceError is a request body that failed where it comes from (not
// in being sent).
type bodySourceError struct{ err error }

func (e *bodySourceError) Error() string { return e.err.Error() }

// writeBody writes body, of length bytes, or chunked when length is -1. It
// stops at the first error, of the body (a *bodySourceError) or of the
// connection.
func writeBody(w *bufio.Writer, body io.Reader, length int64) error {
	if body == nil {
		return nil
	}
	buf := make([]byte, 32<<10)
	var sent int64
	for {
		n, err := body.Read(buf)
		if n > 0 {
			if length < 0 {
				fmt.Fprintf(w, "%x\r\n", n)
			}
			w.Write(buf[:n])
			if length < 0 {
				w.WriteString("\r\n")
			}
			sent += int64(n)
			if werr := w.Flush(); werr != nil {
				return werr
			}
		}
		switch {
		case err == io.EOF && length < 0:
			_, err = w.WriteString("0\r\n\r\n")
			return err
		case err == io.EOF && sent != length:
			return &bodySourceError{fmt.Errorf("request body of %d bytes, not the %d announced", sent, length)}
		case err == io.EOF:
			return nil
		case err != nil:
			return &bodySourceError{err}
		}
	}
}

// connBody is a response body; closing it closes the connection.
type connBody struct {
	io.Reader
	conn net.Conn
	stop func() bool
}

func (b *connBody) Close() error {
	b.stop()
	return b.conn.Close()
}

// readResponse reads a status line and header lines, skipping interim
// (1xx) responses.
func readResponse(br *bufio.Reader) (*httpResponse, error) {
	for interim := 0; ; interim++ {
		if interim > httpMaxInterim {
			return nil, fmt.Errorf("more than %d interim (1xx) HTTP responses", httpMaxInterim)
		}
		line, err := readHeaderLine(br)
		if err != nil {
			return nil, fmt.Errorf("reading the HTTP response: %w", noEOF(err))
		}
		proto, rest, _ := strings.Cut(line, " ")
		code, reason, _ := strings.Cut(rest, " ")
		status, err := strconv.Atoi(code)
		if !strings.HasPrefix(proto, "HTTP/1.") || err != nil || len(code) != 3 {
			return nil, fmt.Errorf("not an HTTP/1.x response: %q", clip(line))
		}
		reason = strings.Map(func(r rune) rune { // it may end up on a terminal
			if r < ' ' || r == 0x7f {
				return -1
			}
			return r
		}, reason)
		resp := &httpResponse{status: status, reason: clip(reason), header: map[string][]string{}}
		size, last := 0, "" // last: the header a folded line would continue
		for {
			line, err := readHeaderLine(br)
			if err != nil {
				return nil, fmt.Errorf("reading the HTTP response: %w", noEOF(err))
			}
			if line == "" {
				break
			}
			if size += len(line); size > httpMaxHeader {
				return nil, errors.New("the HTTP response's header is too large")
			}
			if line[0] == ' ' || line[0] == '\t' {
				// A folded line (obs-fold) continues the previous value:
				// RFC 9112 §5.2 has it read as one space.
				if last == "" {
					return nil, fmt.Errorf("malformed HTTP header line %q", clip(line))
				}
				v := resp.header[last]
				v[len(v)-1] += " " + strings.TrimSpace(line)
				continue
			}
			name, value, ok := strings.Cut(line, ":")
			if !ok || name == "" || strings.ContainsAny(name, " \t") {
				return nil, fmt.Errorf("malformed HTTP header line %q", clip(line))
			}
			name = strings.ToLower(name)
			resp.header[name] = append(resp.header[name], strings.TrimSpace(value))
			last = name
		}
		if status >= 200 || status < 100 || status == 101 {
			return resp, nil
		}
	}
}

// readHeaderLine reads one line without its CRLF (or LF).
func readHeaderLine(br *bufio.Reader) (string, error) {
	line, err := br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		return "", errors.New("an HTTP header line is too long")
	}
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(line), "\r\n"), nil
}

// responseBody frames the body as RFC 9112 §6.3 does: none for a HEAD or
// a 204 or 304; chunked; Content-Length bytes; or up to the close.
func responseBody(br *bufio.Reader, method string, resp *httpResponse) (io.Reader, error) {
	if method == "HEAD" || resp.status == 204 || resp.status == 304 {
		return strings.NewReader(""), nil
	}
	if te := resp.header["transfer-encoding"]; len(te) > 0 {
		// Only chunked alone: a body still compressed (gzip, chunked)
		// would reach git's parser as is.
		if len(te) != 1 || !strings.EqualFold(te[0], "chunked") {
			return nil, fmt.Errorf("unsupported Transfer-Encoding %q", clip(strings.Join(te, ", ")))
		}
		return &chunkedReader{r: br}, nil
	}
	if cl := resp.header["content-length"]; len(cl) > 0 {
		n, err := strconv.ParseUint(cl[0], 10, 63)
		if err != nil {
			return nil, fmt.Errorf("bad Content-Length %q", clip(cl[0]))
		}
		for _, v := range cl[1:] {
			if v != cl[0] {
				return nil, errors.New("conflicting Content-Length headers")
			}
		}
		return &exactReader{r: br, n: int64(n)}, nil
	}
	return br, nil
}

// exactReader reads n bytes, and fails if the stream ends before.
type exactReader struct {
	r io.Reader
	n int64
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > e.n {
		p = p[:e.n]
	}
	n, err := e.r.Read(p)
	e.n -= int64(n)
	if err == io.EOF && e.n > 0 {
		err = io.ErrUnexpectedEOF
	}
	if e.n == 0 && err == nil {
		err = io.EOF
	}
	return n, err
}

// chunkedReader decodes a chunked body (RFC 9112 §7.1), trailers ignored.
type chunkedReader struct {
	r    *bufio.Reader
	left int64 // of the current chunk
	more bool  // a chunk was read: its CRLF comes before the next size
	err  error
}

func (c *chunkedReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if c.left == 0 {
		if c.more {
			if line, err := readHeaderLine(c.r); err != nil || line != "" {
				c.err = errors.New("malformed chunked HTTP body")
				return 0, c.err
			}
		}
		line, err := readHeaderLine(c.r)
		if err != nil {
			c.err = fmt.Errorf("reading a chunked HTTP body: %w", noEOF(err))
			return 0, c.err
		}
		size, _, _ := strings.Cut(line, ";")
		u, err := strconv.ParseUint(strings.TrimSpace(size), 16, 63)
		if err != nil {
			c.err = fmt.Errorf("malformed chunk size %q", clip(line))
			return 0, c.err
		}
		n := int64(u)
		if n == 0 {
			for total := 0; ; { // trailers, up to the empty line
				line, err := readHeaderLine(c.r)
				if err != nil {
					c.err = fmt.Errorf("reading a chunked HTTP body: %w", noEOF(err))
					return 0, c.err
				}
				if line == "" {
					break
				}
				if total += len(line); total > httpMaxHeader {
					c.err = errors.New("the trailers of a chunked HTTP body are too large")
					return 0, c.err
				}
			}
			c.err = io.EOF
			return 0, io.EOF
		}
		c.left, c.more = n, true
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		c.err = err
	}
	return n, err
}

// hostPort is the address to dial for u: its host and its port, or the
// scheme's.
func hostPort(u *neturl.URL) string {
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// proxyFor is the proxy for u, from the environment as Go's
// http.ProxyFromEnvironment reads it: HTTPS_PROXY (https_proxy) for https
// URLs, HTTP_PROXY (http_proxy) for http ones, none for a host NO_PROXY
// (no_proxy) lists, nor for localhost or a loopback address. Only http://
// proxies are supported.
func proxyFor(u *neturl.URL) (*neturl.URL, error) {
	host := u.Hostname()
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return nil, nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil, nil
	}
	name := "HTTP_PROXY"
	if u.Scheme == "https" {
		name = "HTTPS_PROXY"
	}
	raw := getenvEither(name)
	if raw == "" {
		return nil, nil
	}
	if name == "HTTP_PROXY" && os.Getenv("REQUEST_METHOD") != "" {
		// Under CGI, HTTP_PROXY may come from a request's Proxy: header
		// ("httpoxy"); Go refuses it there too.
		return nil, errors.New("refusing to use HTTP_PROXY in a CGI environment (REQUEST_METHOD is set)")
	}
	_, port, _ := net.SplitHostPort(hostPort(u)) // the scheme's port when the URL has none
	if noProxy(getenvEither("NO_PROXY"), host, port) {
		return nil, nil
	}
	p, err := neturl.Parse(raw)
	if err != nil || p.Host == "" {
		p, err = neturl.Parse("http://" + raw) // "proxy.example:3128", as curl takes it
	}
	if err != nil || p.Host == "" {
		return nil, fmt.Errorf("%s is not a proxy URL", name)
	}
	if p.Scheme != "http" {
		return nil, fmt.Errorf("%s: a %s:// proxy is not supported (only http://)", name, p.Scheme)
	}
	return p, nil
}

// getenvEither is $NAME, else $name.
func getenvEither(name string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return os.Getenv(strings.ToLower(name))
}

// noProxy reports whether list (NO_PROXY) exempts host on port: "*"; an IP
// address or a CIDR block it falls in; a domain it is or is under (only
// under, with a leading "." or "*."); each optionally with a port that must
// match.
func noProxy(list, host, port string) bool {
	ip := net.ParseIP(host)
	for _, entry := range strings.FieldsFunc(strings.ToLower(list), func(r rune) bool { return r == ',' || r == ' ' }) {
		if entry == "*" {
			return true
		}
		if _, block, err := net.ParseCIDR(entry); err == nil {
			if ip != nil && block.Contains(ip) {
				return true
			}
			continue
		}
		name, p := entry, ""
		if h, pp, err := net.SplitHostPort(entry); err == nil {
			name, p = h, pp
		}
		if strings.HasPrefix(name, "*.") { // as Go reads it: subdomains only
			name = name[1:]
		}
		if p != "" && p != port {
			continue
		}
		if eip := net.ParseIP(name); eip != nil {
			if ip != nil && eip.Equal(ip) {
				return true
			}
			continue
		}
		h := strings.ToLower(host)
		if strings.HasPrefix(name, ".") {
			if strings.HasSuffix(h, name) {
				return true
			}
		} else if h == name || strings.HasSuffix(h, "."+name) {
			return true
		}
	}
	return false
}

// connectTunnel asks an http proxy on conn for a tunnel to addr.
func connectTunnel(conn net.Conn, proxy *neturl.URL, addr string) error {
	w := bufio.NewWriter(conn)
	fmt.Fprintf(w, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n", addr, addr)
	writeProxyAuth(w, proxy)
	w.WriteString("\r\n")
	if err := w.Flush(); err != nil {
		return fmt.Errorf("proxy %s: %w", proxy.Host, err)
	}
	// Read byte by byte up to the header's end, so that nothing of the
	// TLS stream behind it is taken.
	br := bufio.NewReaderSize(&oneByteReader{conn}, 4096)
	resp, err := readResponse(br)
	if err != nil {
		return fmt.Errorf("proxy %s: %w", proxy.Host, err)
	}
	if resp.status != 200 {
		return fmt.Errorf("proxy %s refused the tunnel to %s: HTTP %d %s", proxy.Host, addr, resp.status, resp.reason)
	}
	return nil
}

// oneByteReader reads one byte at a time.
type oneByteReader struct{ r io.Reader }

func (o *oneByteReader) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	return o.r.Read(p)
}

// writeProxyAuth sends the proxy URL's credentials, if any.
func writeProxyAuth(w *bufio.Writer, proxy *neturl.URL) {
	if proxy.User == nil {
		return
	}
	pass, _ := proxy.User.Password()
	cred := base64.StdEncoding.EncodeToString([]byte(proxy.User.Username() + ":" + pass))
	fmt.Fprintf(w, "Proxy-Authorization: Basic %s\r\n", cred)
}
