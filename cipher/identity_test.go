package cipher

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// sshKeyCache holds keys made by ssh-keygen, by spec, so that the slow
// RSA-3072 generation runs once per test binary.
var sshKeyCache sync.Map // string → [2][]byte{private, public}

// sshKeygen writes a private key made by the real ssh-keygen to dir/name
// (mode 0600) and its public key to dir/name.pub, and returns the path.
// args are ssh-keygen's key options, for example "-t", "rsa", "-b", "3072".
func sshKeygen(t testing.TB, dir, name string, args ...string) string {
	t.Helper()
	spec := strings.Join(args, " ")
	v, ok := sshKeyCache.Load(spec)
	if !ok {
		tmp := filepath.Join(t.TempDir(), "key")
		cmd := exec.Command("ssh-keygen", append([]string{"-q", "-C", "test@example", "-f", tmp}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen %s: %v\n%s", spec, err, out)
		}
		priv, err := os.ReadFile(tmp)
		if err != nil {
			t.Fatal(err)
		}
		pub, err := os.ReadFile(tmp + ".pub")
		if err != nil {
			t.Fatal(err)
		}
		v, _ = sshKeyCache.LoadOrStore(spec, [2][]byte{priv, pub})
	}
	files := v.([2][]byte)
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, files[0], 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".pub", files[1], 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeAgeIdentity writes a fresh age identity file to path (mode 0600).
func writeAgeIdentity(t testing.TB, path string) Recipient {
	t.Helper()
	file, pub, err := GenerateIdentity(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, file, 0o600); err != nil {
		t.Fatal(err)
	}
	return pub
}

func readPub(t testing.TB, path string) Recipient {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := ParseRecipients(data)
	if err != nil || len(rs) != 1 {
		t.Fatalf("ParseRecipients(%s) = %v, %v", path, rs, err)
	}
	return rs[0]
}

func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func loadFile(t testing.TB, path string) *Identities {
	t.Helper()
	ids, err := LoadIdentities(IdentitySource{File: path, Getenv: envMap(nil), HomeDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestWrapToRealKeys wraps one data key to an age key and to SSH keys made by
// ssh-keygen; every identity unwraps it, and a non-recipient cannot.
func TestWrapToRealKeys(t *testing.T) {
	dir := t.TempDir()
	agePath := filepath.Join(dir, "age-identity")
	agePub := writeAgeIdentity(t, agePath)
	edPath := sshKeygen(t, dir, "id_ed25519", "-t", "ed25519", "-N", "")
	rsaPath := sshKeygen(t, dir, "id_rsa", "-t", "rsa", "-b", "3072", "-N", "")
	edPub, rsaPub := readPub(t, edPath+".pub"), readPub(t, rsaPath+".pub")
	if edPub.Type() != "ssh-ed25519" || rsaPub.Type() != "ssh-rsa" || edPub.Name != "test@example" {
		t.Fatalf("parsed .pub files: %+v, %+v", edPub, rsaPub)
	}
	for _, p := range []string{edPath, rsaPath} {
		out, err := exec.Command("ssh-keygen", "-lf", p+".pub").Output()
		if err != nil {
			t.Fatal(err)
		}
		if want, got := strings.Fields(string(out))[1], readPub(t, p+".pub").Fingerprint(); got != want {
			t.Errorf("%s: Fingerprint %s, ssh-keygen -lf says %s", p, got, want)
		}
	}

	dk := mustNewDataKey(t)
	wrapped, err := WrapDataKey(dk, []Recipient{agePub, edPub, rsaPub, edPub})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(wrapped, []byte("-----BEGIN AGE ENCRYPTED FILE-----\n")) || !bytes.HasSuffix(wrapped, []byte("-----END AGE ENCRYPTED FILE-----\n")) {
		t.Errorf("datakey.age is not armored:\n%s", wrapped)
	}
	for _, tc := range []struct {
		path string
		pub  Recipient
	}{{agePath, agePub}, {edPath, edPub}, {rsaPath, rsaPub}} {
		ids := loadFile(t, tc.path)
		if rs := ids.Recipients(); len(rs) != 1 || rs[0].Key != tc.pub.Key {
			t.Errorf("%s: Recipients() = %v, want %s", tc.path, rs, tc.pub.Key)
		}
		got, err := UnwrapDataKey(wrapped, ids)
		if err != nil {
			t.Errorf("%s: UnwrapDataKey: %v", tc.path, err)
		} else if !got.Equal(dk) {
			t.Errorf("%s: unwrapped another key", tc.path)
		}
	}

	// The recipients list and datakey.age agree, and each kind of
	// disagreement is found without a key.
	if err := CheckWrappedDataKey(wrapped, []Recipient{rsaPub, agePub, edPub}); err != nil {
		t.Errorf("CheckWrappedDataKey: %v", err)
	}
	_, strangerEd := testEd25519(t, 8)
	strangerEdPub, _ := ParseRecipient(strangerEd + " eve")
	for name, tc := range map[string]struct {
		rs   []Recipient
		want string
	}{
		"ssh key dropped from the list": {[]Recipient{agePub, rsaPub}, "wrapped to an SSH key (ssh-ed25519) that the recipients file does not list"},
		"ssh key added to the list":     {[]Recipient{agePub, edPub, rsaPub, strangerEdPub}, `recipient "eve" is listed but cannot unwrap`},
		"age key added to the list":     {[]Recipient{agePub, edPub, rsaPub, writeAgeIdentity(t, filepath.Join(dir, "x"))}, "wrapped to 1 age keys but the recipients file lists 2"},
	} {
		if err := CheckWrappedDataKey(wrapped, tc.rs); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: CheckWrappedDataKey = %v, want %q", name, err, tc.want)
		}
	}
	if err := CheckWrappedDataKey([]byte("not age"), []Recipient{agePub}); err == nil || !strings.Contains(err.Error(), "not a valid armored age file") {
		t.Errorf("garbage: %v", err)
	}

	// Non-recipients: another age identity, another ed25519 key.
	strangerAge := filepath.Join(dir, "stranger-age")
	strangerPub := writeAgeIdentity(t, strangerAge)
	strangerSSH := filepath.Join(t.TempDir(), "id_ed25519")
	priv, _ := testEd25519(t, 9)
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(strangerSSH, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{strangerAge, strangerSSH} {
		_, err := UnwrapDataKey(wrapped, loadFile(t, p))
		if !errors.Is(err, ErrSecret) {
			t.Fatalf("%s: UnwrapDataKey = %v, want ErrSecret", p, err)
		}
		for _, want := range []string{"no identity of yours (" + p + ")", "is a recipient of this environment", "gitseal recipient add "} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error %q does not contain %q", p, err, want)
			}
		}
	}
	_, err = UnwrapDataKey(wrapped, loadFile(t, strangerAge))
	if !strings.Contains(err.Error(), "`gitseal recipient add "+strangerPub.Key+"`") {
		t.Errorf("error %q does not give the add command with the public key", err)
	}
}

func TestIdentityFilePermissions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "identity")
	writeAgeIdentity(t, path)
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660, 0o700 | 0o001} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := LoadIdentities(IdentitySource{File: path, Getenv: envMap(nil)})
		if err == nil || !strings.Contains(err.Error(), "`chmod 600 "+path+"`") || !strings.Contains(err.Error(), path) {
			t.Errorf("mode %04o: %v, want a refusal naming the file and chmod 600", mode, err)
		}
	}
	for _, mode := range []os.FileMode{0o600, 0o400} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadIdentities(IdentitySource{File: path, Getenv: envMap(nil)}); err != nil {
			t.Errorf("mode %04o: %v", mode, err)
		}
	}
	// A pipe has no permissions worth checking; GITSEAL_IDENTITY_FILE=<(...)
	// must work.
	if runtime.GOOS == "linux" {
		file, _, _ := GenerateIdentity(time.Now())
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		go func() { w.Write(file); w.Close() }()
		pipe := fmt.Sprintf("/proc/self/fd/%d", r.Fd())
		if _, err := LoadIdentities(IdentitySource{Getenv: envMap(map[string]string{"GITSEAL_IDENTITY_FILE": pipe})}); err != nil {
			t.Errorf("identity from a pipe: %v", err)
		}
	}
}

