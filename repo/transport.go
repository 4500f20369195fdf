package repo

// Transports: how the wire protocol (wire.go) reaches a remote.
//
//   - file:// URLs and paths run git-upload-pack / git-receive-pack on the
//     path, as git and go-git do for a local remote, with the variables
//     that point git at this repository removed from their environment.
//   - git://host[:port]/path speaks to git daemon over TCP.
//   - ssh://[user@]host[:port]/path and scp-like [user@]host:path (the host
//     bracketed to give a port: [host:port]:path, user@[host:port]:path)
//     run the service on the host with the ssh client, as git does:
//     $GIT_SSH_COMMAND (through the shell), else core.sshCommand (the
//     same), else $GIT_SSH, else ssh.
//     Keys, ssh-agent, known_hosts and ~/.ssh/config are then the user's
//     own ssh setup. The port is passed the way the program takes it
//     (git's ssh.variant: -p for OpenSSH, -P for plink, none for "simple").
//   - http(s):// is git's smart HTTP over gitseal's own HTTP/1.1 client
//     (httpclient.go: linking net/http cost every command about 0.5 ms),
//     with the user and password (or token) of the URL as basic
//     authentication, sent to the URL's own origin only, and an http://
//     proxy from $HTTPS_PROXY / $HTTP_PROXY / $NO_PROXY as Go reads them
//     (never for localhost). A query string in the URL is kept on every
//     request, as git keeps it. Server certificates are checked against the
//     system's roots, or, as git has it, against the PEM file
//     $GIT_SSL_CAINFO or http.sslCAInfo names instead. Not supported:
//     HTTP/2 only servers, https:// or SOCKS proxies, http.proxy config.
//
// A password in a URL never appears in an error: messages name the remote
// by its URL with the password replaced by "***".

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/go-git/go-git/v5/plumbing/format/pktline"
)

const (
	uploadPack  = "git-upload-pack"
	receivePack = "git-receive-pack"
)

// endpoint is a parsed remote address.
type endpoint struct {
	scheme     string // file, git, ssh, http, https
	user, pass string
	passSet    bool
	host, port string // port "" for the scheme's default
	path       string
	httpURL    *neturl.URL // http(s): the URL without its user info
}

// parseEndpoint parses a URL, an scp-like address or a path, as git does.
func parseEndpoint(raw string) (*endpoint, error) {
	if i := strings.Index(raw, "://"); i > 0 {
		u, err := neturl.Parse(raw)
		if err != nil {
			var ue *neturl.Error
			if errors.As(err, &ue) {
				err = ue.Err // its message quotes the URL, password and all
			}
			return nil, fmt.Errorf("not a valid URL: %w", err)
		}
		ep := &endpoint{scheme: strings.ToLower(u.Scheme), host: u.Hostname(), port: u.Port(), path: u.Path}
		if u.User != nil {
			ep.user = u.User.Username()
			ep.pass, ep.passSet = u.User.Password()
		}
		switch ep.scheme {
		case "file":
			if ep.host != "" && ep.host != "localhost" {
				return nil, fmt.Errorf("file:// URL names host %q; only local paths can be read", ep.host)
			}
		case "git":
		case "ssh", "git+ssh", "ssh+git":
			ep.scheme = "ssh"
			if strings.HasPrefix(ep.path, "/~") {
				ep.path = ep.path[1:]
			}
		case "http", "https":
			c := *u
			c.User = nil
			ep.httpURL = &c
		default:
			return nil, fmt.Errorf("unsupported protocol %q (gitseal speaks file, git, ssh, http and https)", u.Scheme)
		}
		if ep.scheme != "file" && ep.host == "" {
			return nil, errors.New("the URL names no host")
		}
		if ep.path == "" || (ep.scheme != "http" && ep.scheme != "https" && ep.path == "/") {
			return nil, errors.New("the URL names no repository path")
		}
		return ep, nil
	}
	// scp-like: a ':' before any '/'.
	if i := strings.IndexByte(raw, ':'); i > 0 && !strings.Contains(raw[:i], "/") {
		return parseSCPLike(raw)
	}
	if raw == "" {
		return nil, errors.New("empty remote address")
	}
	return &endpoint{scheme: "file", path: raw}, nil
}

