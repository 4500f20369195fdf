package repo

// Signing commits the way git does (gpg-interface.c), so that branches with
// "signed commits only" protection accept gitseal's commits and
// `git verify-commit` checks them:
//
//   - commit.gpgSign turns signing on; gpg.format picks openpgp (the
//     default), x509 or ssh; the program is gpg.<format>.program (for
//     openpgp also the older gpg.program), else gpg, gpgsm or ssh-keygen;
//   - the key is user.signingKey; for openpgp and x509 without one, the
//     committer's "Name <email>", as git uses; for ssh without one, the
//     first line printed by gpg.ssh.defaultKeyCommand;
//   - openpgp and x509 run "PROGRAM --status-fd=2 -bsau KEY" with the
//     commit on stdin and take the armored signature from stdout, requiring
//     "[GNUPG:] SIG_CREATED" on stderr; ssh runs "PROGRAM -Y sign -n git -f
//     KEYFILE [-U] FILE" and reads FILE.sig (a literal key, "key::…" or
//     "ssh-…", is written to a temporary file and signed with -U, through
//     the ssh agent);
//   - the signature goes in a "gpgsig" header after the committer line,
//     each line after the first indented by one space; the signed payload
//     is the commit without that header.
//
// The payload is commit text only (tree and parent ids, identities, the
// message): sealed values live in blobs, so nothing secret reaches the
// signing program or its temporary files.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ErrSign: git config asks for signed commits and signing failed.
var ErrSign = errors.New("signing failed")

// signingConfig is what git config says about commit signing.
type signingConfig struct {
	enabled bool
	format  string // openpgp, x509, ssh
	program string
	key     string
	// keyCommand is gpg.ssh.defaultKeyCommand, for ssh without a key.
	keyCommand string
}

func (r *Repo) signingConfig() (signingConfig, error) {
	var sc signingConfig
	sc.enabled, _ = r.ConfigBool("commit.gpgsign")
	sc.format = "openpgp"
	if f, ok := r.Config("gpg.format"); ok && f != "" {
		sc.format = strings.ToLower(f)
	}
	switch sc.format {
	case "openpgp":
		sc.program = "gpg"
		if p, ok := r.Config("gpg.program"); ok && p != "" {
			sc.program = p
		}
	case "x509":
		sc.program = "gpgsm"
	case "ssh":
		sc.program = "ssh-keygen"
	default:
		return sc, fmt.Errorf("%w: gpg.format %q is not one git knows (openpgp, x509, ssh)", ErrSign, clip(sc.format))
	}
	if p, ok := r.Config("gpg." + sc.format + ".program"); ok && p != "" {
		sc.program = p
	}
	sc.key, _ = r.Config("user.signingkey")
	sc.keyCommand, _ = r.Config("gpg.ssh.defaultkeycommand")
	return sc, nil
}

// SignsCommits reports whether git config asks for signed commits
// (commit.gpgSign), so a caller can say so before prompting starts.
func (r *Repo) SignsCommits() bool {
	on, _ := r.ConfigBool("commit.gpgsign")
	return on
}

// SignCommit signs c as git config says (see the top of this file), setting
// c.Signature, when commit.gpgSign is true; otherwise it does nothing.
// Errors wrap ErrSign.
func (r *Repo) SignCommit(c *CommitSpec) error {
	sc, err := r.signingConfig()
	if err != nil {
		return err
	}
	if !sc.enabled {
		return nil
	}
	if c.Committer.Name == "" {
		return fmt.Errorf("%w: the commit has no committer", ErrSign)
	}
	unsigned := *c
	unsigned.Signature = ""
	payload := encodeCommit(unsigned)
	var sig []byte
	switch sc.format {
	case "ssh":
		sig, err = r.signSSH(sc, payload)
	default:
		key := sc.key
		if key == "" {
			key = c.Committer.Name + " <" + c.Committer.Email + ">"
		}
		sig, err = signGPG(sc.program, key, payload)
	}
	if err != nil {
		return err
	}
	c.Signature = string(bytes.TrimRight(sig, "\n")) + "\n"
	return nil
}