func TestLookupOrder(t *testing.T) {
	home := t.TempDir()
	xdgDefault := filepath.Join(home, ".config", "gitseal", "identity")
	writeAgeIdentity(t, xdgDefault)
	edPath := sshKeygen(t, filepath.Join(home, ".ssh"), "id_ed25519", "-t", "ed25519", "-N", "")
	rsaPath := sshKeygen(t, filepath.Join(home, ".ssh"), "id_rsa", "-t", "rsa", "-b", "3072", "-N", "")
	explicit := filepath.Join(t.TempDir(), "explicit")
	writeAgeIdentity(t, explicit)
	envFile := filepath.Join(t.TempDir(), "env-file")
	writeAgeIdentity(t, envFile)
	envText, _, _ := GenerateIdentity(time.Now())
	otherXDG := t.TempDir()
	xdgCustom := filepath.Join(otherXDG, "gitseal", "identity")
	writeAgeIdentity(t, xdgCustom)

	for _, tc := range []struct {
		name string
		file string
		env  map[string]string
		want []string
	}{
		{"--identity wins over everything", explicit, map[string]string{"GITSEAL_IDENTITY": string(envText), "GITSEAL_IDENTITY_FILE": envFile}, []string{explicit}},
		{"GITSEAL_IDENTITY next", "", map[string]string{"GITSEAL_IDENTITY": string(envText), "GITSEAL_IDENTITY_FILE": envFile}, []string{"GITSEAL_IDENTITY"}},
		{"GITSEAL_IDENTITY_FILE next", "", map[string]string{"GITSEAL_IDENTITY_FILE": envFile}, []string{envFile}},
		{"every default file", "", nil, []string{xdgDefault, edPath, rsaPath}},
		{"XDG_CONFIG_HOME", "", map[string]string{"XDG_CONFIG_HOME": otherXDG}, []string{xdgCustom, edPath, rsaPath}},
		{"relative XDG_CONFIG_HOME is ignored", "", map[string]string{"XDG_CONFIG_HOME": "rel"}, []string{xdgDefault, edPath, rsaPath}},
	} {
		ids, err := LoadIdentities(IdentitySource{File: tc.file, Getenv: envMap(tc.env), HomeDir: home})
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got := ids.Sources(); strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%s: Sources() = %q, want %q", tc.name, got, tc.want)
		}
		if len(ids.Recipients()) != len(tc.want) {
			t.Errorf("%s: %d recipients for %d sources", tc.name, len(ids.Recipients()), len(tc.want))
		}
	}

	// Only the ssh keys: a missing default is skipped.
	os.Remove(xdgDefault)
	ids, err := LoadIdentities(IdentitySource{Getenv: envMap(nil), HomeDir: home})
	if err != nil || strings.Join(ids.Sources(), "|") != edPath+"|"+rsaPath {
		t.Errorf("without the gitseal identity: %v, %v", ids, err)
	}

	// A default file with loose permissions is refused, not skipped.
	os.Chmod(edPath, 0o644)
	_, err = LoadIdentities(IdentitySource{Getenv: envMap(nil), HomeDir: home})
	if err == nil || !strings.Contains(err.Error(), "chmod 600 ~/.ssh/id_ed25519") {
		t.Errorf("loose default file: %v", err)
	}

	// An explicit file that does not exist is an error about that file.
	_, err = LoadIdentities(IdentitySource{File: filepath.Join(home, "nope"), Getenv: envMap(nil), HomeDir: home})
	if err == nil || errors.Is(err, ErrNoIdentity) || !strings.Contains(err.Error(), "nope") {
		t.Errorf("missing --identity: %v", err)
	}

	_, err = LoadIdentities(IdentitySource{Getenv: envMap(map[string]string{"GITSEAL_IDENTITY_FILE": filepath.Join(home, "gone")}), HomeDir: home})
	if err == nil || !strings.Contains(err.Error(), "gone") || !strings.Contains(err.Error(), "GITSEAL_IDENTITY_FILE") {
		t.Errorf("missing GITSEAL_IDENTITY_FILE: %v", err)
	}

	// Nothing anywhere.
	empty := t.TempDir()
	_, err = LoadIdentities(IdentitySource{Getenv: envMap(nil), HomeDir: empty})
	if !errors.Is(err, ErrNoIdentity) {
		t.Fatalf("empty home: %v, want ErrNoIdentity", err)
	}
	for _, want := range []string{"~/.config/gitseal/identity", "~/.ssh/id_ed25519", "~/.ssh/id_rsa", "GITSEAL_IDENTITY_FILE", "gitseal keygen -o ~/.config/gitseal/identity"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("ErrNoIdentity text %q does not mention %q", err, want)
		}
	}
}