// parseSCPLike parses [user@]host:path as git does (connect.c): the host
// ends at the first ':', unless it is bracketed ([host], user@[host]), when
// it ends at the ']' and may hold a colon: [host:port]:path names a port
// when what follows the host's first ':' is a port number, and [::1]:path
// an IPv6 address.
func parseSCPLike(raw string) (*endpoint, error) {
	bad := func(why string) error {
		return fmt.Errorf("not a valid [user@]host:path address: %s", why)
	}
	ep := &endpoint{scheme: "ssh"}
	open := strings.IndexByte(raw, '[')
	if open >= 0 && !strings.ContainsAny(raw[:open], ":/") && (open == 0 || raw[open-1] == '@') {
		end := strings.IndexByte(raw[open:], ']')
		if end < 0 {
			return nil, bad("'[' without ']'")
		}
		end += open
		if end+1 >= len(raw) || raw[end+1] != ':' {
			return nil, bad("no ':' after the bracketed host")
		}
		ep.user = strings.TrimSuffix(raw[:open], "@")
		ep.host, ep.path = raw[open+1:end], raw[end+2:]
		if h, port, ok := strings.Cut(ep.host, ":"); ok && validPort(port) {
			ep.host, ep.port = h, port
		}
	} else {
		i := strings.IndexByte(raw, ':')
		hostPart := raw[:i]
		ep.host, ep.path = hostPart, raw[i+1:]
		if at := strings.LastIndexByte(hostPart, '@'); at >= 0 {
			ep.user, ep.host = hostPart[:at], hostPart[at+1:]
		}
	}
	if ep.host == "" {
		return nil, bad("no host")
	}
	if ep.path == "" {
		return nil, bad("no repository path")
	}
	return ep, nil
}

// validPort reports whether s is a port number as git's get_port takes
// one: decimal digits, below 65536.
func validPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && s[0] >= '0' && s[0] <= '9' && n < 65536
}

// redactURL is raw with any password in it, and the values of any query
// parameters, replaced by "***".
func redactURL(raw string) string {
	i := strings.Index(raw, "://")
	if i < 0 {
		return raw
	}
	rest := raw[i+3:]
	end := strings.IndexByte(rest, '/') // a '?' or '#' in a password is not its end
	if end < 0 {
		end = strings.IndexAny(rest, "?#")
		if end < 0 {
			end = len(rest)
		}
	}
	authority, tail := rest[:end], rest[end:]
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		userInfo := authority[:at]
		if name, _, hasPass := strings.Cut(userInfo, ":"); hasPass {
			userInfo = name + ":***"
		}
		authority = userInfo + authority[at:]
	}
	// A query string may carry a token (?access_token=…): its values go.
	if q := strings.IndexByte(tail, '?'); q >= 0 {
		query, frag, hasFrag := strings.Cut(tail[q+1:], "#")
		params := strings.Split(query, "&")
		for k, p := range params {
			if name, _, ok := strings.Cut(p, "="); ok {
				params[k] = name + "=***"
			}
		}
		tail = tail[:q+1] + strings.Join(params, "&")
		if hasFrag {
			tail += "#" + frag
		}
	}
	return raw[:i+3] + authority + tail
}

// wireConn is one connection to a git service of a remote.
type wireConn interface {
	// advert reads the service's ref advertisement.
	advert(ctx context.Context) (*advert, error)
	// request sends what write writes and returns the response stream;
	// wait returns write's error once it has finished.
	request(ctx context.Context, write func(io.Writer) error) (resp io.Reader, wait func() error, err error)
	// close ends the connection; a stateful one that sent no request is
	// told first that nothing is wanted (a flush-pkt), as git does.
	close() error
}

// configFunc looks up a git config variable (ssh.variant) for a
// transport: the repository's config, or the user's when there is no
// repository.
type configFunc func(key string) (string, bool)

// dial connects to the service of url.
func dial(ctx context.Context, url, service string, config configFunc) (wireConn, error) {
	ep, err := parseEndpoint(url)
	if err != nil {
		return nil, err
	}
	switch ep.scheme {
	case "file":
		return dialLocal(ctx, ep, service)
	case "git":
		return dialDaemon(ctx, ep, service)
	case "ssh":
		return dialSSH(ctx, ep, service, config)
	default:
		return &httpConn{ep: ep, service: service, config: config}, nil
	}
}

