package repo

// Remote operations against a real SSH server: an x/crypto/ssh server
// written here that runs git upload-pack / git receive-pack as child
// processes, reached the way git reaches it: the ssh client, with keys in a
// real ssh-agent (SSH_AUTH_SOCK) and the server's host key in a known_hosts
// file named through GIT_SSH_COMMAND, HOME a fresh directory. The tests use
// t.Setenv, so none of them runs in parallel. They skip when the ssh
// client, ssh-agent, ssh-add or ssh-keygen is not installed.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// rmSSHServer serves the repositories under root over SSH to one user
// ("git") holding one key.
type rmSSHServer struct {
	t      testing.TB
	root   string
	cfg    *ssh.ServerConfig
	ln     net.Listener
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	closed bool
	conns  map[net.Conn]bool
	ran    []string // commands run, as "upload-pack path"
}

// rmSSHServe starts an SSH server on 127.0.0.1 with a fresh ed25519 host
// key, accepting only user "git" with the key authorized. It is stopped,
// with every connection and child process it has, when the test ends.
func rmSSHServe(t testing.TB, root string, authorized ssh.PublicKey) (*rmSSHServer, ssh.PublicKey) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	s := &rmSSHServer{t: t, root: root, conns: map[net.Conn]bool{}}
	s.cfg = &ssh.ServerConfig{
		PublicKeyCallback: func(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if meta.User() == "git" && bytes.Equal(key.Marshal(), authorized.Marshal()) {
				return nil, nil
			}
			return nil, fmt.Errorf("key %s of %s not authorized", ssh.FingerprintSHA256(key), meta.User())
		},
	}
	s.cfg.AddHostKey(signer)
	s.ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	t.Cleanup(s.close)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := s.ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			if s.closed {
				s.mu.Unlock()
				c.Close()
				return
			}
			s.conns[c] = true
			s.wg.Add(1)
			s.mu.Unlock()
			go s.serveConn(c)
		}
	}()
	return s, signer.PublicKey()
}

func (s *rmSSHServer) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// commands returns the commands the server has run.
func (s *rmSSHServer) commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ran...)
}

func (s *rmSSHServer) close() {
	s.cancel() // kills children still running
	s.ln.Close()
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *rmSSHServer) serveConn(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		c.Close()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}()
	sc, chans, reqs, err := ssh.NewServerConn(c, s.cfg)
	if err != nil {
		s.t.Logf("ssh server: handshake: %v", err)
		return
	}
	defer sc.Close()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ssh.DiscardRequests(reqs)
	}()
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "sessions only")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			continue
		}
		s.wg.Add(1)
		go s.serveSession(ch, creqs)
	}
}

// serveSession runs the session's exec request and reports its exit status.
func (s *rmSSHServer) serveSession(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer s.wg.Done()
	defer ch.Close()
	for req := range reqs {
		if req.Type != "exec" {
			if req.WantReply {
				req.Reply(false, nil)
			}
			continue
		}
		var p struct{ Command string }
		if err := ssh.Unmarshal(req.Payload, &p); err != nil {
			req.Reply(false, nil)
			continue
		}
		args, err := s.command(p.Command)
		if err != nil {
			s.t.Logf("ssh server: %v", err)
			req.Reply(false, nil)
			continue
		}
		req.Reply(true, nil)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			ssh.DiscardRequests(reqs)
		}()
		status := s.run(ch, args)
		ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{status}))
		return
	}
}

// command maps "git-upload-pack '<path>'" or "git-receive-pack '<path>'" to
// the arguments of git running it on a repository under root, and refuses
// anything else.
func (s *rmSSHServer) command(line string) ([]string, error) {
	verb, arg, _ := strings.Cut(line, " ")
	if verb != "git-upload-pack" && verb != "git-receive-pack" {
		return nil, fmt.Errorf("refused command %q", line)
	}
	path, err := rmSQDequote(arg)
	if err != nil {
		return nil, fmt.Errorf("refused command %q: %v", line, err)
	}
	rel := filepath.FromSlash(strings.TrimPrefix(path, "/"))
	if !filepath.IsLocal(rel) {
		return nil, fmt.Errorf("refused command %q: path outside the served directory", line)
	}
	sub := strings.TrimPrefix(verb, "git-")
	s.mu.Lock()
	s.ran = append(s.ran, sub+" "+filepath.ToSlash(rel))
	s.mu.Unlock()
	return []string{sub, filepath.Join(s.root, rel)}, nil
}