func TestPassphraseProtectedSSHKey(t *testing.T) {
	home := t.TempDir()
	ageRecipient := writeAgeIdentity(t, filepath.Join(home, ".config", "gitseal", "identity"))
	edPath := sshKeygen(t, filepath.Join(home, ".ssh"), "id_ed25519", "-t", "ed25519", "-N", "s3cret pass")
	edPub := readPub(t, edPath+".pub")
	asked := 0
	src := func(pass string) IdentitySource {
		return IdentitySource{Getenv: envMap(nil), HomeDir: home, SSHPassphrase: func(file string) ([]byte, error) {
			asked++
			if file != edPath {
				t.Errorf("asked for the passphrase of %s", file)
			}
			return []byte(pass), nil
		}}
	}
	ids, err := LoadIdentities(src("s3cret pass"))
	if err != nil {
		t.Fatal(err)
	}
	if rs := ids.Recipients(); len(rs) != 2 || rs[1].Key != edPub.Key {
		t.Errorf("Recipients() = %v, want the age key and %s", rs, edPub.Key)
	}
	dk := mustNewDataKey(t)
	toAge, _ := WrapDataKey(dk, []Recipient{ageRecipient})
	if got, err := UnwrapDataKey(toAge, ids); err != nil || !got.Equal(dk) {
		t.Errorf("wrapped to the age key: %v", err)
	}
	if asked != 0 {
		t.Errorf("asked for an SSH passphrase %d times for a file the SSH key is not a recipient of", asked)
	}
	toSSH, _ := WrapDataKey(dk, []Recipient{edPub})
	for range 2 {
		if got, err := UnwrapDataKey(toSSH, ids); err != nil || !got.Equal(dk) {
			t.Errorf("wrapped to the ssh key: %v", err)
		}
	}
	if asked != 1 {
		t.Errorf("asked %d times, want once (the unlocked key is kept)", asked)
	}

	ids, _ = LoadIdentities(src("wrong"))
	_, err = UnwrapDataKey(toSSH, ids)
	if !errors.Is(err, ErrSecret) || !strings.Contains(err.Error(), "wrong passphrase") || !strings.Contains(err.Error(), edPath) {
		t.Errorf("wrong passphrase: %v", err)
	}
	ids, _ = LoadIdentities(IdentitySource{Getenv: envMap(nil), HomeDir: home})
	_, err = UnwrapDataKey(toSSH, ids)
	if !errors.Is(err, ErrSecret) || !strings.Contains(err.Error(), "protected by a passphrase") {
		t.Errorf("no way to ask: %v", err)
	}
	ids, _ = LoadIdentities(IdentitySource{Getenv: envMap(nil), HomeDir: home, SSHPassphrase: func(string) ([]byte, error) { return nil, errors.New("no tty") }})
	_, err = UnwrapDataKey(toSSH, ids)
	if !errors.Is(err, ErrSecret) || !strings.Contains(err.Error(), "no tty") {
		t.Errorf("prompt fails: %v", err)
	}
}