// streamConn is a stateful connection: one byte stream each way.
type streamConn struct {
	r       io.Reader
	w       io.WriteCloser
	finish  func() error // after w is closed: wait for the other end
	explain func() error // nil, or why the other end failed (a process's stderr)
	sent    bool
}

func (c *streamConn) advert(ctx context.Context) (*advert, error) {
	a, err := readAdvert(c.r)
	if err != nil && c.explain != nil {
		// The process's own account of what went wrong says more than a
		// stream that ended: a missing repository, a refused host key.
		if why := c.explain(); why != nil {
			var known *classified
			if errors.As(why, &known) || !errors.Is(err, errNoRepository) {
				return nil, why
			}
			return nil, fmt.Errorf("%w: %v", errNoRepository, why)
		}
	}
	return a, err
}

func (c *streamConn) request(ctx context.Context, write func(io.Writer) error) (io.Reader, func() error, error) {
	c.sent = true
	wait := inBackground(func() error {
		err := write(c.w)
		if cerr := c.w.Close(); err == nil {
			err = cerr
		}
		return err
	})
	return c.r, wait, nil
}

// inBackground runs fn in a goroutine; wait returns its error once it has
// returned (and again on later calls).
func inBackground(fn func() error) (wait func() error) {
	done := make(chan error, 1)
	go func() { done <- fn() }()
	var once sync.Once
	var err error
	return func() error {
		once.Do(func() { err = <-done })
		return err
	}
}

func (c *streamConn) close() error {
	if !c.sent {
		pktline.NewEncoder(c.w).Flush()
	}
	c.w.Close()
	if c.finish != nil {
		return c.finish()
	}
	return nil
}

// localRepoEnv are the variables that point git at a repository: a local
// service must find its repository from its argument alone (git's own
// list, environment.c local_repo_env).
var localRepoEnv = []string{"GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_CONFIG", "GIT_CONFIG_PARAMETERS",
	"GIT_CONFIG_COUNT", "GIT_OBJECT_DIRECTORY", "GIT_DIR", "GIT_WORK_TREE", "GIT_IMPLICIT_WORK_TREE",
	"GIT_GRAFT_FILE", "GIT_INDEX_FILE", "GIT_NO_REPLACE_OBJECTS", "GIT_REPLACE_REF_BASE", "GIT_PREFIX",
	"GIT_SHALLOW_FILE", "GIT_COMMON_DIR", "GIT_NAMESPACE", "GIT_QUARANTINE_PATH", "GIT_INTERNAL_SUPER_PREFIX",
	"GIT_PROTOCOL"} // gitseal speaks protocol v0 only

func dialLocal(ctx context.Context, ep *endpoint, service string) (wireConn, error) {
	if _, err := os.Stat(ep.path); err != nil {
		return nil, fmt.Errorf("%w: %s does not exist", errNoRepository, ep.path)
	}
	var cmd *exec.Cmd
	if bin, err := exec.LookPath(service); err == nil {
		cmd = exec.Command(bin, ep.path)
	} else if git, gerr := exec.LookPath("git"); gerr == nil {
		cmd = exec.Command(git, strings.TrimPrefix(service, "git-"), ep.path)
	} else {
		return nil, fmt.Errorf("a local remote is read by running %s, which is not installed: %w", service, err)
	}
	env := os.Environ()
	kept := env[:0]
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		drop := strings.HasPrefix(k, "GIT_CONFIG_KEY_") || strings.HasPrefix(k, "GIT_CONFIG_VALUE_")
		for _, v := range localRepoEnv {
			drop = drop || k == v
		}
		if !drop {
			kept = append(kept, kv)
		}
	}
	cmd.Env = kept
	return startService(ctx, cmd, nil)
}