// signGPG runs gpg (or gpgsm) as git's sign_buffer_gpg does.
func signGPG(program, key string, payload []byte) ([]byte, error) {
	cmd := exec.Command(program, "--status-fd=2", "-bsau", key)
	cmd.Stdin = bytes.NewReader(payload)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil || !bytes.Contains(append([]byte("\n"), stderr.Bytes()...), []byte("\n[GNUPG:] SIG_CREATED ")) {
		return nil, fmt.Errorf("%w: %s -bsau %s: %s", ErrSign, program, clip(key), describeRun(err, stderr.Bytes()))
	}
	if stdout.Len() == 0 {
		return nil, fmt.Errorf("%w: %s printed no signature", ErrSign, program)
	}
	return stdout.Bytes(), nil
}

// signSSH runs ssh-keygen as git's sign_buffer_ssh does.
func (r *Repo) signSSH(sc signingConfig, payload []byte) ([]byte, error) {
	key := sc.key
	if key == "" && sc.keyCommand != "" {
		out, err := exec.Command("sh", "-c", sc.keyCommand).Output()
		if err != nil {
			return nil, fmt.Errorf("%w: gpg.ssh.defaultKeyCommand: %v", ErrSign, err)
		}
		key, _, _ = strings.Cut(strings.TrimSpace(string(out)), "\n")
	}
	if key == "" {
		return nil, fmt.Errorf("%w: gpg.format is ssh but user.signingKey is not set; set it to your public key file (git config user.signingKey ~/.ssh/id_ed25519.pub)", ErrSign)
	}
	tmp, err := os.MkdirTemp("", "gitseal-sign-")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSign, err)
	}
	defer os.RemoveAll(tmp)
	keyFile, literal := key, false
	if lit, ok := strings.CutPrefix(key, "key::"); ok || strings.HasPrefix(key, "ssh-") {
		if !ok {
			lit = key
		}
		keyFile, literal = filepath.Join(tmp, "signing_key.pub"), true
		if err := os.WriteFile(keyFile, []byte(lit+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrSign, err)
		}
	} else {
		keyFile = expandHome(keyFile)
		if !filepath.IsAbs(keyFile) && r.workTree != "" {
			// git resolves it from the directory it runs in: the work tree
			// root for a commit made there.
			keyFile = filepath.Join(r.workTree, keyFile)
		}
	}
	buf := filepath.Join(tmp, "buffer")
	if err := os.WriteFile(buf, payload, 0o600); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSign, err)
	}
	args := []string{"-Y", "sign", "-n", "git", "-f", keyFile}
	if literal {
		args = append(args, "-U")
	}
	args = append(args, buf)
	cmd := exec.Command(sc.program, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%w: %s -Y sign -f %s: %s", ErrSign, sc.program, clip(key), describeRun(err, stderr.Bytes()))
	}
	sig, err := os.ReadFile(buf + ".sig")
	if err != nil || len(sig) == 0 {
		return nil, fmt.Errorf("%w: %s wrote no signature", ErrSign, sc.program)
	}
	return sig, nil
}

// describeRun says how a signing program failed, with the last line of what
// it printed (programs print key ids and prompts there, never secrets).
func describeRun(err error, stderr []byte) string {
	var lines []string
	for _, l := range strings.Split(string(stderr), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "[GNUPG:]") {
			lines = append(lines, l)
		}
	}
	msg := "no signature was made"
	if err != nil {
		msg = err.Error()
	}
	if len(lines) > 0 {
		msg += ": " + clip(lines[len(lines)-1])
	}
	return msg
}

// appendSignatureHeader writes the gpgsig header of a signed commit.
func appendSignatureHeader(b []byte, sig string) []byte {
	lines := strings.Split(strings.TrimSuffix(sig, "\n"), "\n")
	for i, l := range lines {
		if i == 0 {
			b = append(b, "gpgsig "...)
		} else {
			b = append(b, ' ')
		}
		b = append(b, l...)
		b = append(b, '\n')
	}
	return b
}