// TestOldPEMEncryptedRSA: the old PEM encryption hides the public key, so it
// comes from the .pub file next to the key.
func TestOldPEMEncryptedRSA(t *testing.T) {
	dir := t.TempDir()
	path := sshKeygen(t, dir, "id_rsa", "-t", "rsa", "-b", "3072", "-N", "")
	if out, err := exec.Command("ssh-keygen", "-q", "-p", "-m", "PEM", "-N", "pw-12345", "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen -p -m PEM: %v\n%s", err, out)
	}
	head, _ := os.ReadFile(path)
	if !bytes.Contains(head, []byte("Proc-Type: 4,ENCRYPTED")) {
		t.Fatalf("not an old-style encrypted PEM key:\n%.80s", head)
	}
	pw := func(string) ([]byte, error) { return []byte("pw-12345"), nil }
	ids, err := LoadIdentities(IdentitySource{File: path, Getenv: envMap(nil), SSHPassphrase: pw})
	if err != nil {
		t.Fatal(err)
	}
	dk := mustNewDataKey(t)
	wrapped, _ := WrapDataKey(dk, []Recipient{readPub(t, path+".pub")})
	if got, err := UnwrapDataKey(wrapped, ids); err != nil || !got.Equal(dk) {
		t.Errorf("UnwrapDataKey: %v", err)
	}
	os.Remove(path + ".pub")
	_, err = LoadIdentities(IdentitySource{File: path, Getenv: envMap(nil), SSHPassphrase: pw})
	if err == nil || !strings.Contains(err.Error(), "ssh-keygen -p -f") {
		t.Errorf("without .pub: %v", err)
	}
}