// startService runs cmd, a process speaking a git service on its standard
// input and output (git-upload-pack, or ssh running it on a host). When the
// conversation fails early, the first line of its standard error explains
// why; classify may turn that text into a more telling error.
func startService(ctx context.Context, cmd *exec.Cmd, classify func(stderr string) error) (wireConn, error) {
	stderr := &capBuffer{max: 4096}
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	// Its own process group, killed whole when ctx ends: a shell running
	// GIT_SSH_COMMAND may leave ssh as its child, holding stdout open.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("running %s: %w", filepath.Base(cmd.Path), err)
	}
	stop := context.AfterFunc(ctx, func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		stdout.Close()
	})
	var waitOnce sync.Once
	wait := func() {
		waitOnce.Do(func() {
			io.Copy(io.Discard, stdout) // whatever is still coming is not wanted
			cmd.Wait()
			stop()
		})
	}
	return &streamConn{
		r: stdout, w: stdin,
		finish: func() error { wait(); return nil },
		explain: func() error {
			stdin.Close()
			wait()
			text := stderr.String()
			if classify != nil {
				if err := classify(text); err != nil {
					return &classified{err}
				}
			}
			if line := firstLine(text); line != "" {
				return errors.New(line)
			}
			return nil
		},
	}, nil
}

// classified is a failure recognised in a service process's stderr (a
// refused host key, a refused login), reported as it is.
type classified struct{ error }

func (c *classified) Unwrap() error { return c.error }

// capBuffer keeps the first max bytes written to it.
type capBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (b *capBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *capBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// firstLine is the first non-empty line of s, without git's "fatal: ".
func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return strings.TrimPrefix(l, "fatal: ")
		}
	}
	return ""
}

func dialDaemon(ctx context.Context, ep *endpoint, service string) (wireConn, error) {
	port := ep.port
	if port == "" {
		port = "9418"
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(ep.host, port))
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	host := ep.host
	if ep.port != "" {
		host = net.JoinHostPort(ep.host, ep.port)
	}
	if err := pktline.NewEncoder(conn).EncodeString(service + " " + ep.path + "\x00host=" + host + "\x00"); err != nil {
		conn.Close()
		return nil, err
	}
	tcp, _ := conn.(*net.TCPConn)
	return &streamConn{
		r: conn,
		w: writeCloser{conn, func() error {
			if tcp != nil {
				return tcp.CloseWrite()
			}
			return nil
		}},
		finish: func() error {
			stop()
			return conn.Close()
		},
	}, nil
}

type writeCloser struct {
	io.Writer
	closeFn func() error
}

func (w writeCloser) Close() error { return w.closeFn() }

// sshVariant is how an ssh program takes its options (git's ssh.variant).
type sshVariant int

const (
	// variantAuto: the program's name says nothing; probed with -G when
	// it matters.
	variantAuto sshVariant = iota
	// variantSimple takes the host and the command only.
	variantSimple
	// variantSSH is OpenSSH: -p port.
	variantSSH
	// variantPlink is PuTTY's plink, or putty: -P port. (git tells the two
	// apart only for -4/-6, which gitseal never passes.)
	variantPlink
	// variantTortoisePlink is TortoiseGit's plink: -batch, -P port.
	variantTortoisePlink
)

// sshProgram is the ssh program git would run, as git picks it:
// GIT_SSH_COMMAND (a shell command line), else core.sshCommand (the same),
// else GIT_SSH (a program), else ssh.
type sshProgram struct {
	cmdline string // GIT_SSH_COMMAND or core.sshCommand, run through the shell
	path    string // otherwise, the program
}

func findSSH(config configFunc) (sshProgram, error) {
	if c := os.Getenv("GIT_SSH_COMMAND"); c != "" {
		return sshProgram{cmdline: c}, nil
	}
	if config != nil {
		if c, ok := config("core.sshCommand"); ok && c != "" {
			return sshProgram{cmdline: c}, nil
		}
	}
	if p := os.Getenv("GIT_SSH"); p != "" {
		return sshProgram{path: p}, nil
	}
	bin, err := exec.LookPath("ssh")
	if err != nil {
		return sshProgram{}, fmt.Errorf("ssh:// remotes are reached with the ssh client, which is not installed (or set GIT_SSH_COMMAND): %w", err)
	}
	return sshProgram{path: bin}, nil
}