// rmSQDequote undoes git's sq_quote: one argument in single quotes, where a
// quote or a bang inside is written as close quote, backslash, the
// character, open quote.
func rmSQDequote(s string) (string, error) {
	if !strings.HasPrefix(s, "'") {
		return "", errors.New("argument not quoted")
	}
	s = s[1:]
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '\'')
		if i < 0 {
			return "", errors.New("unterminated quote")
		}
		b.WriteString(s[:i])
		s = s[i+1:]
		if s == "" {
			return b.String(), nil
		}
		if len(s) >= 3 && s[0] == '\\' && (s[1] == '\'' || s[1] == '!') && s[2] == '\'' {
			b.WriteByte(s[1])
			s = s[3:]
			continue
		}
		return "", fmt.Errorf("more than one argument: %q", s)
	}
}

// run runs git with args, its standard streams wired to the channel, and
// returns its exit status.
func (s *rmSSHServer) run(ch ssh.Channel, args []string) uint32 {
	cmd := exec.CommandContext(s.ctx, "git", args...)
	cmd.Env = rmEnv(s.root)
	cmd.Stdout = ch
	cmd.Stderr = ch.Stderr()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		fmt.Fprintf(ch.Stderr(), "%v\n", err)
		return 127
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(ch.Stderr(), "%v\n", err)
		return 127
	}
	// Not cmd.Stdin = ch: Wait would wait for the client to close its
	// side. This copy ends when the channel closes, after the exit status.
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		io.Copy(stdin, ch)
		stdin.Close()
	}()
	err = cmd.Wait()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee) && ee.ExitCode() >= 0:
		return uint32(ee.ExitCode())
	}
	s.t.Logf("ssh server: git %v: %v", args, err)
	return 255
}

// rmSSHKey writes a key pair with ssh-keygen and returns the private key's
// file and the public key.
func rmSSHKey(t testing.TB, dir, name string) (string, ssh.PublicKey) {
	t.Helper()
	file := filepath.Join(dir, name)
	out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "gitseal-test", "-f", file).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(file + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	key, _, _, _, err := ssh.ParseAuthorizedKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return file, key
}

