package repo

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// sshSigner makes an ed25519 key with ssh-keygen and configures dir to sign
// commits with it and git verify-commit to trust it for the committer.
func sshSigner(t *testing.T, dir string) (keyFile, pub string) {
	t.Helper()
	keyFile = filepath.Join(t.TempDir(), "id_ed25519")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "signer", "-f", keyFile).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	b, err := os.ReadFile(keyFile + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	pub = strings.TrimSpace(string(b))
	allowed := filepath.Join(t.TempDir(), "allowed_signers")
	os.WriteFile(allowed, []byte("* namespaces=\"git\" "+pub+"\n"), 0o644)
	wrGit(t, dir, "config", "gpg.format", "ssh")
	wrGit(t, dir, "config", "gpg.ssh.allowedSignersFile", allowed)
	wrGit(t, dir, "config", "user.signingkey", keyFile)
	wrGit(t, dir, "config", "commit.gpgsign", "true")
	return keyFile, pub
}

// An SSH-signed commit is byte for byte the commit git makes (ed25519
// signatures are deterministic), and git verify-commit accepts it.
func TestSignCommitSSHMatchesGit(t *testing.T) {
	dir := wrInitWithFiles(t, map[string]string{"a": "1"})
	sshSigner(t, dir)
	env := append(wrEnv(dir), "GIT_AUTHOR_DATE=@1700000000 +0100", "GIT_COMMITTER_DATE=@1700000001 -0200")
	tree := wrGit(t, dir, "rev-parse", "HEAD^{tree}")
	gitCommit, err := wrRun(dir, env, "", "commit-tree", tree, "-p", "HEAD", "-S", "-m", "signed by git")
	if err != nil {
		t.Fatal(err)
	}
	r := wrOpen(t, dir)
	gc, err := r.ReadCommit(mustHash(t, gitCommit))
	if err != nil {
		t.Fatal(err)
	}
	spec := CommitSpec{Tree: gc.Tree, Parents: gc.Parents, Author: gc.Author, Committer: gc.Committer, Message: gc.Message}
	if err := r.SignCommit(&spec); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(spec.Signature, "-----BEGIN SSH SIGNATURE-----\n") {
		t.Fatalf("signature = %q", spec.Signature)
	}
	ours, err := r.WriteCommit(spec)
	if err != nil {
		t.Fatal(err)
	}
	if ours.String() != gitCommit {
		t.Fatalf("our signed commit %s differs from git's %s:\n%s\n---\n%s", ours, gitCommit,
			wrGit(t, dir, "cat-file", "-p", ours.String()), wrGit(t, dir, "cat-file", "-p", gitCommit))
	}
	if _, err := wrRun(dir, wrEnv(dir), "", "verify-commit", ours.String()); err != nil {
		t.Fatalf("git verify-commit: %v", err)
	}
}

func TestCommitChangesSigned(t *testing.T) {
	dir := wrInitWithFiles(t, map[string]string{"a": "1"})
	sshSigner(t, dir)
	res, err := wrCommit(t, dir, CommitRequest{Changes: []Change{wrSet(".gitseal/x", "sealed")}, Message: "gitseal: set x\n"})
	if err != nil {
		t.Fatal(err)
	}
	if out, err := wrRun(dir, wrEnv(dir), "", "verify-commit", "-v", res.Commit.String()); err != nil {
		t.Fatalf("git verify-commit: %v\n%s", err, out)
	}
	wrFsck(t, dir)

	// --no-sign: an unsigned commit although git config asks for signing.
	res, err = wrCommit(t, dir, CommitRequest{Changes: []Change{wrSet(".gitseal/y", "sealed")}, Message: "gitseal: set y\n", NoSign: true})
	if err != nil {
		t.Fatal(err)
	}
	if raw := wrGit(t, dir, "cat-file", "commit", res.Commit.String()); strings.Contains(raw, "gpgsig") {
		t.Fatalf("NoSign commit is signed:\n%s", raw)
	}
	if _, err := wrRun(dir, wrEnv(dir), "", "verify-commit", res.Commit.String()); err == nil {
		t.Fatal("git verify-commit accepted an unsigned commit")
	}

	// Signing fails (the key is gone): nothing changes, as git refuses to
	// commit when gpg fails.
	wrGit(t, dir, "config", "user.signingkey", filepath.Join(t.TempDir(), "missing"))
	head := wrGit(t, dir, "rev-parse", "HEAD")
	_, err = wrCommit(t, dir, CommitRequest{Changes: []Change{wrSet(".gitseal/z", "sealed")}, Message: "gitseal: set z\n"})
	if !errors.Is(err, ErrSign) {
		t.Fatalf("commit with a missing signing key: %v", err)
	}
	if got := wrGit(t, dir, "rev-parse", "HEAD"); got != head {
		t.Fatal("a failed signature moved the branch")
	}
	if st := wrGit(t, dir, "status", "--porcelain"); st != "" {
		t.Fatalf("a failed signature left changes:\n%s", st)
	}
	wrFsck(t, dir)
}