// command runs the program with args, as git does: a command line through
// the shell with the arguments after it, a program directly.
func (p sshProgram) command(ctx context.Context, args ...string) *exec.Cmd {
	if p.cmdline != "" {
		return exec.CommandContext(ctx, "/bin/sh", append([]string{"-c", p.cmdline + ` "$@"`, "ssh"}, args...)...)
	}
	return exec.CommandContext(ctx, p.path, args...)
}

// name is the program's file name: the first word of a command line.
func (p sshProgram) name() string {
	if p.cmdline == "" {
		return filepath.Base(p.path)
	}
	return filepath.Base(firstShellWord(p.cmdline))
}

// firstShellWord is the first word of a command line, with the quoting
// git's split_cmdline undoes ('…', "…", backslash inside double quotes).
func firstShellWord(s string) string {
	s = strings.TrimLeft(s, " \t\n")
	var b strings.Builder
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote == 0 && (c == ' ' || c == '\t' || c == '\n'):
			return b.String()
		case quote == 0 && (c == '\'' || c == '"'):
			quote = c
		case quote != 0 && c == quote:
			quote = 0
		case quote == '"' && c == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// sshVariantOf determines the variant as git does: $GIT_SSH_VARIANT, else
// the ssh.variant config ("auto" asks for detection; a value not known
// means ssh), else the program's name (ssh, plink, tortoiseplink, with or
// without .exe, in any case).
func sshVariantOf(p sshProgram, config configFunc) sshVariant {
	v, set := os.LookupEnv("GIT_SSH_VARIANT")
	if !set && config != nil {
		v, set = config("ssh.variant")
	}
	if set {
		switch v {
		case "auto":
		case "plink", "putty":
			return variantPlink
		case "tortoiseplink":
			return variantTortoisePlink
		case "simple":
			return variantSimple
		default:
			return variantSSH
		}
	}
	switch strings.ToLower(p.name()) {
	case "ssh", "ssh.exe":
		return variantSSH
	case "plink", "plink.exe":
		return variantPlink
	case "tortoiseplink", "tortoiseplink.exe":
		return variantTortoisePlink
	}
	return variantAuto
}

// sshArgs are the arguments to run service on the remote of ep with a
// program of variant v.
func sshArgs(ep *endpoint, service string, v sshVariant, prog string) ([]string, error) {
	var args []string
	if v == variantTortoisePlink {
		args = append(args, "-batch")
	}
	if ep.port != "" {
		switch v {
		case variantSSH:
			args = append(args, "-p", ep.port)
		case variantPlink, variantTortoisePlink:
			args = append(args, "-P", ep.port)
		default:
			return nil, fmt.Errorf("ssh: the address names port %s, but %s takes no options (ssh variant \"simple\"): set the port in ~/.ssh/config instead, or set GIT_SSH_VARIANT (or `git config ssh.variant`) to ssh, plink, putty or tortoiseplink, whichever the program is", ep.port, prog)
		}
	}
	return append(args, ep.target(), service+" "+sqQuote(ep.path)), nil
}

// target is [user@]host, as the ssh program takes it.
func (ep *endpoint) target() string {
	if ep.user != "" {
		return ep.user + "@" + ep.host
	}
	return ep.host
}

func dialSSH(ctx context.Context, ep *endpoint, service string, config configFunc) (wireConn, error) {
	// A host or user that starts with '-' would be read by ssh as an
	// option (CVE-2017-1000117); git refuses them, and so do we.
	if strings.HasPrefix(ep.host, "-") || strings.HasPrefix(ep.user, "-") {
		return nil, fmt.Errorf("ssh: strange host or user name %q refused", ep.user+"@"+ep.host)
	}
	prog, err := findSSH(config)
	if err != nil {
		return nil, err
	}
	v := sshVariantOf(prog, config)
	if v == variantAuto {
		v = variantSimple
		// Only a port needs options. Whether the program takes OpenSSH's
		// is asked of it as git asks: "-G" prints the configuration and
		// connects nowhere.
		if ep.port != "" {
			probe := prog.command(ctx, "-G", "-p", ep.port, ep.target())
			if probe.Run() == nil {
				v = variantSSH
			}
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
	}
	args, err := sshArgs(ep, service, v, prog.name())
	if err != nil {
		return nil, err
	}
	target := ep.target()
	cmd := prog.command(ctx, args...)
	return startService(ctx, cmd, func(stderr string) error {
		switch {
		case strings.Contains(stderr, "Host key verification failed"), strings.Contains(stderr, "REMOTE HOST IDENTIFICATION HAS CHANGED"):
			return fmt.Errorf("ssh %s: the host key could not be verified against known_hosts (%s)", ep.host, firstLine(stderr))
		case strings.Contains(stderr, "Permission denied"):
			return fmt.Errorf("%w: ssh %s: %s (is the key in ssh-agent, or in ~/.ssh?)", errAuthFailed, target, firstLine(stderr))
		case strings.Contains(stderr, "repository"), strings.TrimSpace(stderr) == "":
			return nil // the remote git's own account (no repository there), or nothing
		}
		// ssh's own failure (a name that does not resolve, a refused
		// connection, a closed one): not a missing repository.
		return fmt.Errorf("ssh %s: %s", target, firstLine(stderr))
	})
}

// httpConn is git's smart HTTP: a GET for the advertisement, then one POST
// per request, with gitseal's own client (httpclient.go).
type httpConn struct {
	ep      *endpoint
	service string
	config  configFunc // http.sslCAInfo
	client  *httpClient
	base    neturl.URL // the repository URL, after any redirect of the GET
	body    io.ReadCloser
}

// httpClient is the client for c's requests: one that trusts the system's
// roots, or only the certificates of the PEM file $GIT_SSL_CAINFO or
// http.sslCAInfo names (a company's own authority), as git does.
func (c *httpConn) httpClient() (*httpClient, error) {
	if c.client != nil {
		return c.client, nil
	}
	c.client = &httpClient{}
	file, from := os.Getenv("GIT_SSL_CAINFO"), "GIT_SSL_CAINFO"
	if file == "" && c.config != nil {
		file, _ = c.config("http.sslCAInfo")
		from = "http.sslCAInfo"
	}
	if file == "" {
		return c.client, nil
	}
	pem, err := os.ReadFile(expandHome(file))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", from, err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: %s holds no PEM certificate", from, file)
	}
	c.client.roots = roots
	return c.client, nil
}