// rmSSHAgent starts an ssh-agent holding the given private key files, and
// points SSH_AUTH_SOCK at it. It is killed when the test ends.
func rmSSHAgent(t *testing.T, keys ...string) string {
	t.Helper()
	// A short directory: a socket's path has a length limit.
	dir, err := os.MkdirTemp("", "gitseal-agent-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "agent.sock")
	cmd := exec.Command("ssh-agent", "-D", "-a", sock)
	cmd.Stderr = rmLogWriter{t}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting ssh-agent: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	// ssh-agent -D prints its pid once its socket listens.
	ready := false
	for sc := bufio.NewScanner(out); sc.Scan(); {
		if strings.HasPrefix(sc.Text(), "echo Agent pid") {
			ready = true
			break
		}
	}
	if !ready {
		t.Fatal("ssh-agent did not start")
	}
	for _, k := range keys {
		add := exec.Command("ssh-add", k)
		add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
		if out, err := add.CombinedOutput(); err != nil {
			t.Fatalf("ssh-add %s: %v\n%s", k, err, out)
		}
	}
	t.Setenv("SSH_AUTH_SOCK", sock)
	return sock
}

// rmSSH is a client set up to reach an rmSSHServer.
type rmSSH struct {
	srv        *rmSSHServer
	root       string // the served directory
	hostKey    ssh.PublicKey
	knownHosts string // the known_hosts file GIT_SSH_COMMAND names
	keyDir     string
}

// rmSSHStart starts a server and sets the client up: HOME a new directory,
// the authorized key in a new ssh-agent, the server's host key in
// known_hosts. Tests skip only when ssh-agent, ssh-add or ssh-keygen are not
// installed.
func rmSSHStart(t *testing.T) *rmSSH {
	t.Helper()
	for _, bin := range []string{"ssh", "ssh-agent", "ssh-add", "ssh-keygen"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("ssh tests skipped: %s is not installed", bin)
		}
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	e := &rmSSH{root: t.TempDir(), keyDir: filepath.Join(home, ".ssh")}
	if err := os.Mkdir(e.keyDir, 0o700); err != nil {
		t.Fatal(err)
	}
	keyFile, pub := rmSSHKey(t, e.keyDir, "id_ed25519")
	e.srv, e.hostKey = rmSSHServe(t, e.root, pub)
	rmSSHAgent(t, keyFile)
	e.knownHosts = filepath.Join(e.keyDir, "known_hosts")
	e.trust(t, e.hostKey)
	t.Setenv("GIT_SSH_COMMAND", e.sshCommand())
	return e
}

// sshCommand is GIT_SSH_COMMAND for the test: no user or system config,
// no prompts, strict host key checking against knownHosts only.
func (e *rmSSH) sshCommand() string {
	return "ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=yes -o GlobalKnownHostsFile=/dev/null -o UserKnownHostsFile=" + e.knownHosts
}

// trust writes known_hosts holding key for the server's address.
func (e *rmSSH) trust(t testing.TB, key ssh.PublicKey) {
	t.Helper()
	addr := knownhosts.Normalize(fmt.Sprintf("127.0.0.1:%d", e.srv.port()))
	if err := os.WriteFile(e.knownHosts, []byte(knownhosts.Line([]string{addr}, key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// bare makes a bare repository at path under the served directory.
func (e *rmSSH) bare(t testing.TB, path string) string {
	t.Helper()
	dir := filepath.Join(e.root, filepath.FromSlash(path))
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	return rmBare(t, filepath.Dir(dir), filepath.Base(dir))
}

func (e *rmSSH) url(path string) string {
	return fmt.Sprintf("ssh://git@127.0.0.1:%d/%s", e.srv.port(), path)
}

func TestSSHListRemote(t *testing.T) {
	e := rmSSHStart(t)
	bare := e.bare(t, "path/to/repo.git")
	e.bare(t, "path/to/empty.git")
	url := e.url("path/to/repo.git")
	rmWireListRemote(t, bare, url, e.url("path/to/empty.git"))

	// The server is sound: git with OpenSSH, through the same agent and
	// known_hosts, lists the same refs.
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Log("ssh is not installed: not checking the server with git")
		return
	}
	cmd := exec.Command("git", "ls-remote", url)
	cmd.Dir = bare
	cmd.Env = append(rmEnv(bare), "GIT_SSH_COMMAND="+e.sshCommand())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git ls-remote %s: %v\n%s", url, err, out)
	}
	if want := rmGit(t, bare, "ls-remote", bare); strings.TrimSpace(string(out)) != want {
		t.Errorf("git ls-remote over ssh:\n%s\nin the repository:\n%s", out, want)
	}
}

func TestSSHPushFetchRoundTrip(t *testing.T) {
	e := rmSSHStart(t)
	bare := e.bare(t, "path/to/repo.git")
	rmWireRoundTrip(t, bare, e.url("path/to/repo.git"))
	for _, c := range e.srv.commands() {
		if c != "upload-pack path/to/repo.git" && c != "receive-pack path/to/repo.git" {
			t.Errorf("the server ran %q", c)
		}
	}
}

func TestSSHFetchCommits(t *testing.T) {
	e := rmSSHStart(t)
	bare := e.bare(t, "path/to/repo.git")
	rmWireFetchCommits(t, bare, e.url("path/to/repo.git"))
}

// TestSSHQuotedPath: a repository path holding a quote and a bang reaches
// the server as one argument quoted the way git quotes it, and names the
// right repository.
func TestSSHQuotedPath(t *testing.T) {
	e := rmSSHStart(t)
	bare := e.bare(t, "path/it's!here.git")
	e.bare(t, "path/it")
	local := rmRepo(t, 1, 1)
	rmGit(t, local, "push", "-q", bare, "main", "refs/gitseal/*:refs/gitseal/*")
	refs, err := ListRemote(context.Background(), e.url("path/it's!here.git"))
	if err != nil {
		t.Fatal(err)
	}
	if want := rmGit(t, bare, "rev-parse", "refs/gitseal/publish/prod"); refs["refs/gitseal/publish/prod"].String() != want {
		t.Errorf("ListRemote = %v, want refs/gitseal/publish/prod at %s", refs, want)
	}
	if ran := e.srv.commands(); len(ran) != 1 || ran[0] != "upload-pack path/it's!here.git" {
		t.Errorf("the server ran %q", ran)
	}
}

var rmHostKeyErr = regexp.MustCompile(`(?i)host.?key|known.?hosts`)

// TestSSHHostKey: a server whose host key is not the one known_hosts holds
// for its address is not talked to: every operation fails saying why, and
// nothing runs on the server.
func TestSSHHostKey(t *testing.T) {
	_, otherPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	otherKey, err := ssh.NewSignerFromKey(otherPriv)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		set  func(t *testing.T, e *rmSSH)
	}{
		{"mismatch", func(t *testing.T, e *rmSSH) { e.trust(t, otherKey.PublicKey()) }},
		{"unknown-host", func(t *testing.T, e *rmSSH) {
			line := knownhosts.Line([]string{knownhosts.Normalize("example.com")}, e.hostKey)
			if err := os.WriteFile(e.knownHosts, []byte(line+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := rmSSHStart(t)
			bare := e.bare(t, "path/to/repo.git")
			seed := rmRepo(t, 2, 1)
			rmGit(t, seed, "push", "-q", bare, "main", "refs/gitseal/*:refs/gitseal/*")
			tc.set(t, e)
			rmWireRefused(t, bare, e.url("path/to/repo.git"), func(op string, err error) {
				t.Logf("%s: %v", op, err)
				if !rmHostKeyErr.MatchString(err.Error()) {
					t.Errorf("%s: error says nothing of the host key or known_hosts: %v", op, err)
				}
			})
			if ran := e.srv.commands(); len(ran) != 0 {
				t.Errorf("the server ran %v", ran)
			}
		})
	}
}

// TestSSHAgentWithoutKey: an agent without the authorized key (empty, or
// holding another key) does not get in: every operation fails saying so,
// and nothing runs on the server.
func TestSSHAgentWithoutKey(t *testing.T) {
	for _, tc := range []struct {
		name  string
		other bool
	}{{"empty-agent", false}, {"other-key", true}} {
		t.Run(tc.name, func(t *testing.T) {
			e := rmSSHStart(t)
			bare := e.bare(t, "path/to/repo.git")
			seed := rmRepo(t, 2, 1)
			rmGit(t, seed, "push", "-q", bare, "main", "refs/gitseal/*:refs/gitseal/*")
			var keys []string
			if tc.other {
				k, _ := rmSSHKey(t, t.TempDir(), "id_other")
				keys = append(keys, k)
			}
			rmSSHAgent(t, keys...) // a fresh agent replaces the one holding the key
			rmWireRefused(t, bare, e.url("path/to/repo.git"), func(op string, err error) {
				t.Logf("%s: %v", op, err)
				if !strings.Contains(strings.ToLower(err.Error()), "authenticat") {
					t.Errorf("%s: error does not mention authentication: %v", op, err)
				}
			})
			if ran := e.srv.commands(); len(ran) != 0 {
				t.Errorf("the server ran %v", ran)
			}
		})
	}
}

// TestSSHScpLike: the scp-like address git@host:path reaches the same
// repository (the port, which that form cannot name, comes from the ssh
// command, as it would from ~/.ssh/config), with the path as given.
func TestSSHScpLike(t *testing.T) {
	e := rmSSHStart(t)
	bare := e.bare(t, "path/to/repo.git")
	local := rmRepo(t, 1, 1)
	rmGit(t, local, "push", "-q", bare, "main", "refs/gitseal/*:refs/gitseal/*")
	t.Setenv("GIT_SSH_COMMAND", fmt.Sprintf("%s -o Port=%d", e.sshCommand(), e.srv.port()))
	refs, err := ListRemote(context.Background(), "git@127.0.0.1:path/to/repo.git")
	if err != nil {
		t.Fatal(err)
	}
	if want := rmGit(t, bare, "rev-parse", "refs/gitseal/publish/prod"); refs["refs/gitseal/publish/prod"].String() != want {
		t.Errorf("ListRemote = %v, want refs/gitseal/publish/prod at %s", refs, want)
	}
	if ran := e.srv.commands(); len(ran) != 1 || ran[0] != "upload-pack path/to/repo.git" {
		t.Errorf("the server ran %q", ran)
	}
	// A host that ssh would take for an option is refused before ssh runs.
	for _, bad := range []string{"ssh://-oProxyCommand=touch/x.git", "-oProxyCommand=x:repo.git"} {
		if _, err := ListRemote(context.Background(), bad); err == nil || !strings.Contains(err.Error(), "strange host") {
			t.Errorf("ListRemote(%q) = %v, want the host refused", bad, err)
		}
	}
}

func TestSSHCancel(t *testing.T) {
	e := rmSSHStart(t)
	rmWireCancel(t, e.bare(t, "path/to/repo.git"), e.url("path/to/repo.git"))
}

// TestSSHScpLikePort: the scp-like forms with a bracketed host name a port
// ([host:port]:path, user@[host:port]:path), which reaches ssh as its port
// option; the path is given as written.
func TestSSHScpLikePort(t *testing.T) {
	e := rmSSHStart(t)
	bare := e.bare(t, "path/to/repo.git")
	local := rmRepo(t, 1, 1)
	rmGit(t, local, "push", "-q", bare, "main", "refs/gitseal/*:refs/gitseal/*")
	want := rmGit(t, bare, "rev-parse", "refs/gitseal/publish/prod")
	for _, addr := range []string{
		fmt.Sprintf("git@[127.0.0.1:%d]:path/to/repo.git", e.srv.port()),
		fmt.Sprintf("[127.0.0.1:%d]:/path/to/repo.git", e.srv.port()),
	} {
		if strings.HasPrefix(addr, "[") {
			// No user in the address: the ssh command names it.
			t.Setenv("GIT_SSH_COMMAND", e.sshCommand()+" -l git")
		}
		refs, err := ListRemote(context.Background(), addr)
		if err != nil {
			t.Errorf("ListRemote(%s): %v", addr, err)
			continue
		}
		if refs["refs/gitseal/publish/prod"].String() != want {
			t.Errorf("ListRemote(%s) = %v, want refs/gitseal/publish/prod at %s", addr, refs, want)
		}
	}
	if ran := e.srv.commands(); len(ran) != 2 || ran[0] != "upload-pack path/to/repo.git" || ran[1] != "upload-pack path/to/repo.git" {
		t.Errorf("the server ran %q", ran)
	}
}

// rmSSHPrograms writes, in a new directory, a stand-in for PuTTY's plink
// (it takes -P port and -batch, refuses any other option, OpenSSH's -p and
// -G among them, and reaches the host with OpenSSH) under the names
// plink, tortoiseplink and my-plink, and an OpenSSH wrapper under the name
// my-ssh. Each logs its arguments, one run a line, to the returned file.
func (e *rmSSH) programs(t *testing.T) (dir, log string) {
	t.Helper()
	dir = t.TempDir()
	log = filepath.Join(dir, "log")
	plink := `#!/bin/sh
echo "$(basename "$0") $*" >> ` + log + `
port=
while :; do
	case "$1" in
	-P) port=$2; shift 2 ;;
	-batch) shift ;;
	-*) echo "$(basename "$0"): unknown option $1" >&2; exit 1 ;;
	*) break ;;
	esac
done
exec ` + e.sshCommand() + ` ${port:+-p "$port"} "$@"
`
	openssh := `#!/bin/sh
echo "$(basename "$0") $*" >> ` + log + `
exec ` + e.sshCommand() + ` "$@"
`
	for name, text := range map[string]string{"plink": plink, "tortoiseplink": plink, "my-plink": plink, "my-ssh": openssh} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir, log
}

// TestSSHVariants: the port of an ssh:// URL reaches the ssh program in
// the form it takes, chosen by git's rules (git help config, ssh.variant):
// by the program's name (plink, tortoiseplink), by GIT_SSH_VARIANT or
// ssh.variant (the repository's config, or the user's without one), and
// for a name it does not know by asking the program with -G whether it
// takes OpenSSH's options. A program that takes no options cannot be given
// a port: that fails saying how to fix it, and nothing runs on the server.
func TestSSHVariants(t *testing.T) {
	e := rmSSHStart(t)
	bare := e.bare(t, "path/to/repo.git")
	local := rmRepo(t, 1, 1)
	rmGit(t, local, "push", "-q", bare, "main", "refs/gitseal/*:refs/gitseal/*")
	want := rmGit(t, bare, "rev-parse", "refs/gitseal/publish/prod")
	dir, log := e.programs(t)
	port := fmt.Sprint(e.srv.port())
	url := e.url("path/to/repo.git")
	noGlobal := filepath.Join(t.TempDir(), "gitconfig")
	for _, tc := range []struct {
		name                  string
		gitSSH, gitSSHCommand string // program, command line (relative to dir)
		variant               string // GIT_SSH_VARIANT; "" unset
		global, local         string // ssh.variant in the user's, the repository's config
		wantLog               []string
		wantErr               string
	}{
		{name: "plink", gitSSH: "plink", wantLog: []string{"plink -P " + port + " git@127.0.0.1 git-upload-pack '/path/to/repo.git'"}},
		{name: "tortoiseplink", gitSSH: "tortoiseplink", wantLog: []string{"tortoiseplink -batch -P " + port + " git@127.0.0.1 git-upload-pack '/path/to/repo.git'"}},
		{name: "plink-command-line", gitSSHCommand: "plink", wantLog: []string{"plink -P " + port + " git@127.0.0.1 git-upload-pack '/path/to/repo.git'"}},
		{name: "GIT_SSH_VARIANT", gitSSH: "my-plink", variant: "putty", wantLog: []string{"my-plink -P " + port + " git@127.0.0.1 git-upload-pack '/path/to/repo.git'"}},
		{name: "user-config", gitSSH: "my-plink", global: "plink", wantLog: []string{"my-plink -P " + port + " git@127.0.0.1 git-upload-pack '/path/to/repo.git'"}},
		{name: "repository-config", gitSSH: "my-plink", local: "tortoiseplink", wantLog: []string{"my-plink -batch -P " + port + " git@127.0.0.1 git-upload-pack '/path/to/repo.git'"}},
		{name: "probed-openssh", gitSSH: "my-ssh", wantLog: []string{"my-ssh -G -p " + port + " git@127.0.0.1", "my-ssh -p " + port + " git@127.0.0.1 git-upload-pack '/path/to/repo.git'"}},
		{name: "probed-simple", gitSSH: "my-plink", wantLog: []string{"my-plink -G -p " + port + " git@127.0.0.1"}, wantErr: "ssh.variant"},
		{name: "simple", gitSSH: "my-ssh", variant: "simple", wantErr: "ssh.variant"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.Remove(log)
			t.Setenv("GIT_SSH_COMMAND", "")
			t.Setenv("GIT_SSH", "")
			if tc.gitSSH != "" {
				t.Setenv("GIT_SSH", filepath.Join(dir, tc.gitSSH))
			}
			if tc.gitSSHCommand != "" {
				t.Setenv("GIT_SSH_COMMAND", "'"+filepath.Join(dir, tc.gitSSHCommand)+"'")
			}
			t.Setenv("GIT_SSH_VARIANT", tc.variant)
			if tc.variant == "" {
				os.Unsetenv("GIT_SSH_VARIANT")
			}
			global := ""
			if tc.global != "" {
				global = "[ssh]\n\tvariant = " + tc.global + "\n"
			}
			if err := os.WriteFile(noGlobal, []byte(global), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Setenv("GIT_CONFIG_GLOBAL", noGlobal)
			before := len(e.srv.commands())
			var refs map[string]Hash
			var err error
			if tc.local != "" {
				other, o := rmEmptyRepo(t)
				rmGit(t, other, "config", "ssh.variant", tc.local)
				var fr FetchResult
				fr, err = o.Fetch(context.Background(), url, func(string) bool { return false })
				refs = fr.Refs
			} else {
				refs, err = ListRemote(context.Background(), url)
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "port "+port) {
					t.Errorf("err = %v; want an error naming the port and %s", err, tc.wantErr)
				}
				if ran := e.srv.commands()[before:]; len(ran) != 0 {
					t.Errorf("the server ran %v", ran)
				}
			} else if err != nil {
				t.Fatalf("listing refs: %v", err)
			} else if refs["refs/gitseal/publish/prod"].String() != want {
				t.Errorf("refs = %v, want refs/gitseal/publish/prod at %s", refs, want)
			}
			got, _ := os.ReadFile(log)
			if lines := strings.Split(strings.TrimSpace(string(got)), "\n"); strings.Join(lines, "\n") != strings.Join(tc.wantLog, "\n") {
				t.Errorf("the ssh program ran as:\n%s\nwant:\n%s", got, strings.Join(tc.wantLog, "\n"))
			}
		})
	}
}

// TestSSHCoreSSHCommand: with GIT_SSH_COMMAND unset, the repository's
// core.sshCommand is the ssh program, before GIT_SSH, as git has it.
func TestSSHCoreSSHCommand(t *testing.T) {
	e := rmSSHStart(t)
	bare := e.bare(t, "path/to/repo.git")
	seed := rmRepo(t, 1, 1)
	rmGit(t, seed, "push", "-q", bare, "main", "refs/gitseal/*:refs/gitseal/*")
	want := rmGit(t, bare, "rev-parse", "refs/gitseal/publish/prod")
	t.Setenv("GIT_SSH_COMMAND", "")
	t.Setenv("GIT_SSH", "/bin/false") // what would run without core.sshCommand
	local, r := rmEmptyRepo(t)
	rmGit(t, local, "config", "core.sshCommand", e.sshCommand())
	res, err := r.Fetch(context.Background(), e.url("path/to/repo.git"), func(string) bool { return true })
	if err != nil {
		t.Fatalf("Fetch with core.sshCommand: %v", err)
	}
	if got := res.Refs["refs/gitseal/publish/prod"]; got.String() != want {
		t.Fatalf("fetched refs/gitseal/publish/prod = %s, want %s", got, want)
	}
}

// TestSSHUnreachable: ssh's own failure (a refused connection) is reported
// as ssh's, not as a missing repository; a missing repository still is one.
func TestSSHUnreachable(t *testing.T) {
	e := rmSSHStart(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close() // nothing listens there now
	_, err = ListRemote(context.Background(), fmt.Sprintf("ssh://git@127.0.0.1:%d/path/to/repo.git", port))
	if err == nil || errors.Is(err, errNoRepository) || !strings.Contains(err.Error(), "refused") {
		t.Errorf("ListRemote of a closed port = %v; want ssh's connection refused, not a missing repository", err)
	}
	_, err = ListRemote(context.Background(), e.url("no/such/repo.git"))
	if !errors.Is(err, errNoRepository) {
		t.Errorf("ListRemote of a missing repository = %v; want errNoRepository", err)
	}
}