// A literal key (key::…) signs through the ssh agent, as git does.
func TestSignCommitSSHAgentLiteralKey(t *testing.T) {
	dir := wrInitWithFiles(t, map[string]string{"a": "1"})
	keyFile, pub := sshSigner(t, dir)
	out, err := exec.Command("ssh-agent", "-s").Output()
	if err != nil {
		t.Fatalf("ssh-agent: %v", err)
	}
	var sock, pid string
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		for _, part := range strings.Split(sc.Text(), ";") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(part), "SSH_AUTH_SOCK="); ok {
				sock = v
			}
			if v, ok := strings.CutPrefix(strings.TrimSpace(part), "SSH_AGENT_PID="); ok {
				pid = v
			}
		}
	}
	if sock == "" || pid == "" {
		t.Fatalf("ssh-agent printed %q", out)
	}
	t.Cleanup(func() { exec.Command("kill", pid).Run() })
	t.Setenv("SSH_AUTH_SOCK", sock)
	if out, err := exec.Command("ssh-add", "-q", keyFile).CombinedOutput(); err != nil {
		t.Fatalf("ssh-add: %v\n%s", err, out)
	}
	wrGit(t, dir, "config", "user.signingkey", "key::"+pub)
	res, err := wrCommit(t, dir, CommitRequest{Changes: []Change{wrSet(".gitseal/x", "v")}, Message: "m\n"})
	if err != nil {
		t.Fatal(err)
	}
	env := append(wrEnv(dir), "SSH_AUTH_SOCK="+sock)
	if _, err := wrRun(dir, env, "", "verify-commit", res.Commit.String()); err != nil {
		t.Fatalf("git verify-commit: %v", err)
	}
}

// OpenPGP: gpg with a key in a throwaway GNUPGHOME.
func TestSignCommitOpenPGP(t *testing.T) {
	home, err := os.MkdirTemp("", "gpg") // short: gpg-agent's socket path is limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		exec.Command("gpgconf", "--homedir", home, "--kill", "gpg-agent").Run()
		os.RemoveAll(home)
	})
	t.Setenv("GNUPGHOME", home)
	if out, err := exec.Command("gpg", "--batch", "--passphrase", "", "--quick-gen-key", "Gitseal Test <gitseal@example.com>", "ed25519", "sign", "never").CombinedOutput(); err != nil {
		t.Fatalf("gpg --quick-gen-key: %v\n%s", err, out)
	}
	dir := wrInitWithFiles(t, map[string]string{"a": "1"})
	wrGit(t, dir, "config", "commit.gpgsign", "true")
	// No user.signingKey: gpg picks the key by the committer's identity.
	res, err := wrCommit(t, dir, CommitRequest{Changes: []Change{wrSet(".gitseal/x", "v")}, Message: "m\n"})
	if err != nil {
		t.Fatal(err)
	}
	env := append(wrEnv(dir), "GNUPGHOME="+home)
	if out, err := wrRun(dir, env, "", "verify-commit", res.Commit.String()); err != nil {
		t.Fatalf("git verify-commit: %v\n%s", err, out)
	}
	if raw := wrGit(t, dir, "cat-file", "commit", res.Commit.String()); !strings.Contains(raw, "gpgsig -----BEGIN PGP SIGNATURE-----") {
		t.Fatalf("commit:\n%s", raw)
	}
	// A key gpg does not have: the error names the key and says it failed.
	wrGit(t, dir, "config", "user.signingkey", "nobody@example.com")
	if _, err := wrCommit(t, dir, CommitRequest{Changes: []Change{wrSet(".gitseal/y", "v")}, Message: "m\n"}); !errors.Is(err, ErrSign) || !strings.Contains(err.Error(), "nobody@example.com") {
		t.Fatalf("unknown gpg key: %v", err)
	}
}

func mustHash(t *testing.T, s string) Hash {
	t.Helper()
	h, err := ParseHash(strings.TrimSpace(s))
	if err != nil {
		t.Fatal(err)
	}
	return h
}