func (c *httpConn) do(ctx context.Context, req httpRequest) (*httpResponse, error) {
	client, err := c.httpClient()
	if err != nil {
		return nil, err
	}
	req.header = append(req.header, "User-Agent: git/2.0 (gitseal)")
	// The URL's credentials go to the URL's own scheme, host and port only,
	// never to where a redirect led.
	if c.ep.user != "" || c.ep.passSet {
		req.auth = func(u *neturl.URL) (string, string, bool) {
			return c.ep.user, c.ep.pass, u.Scheme == c.ep.httpURL.Scheme && u.Host == c.ep.httpURL.Host
		}
	}
	resp, err := client.do(ctx, req)
	if err != nil {
		return nil, err
	}
	anonymous := c.ep.user == "" && !c.ep.passSet
	switch {
	case resp.status == 200:
		return resp, nil
	case resp.status == 401 && anonymous:
		err = fmt.Errorf("%w: the server asks for credentials; put them in the URL (https://USER:TOKEN@host/…)", errAuthRequired)
	case resp.status == 401:
		err = fmt.Errorf("%w: the server refused the URL's credentials (HTTP 401)", errAuthFailed)
	case resp.status == 403 && anonymous:
		err = fmt.Errorf("%w (HTTP 403) to a request without credentials; if the repository needs them, put them in the URL (https://USER:TOKEN@host/…)", errAccessRefused)
	case resp.status == 403:
		err = fmt.Errorf("%w (HTTP 403) with the URL's credentials: the server does not give that account access to this repository (check its permissions, or the token's scopes)", errAccessRefused)
	case resp.status == 404:
		err = fmt.Errorf("%w (HTTP 404)", errNoRepository)
	default:
		err = fmt.Errorf("HTTP %d %s", resp.status, clip(resp.reason))
	}
	resp.body.Close()
	return nil, err
}

