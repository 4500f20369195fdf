package cipher

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// sgKey makes an SSH key pair with ssh-keygen and returns the private key
// path and the public key line.
func sgKey(t testing.TB, dir, name, typ string, extra ...string) (string, string) {
	t.Helper()
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("ssh-keygen not installed")
	}
	path := filepath.Join(dir, name)
	args := append([]string{"-q", "-t", typ, "-N", "", "-C", name, "-f", path}, extra...)
	if out, err := exec.Command("ssh-keygen", args...).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen %v: %v\n%s", args, err, out)
	}
	pub, err := os.ReadFile(path + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return path, strings.TrimSpace(string(pub))
}

func sgSigner(t testing.TB, path string) *Signer {
	t.Helper()
	s, err := LoadSigner(SignerSource{File: path, Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSignInteropWithSSHKeygen: what we sign, ssh-keygen -Y verify accepts;
// what ssh-keygen -Y sign makes, we accept; for each key type.
func TestSignInteropWithSSHKeygen(t *testing.T) {
	dir := t.TempDir()
	msg := []byte("gitseal-publish v1\nenv production\n")
	for _, kt := range [][]string{{"ed25519"}, {"ecdsa", "-b", "256"}, {"rsa", "-b", "2048"}} {
		t.Run(kt[0], func(t *testing.T) {
			key, pub := sgKey(t, dir, "id_"+kt[0], kt[0], kt[1:]...)
			s := sgSigner(t, key)
			if s.PublicKey() != strings.Join(strings.Fields(pub)[:2], " ") {
				t.Errorf("PublicKey() = %q, ssh-keygen wrote %q", s.PublicKey(), pub)
			}
			sig, err := s.Sign("gitseal-publish", msg)
			if err != nil {
				t.Fatal(err)
			}
			allowed := filepath.Join(dir, "allowed_"+kt[0])
			os.WriteFile(allowed, []byte("publisher@example.com "+pub+"\n"), 0o644)
			sigFile := filepath.Join(dir, "sig_"+kt[0])
			os.WriteFile(sigFile, sig, 0o644)
			cmd := exec.Command("ssh-keygen", "-Y", "verify", "-f", allowed, "-I", "publisher@example.com", "-n", "gitseal-publish", "-s", sigFile)
			cmd.Stdin = bytes.NewReader(msg)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("ssh-keygen -Y verify refused our signature: %v\n%s", err, out)
			}
			trusted, err := ParseTrustedKeys([]byte(pub), "test")
			if err != nil {
				t.Fatal(err)
			}
			fp, err := trusted.Verify("gitseal-publish", msg, sig)
			if err != nil || fp != s.Fingerprint() {
				t.Fatalf("Verify(own signature) = %q, %v", fp, err)
			}

			// ssh-keygen's signature of the same message.
			msgFile := filepath.Join(dir, "msg_"+kt[0])
			os.WriteFile(msgFile, msg, 0o644)
			if out, err := exec.Command("ssh-keygen", "-q", "-Y", "sign", "-n", "gitseal-publish", "-f", key, msgFile).CombinedOutput(); err != nil {
				t.Fatalf("ssh-keygen -Y sign: %v\n%s", err, out)
			}
			theirs, err := os.ReadFile(msgFile + ".sig")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := trusted.Verify("gitseal-publish", msg, theirs); err != nil {
				t.Fatalf("Verify(ssh-keygen's signature): %v", err)
			}
		})
	}
}

func TestVerifyRefuses(t *testing.T) {
	dir := t.TempDir()
	key, pub := sgKey(t, dir, "trusted", "ed25519")
	otherKey, otherPub := sgKey(t, dir, "other", "ed25519")
	msg := []byte("record\n")
	sig, err := sgSigner(t, key).Sign("gitseal-publish", msg)
	if err != nil {
		t.Fatal(err)
	}
	otherSig, err := sgSigner(t, otherKey).Sign("gitseal-publish", msg)
	if err != nil {
		t.Fatal(err)
	}
	gitSig, err := sgSigner(t, key).Sign("git", msg)
	if err != nil {
		t.Fatal(err)
	}
	trusted, err := ParseTrustedKeys([]byte("# publishers\n\n"+pub+"\n"), "test")
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(sig)
	flipped[len(armorBegin)+20] ^= 0x01
	for name, c := range map[string]struct {
		msg, sig []byte
		want     string
	}{
		"tampered message":      {[]byte("record!\n"), sig, "does not match"},
		"untrusted key":         {msg, otherSig, "not a trusted publisher key"},
		"other namespace":       {msg, gitSig, `made for "git"`},
		"no signature":          {msg, nil, "not an armored SSH signature"},
		"damaged signature":     {msg, flipped, ""},
		"truncated signature":   {msg, sig[:len(sig)/2], ""},
		"not armored":           {msg, []byte("hello"), "not an armored"},
		"armored junk":          {msg, []byte(armorBegin + "\nAAAA\n" + armorEnd + "\n"), ""},
		"untrusted, no keys at": {msg, sig, ""},
	} {
		keys := trusted
		if name == "untrusted, no keys at" {
			keys = nil
		}
		_, err := keys.Verify("gitseal-publish", c.msg, c.sig)
		if !errors.Is(err, ErrUntrusted) || !errors.Is(err, ErrSecret) {
			t.Errorf("%s: err = %v, want ErrUntrusted (and ErrSecret)", name, err)
			continue
		}
		if c.want != "" && !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to say %q", name, err, c.want)
		}
	}
	// The other key becomes trusted through allowed_signers and file forms.
	f := filepath.Join(dir, "trust")
	os.WriteFile(f, []byte("ops@example.com,ci@example.com "+otherPub+"\n"), 0o644)
	both, err := LoadTrustedKeys([]string{pub, f}, dir)
	if err != nil || both.Len() != 2 {
		t.Fatalf("LoadTrustedKeys = %v keys, %v", both.Len(), err)
	}
	if _, err := both.Verify("gitseal-publish", msg, otherSig); err != nil {
		t.Fatalf("key from an allowed_signers file: %v", err)
	}
	if _, err := LoadTrustedKeys([]string{filepath.Join(dir, "missing")}, dir); err == nil {
		t.Error("a missing trust file was accepted")
	}
	if _, err := ParseTrustedKeys([]byte("ssh-ed25519 notbase64\n"), "x"); err == nil || strings.Contains(err.Error(), "notbase64") {
		t.Errorf("bad key line: %v (must fail without echoing the line)", err)
	}
}

func TestLoadSigner(t *testing.T) {
	home := t.TempDir()
	os.MkdirAll(filepath.Join(home, ".ssh"), 0o700)
	none := func(string) string { return "" }
	if _, err := LoadSigner(SignerSource{Getenv: none, HomeDir: home}); !errors.Is(err, ErrNoSigningKey) {
		t.Fatalf("no key anywhere: %v", err)
	}
	key, _ := sgKey(t, filepath.Join(home, ".ssh"), "id_ed25519", "ed25519")
	s, err := LoadSigner(SignerSource{Getenv: none, HomeDir: home})
	if err != nil || s.Source() != "~/.ssh/id_ed25519" {
		t.Fatalf("default key: %v, %v", s, err)
	}
	text, _ := os.ReadFile(key)
	s2, err := LoadSigner(SignerSource{Getenv: func(k string) string {
		if k == "GITSEAL_SIGNING_KEY" {
			return string(text)
		}
		return ""
	}, HomeDir: t.TempDir()})
	if err != nil || s2.Fingerprint() != s.Fingerprint() {
		t.Fatalf("GITSEAL_SIGNING_KEY: %v", err)
	}
	os.Chmod(key, 0o644)
	if _, err := LoadSigner(SignerSource{Getenv: none, HomeDir: home}); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("group-readable key: %v", err)
	}
	os.Chmod(key, 0o600)

	// A protected key: refused without a way to ask, used with one.
	pkey, _ := sgKey(t, home, "protected", "ed25519")
	if out, err := exec.Command("ssh-keygen", "-q", "-p", "-P", "", "-N", "pass phrase", "-f", pkey).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	if _, err := LoadSigner(SignerSource{File: pkey, Getenv: none}); err == nil || !strings.Contains(err.Error(), "passphrase") {
		t.Fatalf("protected key without a prompt: %v", err)
	}
	ps, err := LoadSigner(SignerSource{File: pkey, Getenv: none, Passphrase: func(string) ([]byte, error) { return []byte("pass phrase"), nil }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ps.Sign("gitseal-publish", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadSigner(SignerSource{File: pkey, Getenv: none, Passphrase: func(string) ([]byte, error) { return []byte("wrong"), nil }}); err == nil || !strings.Contains(err.Error(), "wrong passphrase") {
		t.Fatalf("wrong passphrase: %v", err)
	}
	// Not a key at all; the error does not echo the content.
	bad := filepath.Join(home, "bad")
	os.WriteFile(bad, []byte("SECRET-CONTENT"), 0o600)
	if _, err := LoadSigner(SignerSource{File: bad, Getenv: none}); err == nil || strings.Contains(err.Error(), "SECRET-CONTENT") {
		t.Fatalf("not a key: %v", err)
	}
}

func FuzzParseSSHSig(f *testing.F) {
	f.Add([]byte(armorBegin + "\nU1NIU0lHAAAAAQ==\n" + armorEnd + "\n"))
	f.Add([]byte("junk"))
	f.Add(armorSignature([]byte("SSHSIG\x00\x00\x00\x01\x00\x00\x00\x00")))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := parseArmoredSignature(data)
		if err == nil && s.pub == nil {
			t.Fatal("parsed without a key")
		}
		var k *TrustedKeys
		k.Verify("n", nil, data) // must not panic
	})
}

// The worked example of publish/FORMAT.md §6: an ed25519 key whose seed is
// the bytes 0..31 signs a publish message; ed25519 is deterministic, so the
// armored signature is fixed. `ssh-keygen -Y verify` accepts it.
const (
	katMessage = "gitseal-signed-publish v1\nstore 00112233445566778899aabbccddeeff\ngitseal-publish v1\nenv production\n" +
		"action publish\ncommit 3f2a1c95d0b4e8a7c6f1e2d3b4a5968778695a4b\nprevious -\n" +
		"publisher Ada Lovelace <ada@example.com>\ntime 2024-05-01T12:00:00Z\nseq 1\n"
	katPublic    = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4"
	katSignature = `-----BEGIN SSH SIGNATURE-----
U1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAgA6EHv/POEL4dcN0Y50vAmWfk1j
CbpQ1fHdyGZBJVMbgAAAAPZ2l0c2VhbC1wdWJsaXNoAAAAAAAAAAZzaGE1MTIAAABTAAAA
C3NzaC1lZDI1NTE5AAAAQMFdLJOVK5kopnzaRb8En7DAiQeSZyV1jv+OUz1W6uX2ghyK/x
/zUbIsF/KXXnSotSeYldORG29pTkzUVikGXgg=
-----END SSH SIGNATURE-----
`
)

func TestSignKnownAnswer(t *testing.T) {
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(i)
	}
	ss, err := ssh.NewSignerFromKey(ed25519.NewKeyFromSeed(seed))
	if err != nil {
		t.Fatal(err)
	}
	s := &Signer{signer: ss, source: "known answer"}
	if s.PublicKey() != katPublic {
		t.Fatalf("public key %s", s.PublicKey())
	}
	sig, err := s.Sign("gitseal-publish", []byte(katMessage))
	if err != nil {
		t.Fatal(err)
	}
	if string(sig) != katSignature {
		t.Fatalf("signature:\n%s\nwant:\n%s", sig, katSignature)
	}
	keys, err := ParseTrustedKeys([]byte(katPublic), "kat")
	if err != nil {
		t.Fatal(err)
	}
	if fp, err := keys.Verify("gitseal-publish", []byte(katMessage), []byte(katSignature)); err != nil || fp != "SHA256:lbmsoA0yIEcEiVDRnMWuzm+nV+3ZEEpVIURqFoeSspg" {
		t.Fatalf("Verify = %q, %v", fp, err)
	}
	// Negative vectors: each must fail at the signature check.
	for name, msg := range map[string]string{
		"other store":  strings.Replace(katMessage, "store 0011", "store 0111", 1),
		"other commit": strings.Replace(katMessage, "commit 3f2a", "commit 3f2b", 1),
		"no store":     strings.Replace(katMessage, "store 00112233445566778899aabbccddeeff\n", "", 1),
		"record only":  strings.SplitN(katMessage, "\n", 3)[2],
	} {
		if _, err := keys.Verify("gitseal-publish", []byte(msg), []byte(katSignature)); !errors.Is(err, ErrUntrusted) || !strings.Contains(err.Error(), "does not match") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if fp, err := SignatureKey([]byte(katSignature)); err != nil || fp != s.Fingerprint() {
		t.Errorf("SignatureKey = %q, %v", fp, err)
	}
}