func TestParseIdentitiesErrors(t *testing.T) {
	file, pub, _ := GenerateIdentity(time.Now())
	secretLine := strings.TrimSpace(string(file[bytes.LastIndex(bytes.TrimSpace(file), []byte("\n"))+1:]))
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecBlock, _ := ssh.MarshalPrivateKey(ec, "")
	_, ed := testEd25519(t, 4)
	for _, tc := range []struct{ name, text, want string }{
		{"empty", "", "no identity in it"},
		{"only comments", "# nothing\n", "no identity in it"},
		{"public key", "# x\n" + pub.Key + "\n", "line 2: this is a public key"},
		{"ssh public key", ed + "\n", "line 1: this is a public key"},
		{"bad checksum", secretLine[:len(secretLine)-1] + string(otherB64(secretLine[len(secretLine)-1])), "line 1: malformed age secret key"},
		{"post-quantum", "AGE-SECRET-KEY-PQ-1QQQQ\n", "post-quantum"},
		{"plugin", "AGE-PLUGIN-YUBIKEY-1QQQQ\n", "plugin identities are not supported"},
		{"garbage after a key", secretLine + "\nhello " + secretLine + "\n", "line 2: not an age secret key"},
		{"age-encrypted identity", "-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n-----END AGE ENCRYPTED FILE-----\n", "passphrase-protected age identity files"},
		{"ECDSA ssh key", string(pem.EncodeToMemory(ecBlock)), "unsupported SSH key type"},
		{"broken PEM", "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n", "not a usable SSH private key"},
	} {
		_, err := ParseIdentities([]byte(tc.text), "test")
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "reading identity test: ") {
			t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), secretLine[20:40]) {
			t.Errorf("%s: the error quotes the secret key: %v", tc.name, err)
		}
	}
	// A 1024-bit RSA key made by ssh-keygen.
	weak := sshKeygen(t, t.TempDir(), "id_rsa", "-t", "rsa", "-b", "1024", "-N", "")
	if _, err := LoadIdentities(IdentitySource{File: weak, Getenv: envMap(nil)}); err == nil || !strings.Contains(err.Error(), "1024 bits is too weak") {
		t.Errorf("1024-bit RSA: %v", err)
	}
}

func TestGenerateIdentity(t *testing.T) {
	now := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	file, pub, err := GenerateIdentity(now)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(file), "\n")
	if len(lines) != 4 || lines[0] != "# created: 2025-03-04T05:06:07Z" || lines[1] != "# public key: "+pub.Key ||
		!strings.HasPrefix(lines[2], "AGE-SECRET-KEY-1") || lines[3] != "" {
		t.Errorf("identity file is not what age-keygen writes:\n%s", file)
	}
	if pub.Type() != "age" {
		t.Errorf("public key type %q", pub.Type())
	}
	ids, err := ParseIdentities(file, "new")
	if err != nil {
		t.Fatal(err)
	}
	if rs := ids.Recipients(); len(rs) != 1 || rs[0] != pub {
		t.Errorf("Recipients() = %v, want %v", rs, pub)
	}
	if srcs := ids.Sources(); len(srcs) != 1 || srcs[0] != "new" {
		t.Errorf("Sources() = %v", srcs)
	}
	other, _, _ := GenerateIdentity(now)
	if bytes.Equal(file, other) {
		t.Error("two identities are the same")
	}
}

// TestSSHPrivateKeyFormats: the PKCS#8 and OpenSSH encodings of one ed25519
// key give the same identity.
func TestSSHPrivateKeyFormats(t *testing.T) {
	priv, pubLine := testEd25519(t, 5)
	openssh, err := ssh.MarshalPrivateKey(priv, "c")
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string][]byte{
		"pkcs8":        pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}),
		"openssh":      pem.EncodeToMemory(openssh),
		"openssh CRLF": bytes.ReplaceAll(pem.EncodeToMemory(openssh), []byte("\n"), []byte("\r\n")),
	} {
		ids, err := ParseIdentities(text, name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if rs := ids.Recipients(); len(rs) != 1 || rs[0].Key != pubLine {
			t.Errorf("%s: Recipients() = %v, want %s", name, rs, pubLine)
		}
	}
}