func (c *httpConn) advert(ctx context.Context) (*advert, error) {
	u := *c.ep.httpURL
	u.Path = strings.TrimSuffix(u.Path, "/") + "/info/refs"
	u.RawPath, u.Fragment, u.RawFragment = "", "", ""
	// The URL's own query stays (a server may route or authorise by it),
	// with service= appended with '&' as git appends it. (git appends
	// "info/refs" to the URL's text, so with a query its path ends up in
	// the query; the path goes in the path here.)
	if u.RawQuery != "" {
		u.RawQuery += "&"
	}
	u.RawQuery += "service=" + c.service
	resp, err := c.do(ctx, httpRequest{method: "GET", url: &u})
	if err != nil {
		return nil, err
	}
	defer resp.body.Close()
	// A media type may come with parameters ("; charset=utf-8").
	ct := resp.get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/x-"+c.service+"-advertisement" {
		return nil, fmt.Errorf("the server does not speak git's smart HTTP protocol (answered %q)", clip(ct))
	}
	final := *resp.url
	final.User = nil
	final.Path = strings.TrimSuffix(final.Path, "/info/refs")
	final.RawPath = ""
	final.RawQuery = strings.TrimSuffix(strings.TrimSuffix(final.RawQuery, "service="+c.service), "&")
	c.base = final
	s := pktline.NewScanner(resp.body)
	if !s.Scan() || strings.TrimSuffix(string(s.Bytes()), "\n") != "# service="+c.service {
		return nil, fmt.Errorf("malformed smart HTTP advertisement: %v", wireErr(s.Err()))
	}
	if !s.Scan() || len(s.Bytes()) != 0 {
		return nil, fmt.Errorf("malformed smart HTTP advertisement: %v", wireErr(s.Err()))
	}
	return readAdvert(resp.body)
}

// httpPostBuffer is the largest request sent with a Content-Length (git's
// http.postBuffer default); a larger one, a big push, is sent chunked.
const httpPostBuffer = 1 << 20

func (c *httpConn) request(ctx context.Context, write func(io.Writer) error) (io.Reader, func() error, error) {
	pr, pw := io.Pipe()
	wait := inBackground(func() error {
		err := write(pw)
		pw.CloseWithError(err)
		return err
	})
	// Some servers (CGI ones among them) take no chunked request: send
	// what fits in the buffer with its length, as git does.
	// (A buffer that grows to what is written: a fetch request is a few
	// hundred bytes, and allocating the whole limit each time cost 1 MiB.)
	var head bytes.Buffer
	_, err := io.CopyN(&head, pr, httpPostBuffer+1)
	req := httpRequest{method: "POST", length: -1}
	switch {
	case err == io.EOF:
		req.body, req.length = bytes.NewReader(head.Bytes()), int64(head.Len())
	case err != nil:
		wait()
		return nil, nil, err
	default:
		req.body = io.MultiReader(&head, pr)
	}
	u := c.base
	u.Path = strings.TrimSuffix(u.Path, "/") + "/" + c.service
	req.url = &u
	req.header = []string{
		"Content-Type: application/x-" + c.service + "-request",
		"Accept: application/x-" + c.service + "-result",
	}
	resp, err := c.do(ctx, req)
	if err != nil {
		pr.CloseWithError(err)
		wait()
		return nil, nil, err
	}
	c.body = resp.body
	return resp.body, wait, nil
}

func (c *httpConn) close() error {
	if c.body != nil {
		return c.body.Close()
	}
	return nil
}

// remoteErr names the operation and the remote (without its password).
// When ctx has ended, the error is ctx's (see interrupted).
func remoteErr(ctx context.Context, op, url string, err error) error {
	return fmt.Errorf("%s %s: %w", op, redactURL(url), interrupted(ctx, err))
}

// interrupted is err, or, when ctx has ended, ctx's error in its place
// (with the cause given to cancel, if any): ending ctx kills the service
// process or closes the connection under the operation, and the error
// that makes (a broken pipe, a closed file, an early end of stream) says
// nothing of why.
func interrupted(ctx context.Context, err error) error {
	cerr := ctx.Err()
	if err == nil || cerr == nil {
		return err
	}
	if cause := context.Cause(ctx); cause != nil && cause != cerr && !errors.Is(err, cause) {
		return fmt.Errorf("%w: %w", cerr, cause)
	}
	if errors.Is(err, cerr) {
		return err
	}
	return cerr
}
