package cipher

// Invariants:
//   - an identity file that is a regular file with any permission bit for
//     group or others is refused, as ssh refuses such a key, before its
//     content is read;
//   - errors name the source (path or variable) and the line, never the
//     content: the content is a secret key;
//   - a passphrase-protected SSH key asks for its passphrase only when one of
//     its stanzas is in the file being decrypted, so an unrelated protected
//     ~/.ssh/id_rsa costs nothing.

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"golang.org/x/crypto/ssh"
)

// maxIdentitySize bounds an identity file; real ones are under 4 KiB.
const maxIdentitySize = 64 << 10

// IdentitySource says where LoadIdentities looks for identities.
type IdentitySource struct {
	// File is the --identity flag. When set, it is the only source.
	File string
	// Getenv reads GITSEAL_IDENTITY, GITSEAL_IDENTITY_FILE and
	// XDG_CONFIG_HOME. Nil means os.Getenv.
	Getenv func(string) string
	// HomeDir is the home directory for the default files. Empty means
	// os.UserHomeDir.
	HomeDir string
	// SSHPassphrase asks for the passphrase of a passphrase-protected SSH
	// private key; file is the key's path. It is called at most once per
	// key, and only when that key is a recipient of what is being
	// decrypted. Nil means such a key cannot be unlocked: decryption that
	// needs it fails with an error that says so.
	SSHPassphrase func(file string) ([]byte, error)
}

// Identities are the private keys a user can decrypt with, and where they
// came from. An *Identities is safe for concurrent use.
type Identities struct {
	ids        []age.Identity
	keys       []string // ids[i]'s recipient, as Recipient.Key
	sources    []string
	recipients []Recipient
	home       string // for shortening paths in messages; may be empty
}

// LoadIdentities loads identities in the order of DESIGN §3: src.File, then
// GITSEAL_IDENTITY (the key text itself), then GITSEAL_IDENTITY_FILE; the
// first of these that is set is used alone. Otherwise every default file that
// exists is loaded: $XDG_CONFIG_HOME/gitseal/identity (default
// ~/.config/gitseal/identity), ~/.ssh/id_ed25519, ~/.ssh/id_rsa. If there is
// none, the error wraps ErrNoIdentity and says where it looked.
//
// A file may hold age identities (AGE-SECRET-KEY-1..., one per line, '#'
// comments) or one OpenSSH/PEM ssh-ed25519 or ssh-rsa private key. A regular
// file that group or others may access is refused, as ssh does.
func LoadIdentities(src IdentitySource) (*Identities, error) {
	getenv := src.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	home := src.HomeDir
	if home == "" {
		home, _ = os.UserHomeDir() // without one, only the explicit sources work
	}
	ids := &Identities{home: home}
	if src.File != "" {
		if err := ids.loadFile(src.File, src.SSHPassphrase); err != nil {
			return nil, fmt.Errorf("%w (from --identity)", err)
		}
		return ids, nil
	}
	if text := getenv("GITSEAL_IDENTITY"); text != "" {
		if err := ids.add([]byte(text), "GITSEAL_IDENTITY", "", src.SSHPassphrase); err != nil {
			return nil, fmt.Errorf("reading identity from GITSEAL_IDENTITY: %w", err)
		}
		return ids, nil
	}
	if file := getenv("GITSEAL_IDENTITY_FILE"); file != "" {
		if err := ids.loadFile(file, src.SSHPassphrase); err != nil {
			return nil, fmt.Errorf("%w (from GITSEAL_IDENTITY_FILE)", err)
		}
		return ids, nil
	}
	defaults := defaultIdentityFiles(getenv, home)
	for _, path := range defaults {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := ids.loadFile(path, src.SSHPassphrase); err != nil {
			return nil, fmt.Errorf("%w (or choose another identity with --identity or GITSEAL_IDENTITY_FILE)", err)
		}
	}
	if len(ids.ids) > 0 {
		return ids, nil
	}
	if len(defaults) == 0 {
		return nil, fmt.Errorf("%w: --identity, GITSEAL_IDENTITY and GITSEAL_IDENTITY_FILE are not set, and there is no home directory to look in", ErrNoIdentity)
	}
	shown := make([]string, len(defaults))
	for i, p := range defaults {
		shown[i] = tildePath(p, home)
	}
	return nil, fmt.Errorf("%w: --identity, GITSEAL_IDENTITY and GITSEAL_IDENTITY_FILE are not set, and none of %s exists; create one with `gitseal keygen -o %s`",
		ErrNoIdentity, strings.Join(shown, ", "), shown[0])
}

// defaultIdentityFiles lists the default identity paths, in order.
func defaultIdentityFiles(getenv func(string) string, home string) []string {
	var files []string
	config := getenv("XDG_CONFIG_HOME")
	if !filepath.IsAbs(config) { // the XDG spec says to ignore relative paths
		config = ""
		if home != "" {
			config = filepath.Join(home, ".config")
		}
	}
	if config != "" {
		files = append(files, filepath.Join(config, "gitseal", "identity"))
	}
	if home != "" {
		files = append(files, filepath.Join(home, ".ssh", "id_ed25519"), filepath.Join(home, ".ssh", "id_rsa"))
	}
	return files
}

// loadFile reads and adds the identities in one file.
func (ids *Identities) loadFile(path string, ask func(string) ([]byte, error)) error {
	shown := tildePath(path, ids.home)
	data, err := readIdentityFile(path, shown)
	if err != nil {
		return err
	}
	if err := ids.add(data, path, path+".pub", ask); err != nil {
		return fmt.Errorf("reading identity %s: %w", shown, err)
	}
	return nil
}

// readIdentityFile reads an identity file after checking its permissions on
// the open file, so the check and the read see the same file. Only regular
// files are checked: a pipe (GITSEAL_IDENTITY_FILE=<(vault read ...)) keeps
// nothing at rest.
func readIdentityFile(path, shown string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading identity: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading identity: %w", err)
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("reading identity %s: it is a directory", shown)
	}
	if perm := fi.Mode().Perm(); fi.Mode().IsRegular() && perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("identity file %s is accessible by group or others (mode %04o), so gitseal will not use it; run `chmod 600 %s`", shown, perm, shown)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxIdentitySize+1))
	if err != nil {
		return nil, fmt.Errorf("reading identity: %w", err)
	}
	if len(data) > maxIdentitySize {
		return nil, fmt.Errorf("reading identity %s: larger than %d KiB, not an identity file", shown, maxIdentitySize>>10)
	}
	return data, nil
}

// ParseIdentities parses the text of an identity file (see LoadIdentities
// for what it may hold). source names it in Sources and in errors. A
// passphrase-protected SSH key parses, but cannot be unlocked: decryption
// that needs it fails with an error that says so.
func ParseIdentities(data []byte, source string) (*Identities, error) {
	ids := &Identities{}
	if err := ids.add(data, source, "", nil); err != nil {
		return nil, fmt.Errorf("reading identity %s: %w", source, err)
	}
	return ids, nil
}

// add parses data and appends its identities. pubFile, if not empty, is
// where the public key of an old-style encrypted PEM key may be found.
func (ids *Identities) add(data []byte, source, pubFile string, ask func(string) ([]byte, error)) error {
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	trimmed := bytes.TrimSpace(data)
	switch {
	case bytes.HasPrefix(trimmed, []byte("-----BEGIN AGE ENCRYPTED FILE-----")), bytes.HasPrefix(trimmed, []byte("age-encryption.org/")):
		return errors.New("passphrase-protected age identity files are not supported yet")
	case bytes.HasPrefix(trimmed, []byte("-----BEGIN ")):
		id, r, err := parseSSHIdentity(trimmed, source, pubFile, ask)
		if err != nil {
			return err
		}
		ids.ids = append(ids.ids, id)
		ids.keys = append(ids.keys, r.Key)
		ids.recipients = appendRecipient(ids.recipients, r)
	default:
		found := false
		for n, line := range strings.Split(string(data), "\n") {
			line = strings.TrimSpace(line)
			if line == "" || line[0] == '#' {
				continue
			}
			id, err := parseAgeIdentityLine(line)
			if err != nil {
				return fmt.Errorf("line %d: %w", n+1, err)
			}
			ids.ids = append(ids.ids, id)
			ids.keys = append(ids.keys, id.Recipient().String())
			ids.recipients = appendRecipient(ids.recipients, Recipient{Key: id.Recipient().String()})
			found = true
		}
		if !found {
			return errors.New("no identity in it (expected AGE-SECRET-KEY-1... lines or an SSH private key)")
		}
	}
	ids.sources = append(ids.sources, source)
	return nil
}

func appendRecipient(rs []Recipient, r Recipient) []Recipient {
	for _, x := range rs {
		if x.Key == r.Key {
			return rs
		}
	}
	return append(rs, r)
}

// parseAgeIdentityLine parses one non-comment line of an age identity file.
func parseAgeIdentityLine(line string) (*age.X25519Identity, error) {
	switch {
	case strings.HasPrefix(line, "AGE-SECRET-KEY-1"):
		id, err := age.ParseX25519Identity(line)
		if err != nil {
			return nil, errors.New("malformed age secret key (bad length, character or checksum)")
		}
		return id, nil
	case strings.HasPrefix(line, "AGE-SECRET-KEY-PQ-1"):
		return nil, errors.New("post-quantum age identities are not supported yet")
	case strings.HasPrefix(line, "AGE-PLUGIN-"):
		return nil, errors.New("age plugin identities are not supported")
	case strings.HasPrefix(line, "age1"), strings.HasPrefix(line, "ssh-"):
		return nil, errors.New("this is a public key; an identity is a secret key (AGE-SECRET-KEY-1...) or an SSH private key")
	}
	return nil, errors.New("not an age secret key (AGE-SECRET-KEY-1...)")
}

// parseSSHIdentity parses a PEM-armored SSH private key.
func parseSSHIdentity(pemBytes []byte, source, pubFile string, ask func(string) ([]byte, error)) (age.Identity, Recipient, error) {
	k, err := ssh.ParseRawPrivateKey(pemBytes)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		return lockedSSHIdentity(pemBytes, missing.PublicKey, source, pubFile, ask)
	}
	if err != nil {
		return nil, Recipient{}, fmt.Errorf("not a usable SSH private key (%s)", shortDetail(err))
	}
	return sshIdentity(k)
}

// sshIdentity makes the age identity and public recipient of an unencrypted
// SSH private key.
func sshIdentity(k any) (age.Identity, Recipient, error) {
	var id age.Identity
	var pub any
	var err error
	switch k := k.(type) {
	case ed25519.PrivateKey:
		id, err = agessh.NewEd25519Identity(k)
		pub = k.Public()
	case *ed25519.PrivateKey: // ssh returns either form (age issue 429)
		id, err = agessh.NewEd25519Identity(*k)
		pub = k.Public()
	case *rsa.PrivateKey:
		if bits := k.N.BitLen(); bits < 2048 {
			return nil, Recipient{}, fmt.Errorf("ssh-rsa key of %d bits is too weak; gitseal needs at least 2048 bits", bits)
		}
		id, err = agessh.NewRSAIdentity(k)
		pub = &k.PublicKey
	default:
		return nil, Recipient{}, fmt.Errorf("unsupported SSH key type %T; gitseal can use ssh-ed25519 and ssh-rsa keys", k)
	}
	if err != nil {
		return nil, Recipient{}, fmt.Errorf("unusable SSH key: %v", err)
	}
	spk, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, Recipient{}, fmt.Errorf("unusable SSH key: %v", err)
	}
	r, _, err := parseRecipientLine(string(bytes.TrimSpace(ssh.MarshalAuthorizedKey(spk))))
	if err != nil {
		return nil, Recipient{}, err
	}
	return id, r, nil
}

// lockedSSHIdentity makes an identity for a passphrase-protected SSH key
// that asks for the passphrase only when it is needed.
func lockedSSHIdentity(pemBytes []byte, pub ssh.PublicKey, source, pubFile string, ask func(string) ([]byte, error)) (age.Identity, Recipient, error) {
	if pub == nil && pubFile != "" {
		// Old PEM encryption hides the public key too; ssh-keygen puts it
		// next to the key.
		if data, err := os.ReadFile(pubFile); err == nil {
			pub, _, _, _, _ = ssh.ParseAuthorizedKey(data)
		}
	}
	if pub == nil {
		return nil, Recipient{}, errors.New("the SSH key is passphrase-protected in the old PEM format, which hides its public key; put the public key in a .pub file next to it, or convert the key with `ssh-keygen -p -f FILE`")
	}
	r, _, err := parseRecipientLine(string(bytes.TrimSpace(ssh.MarshalAuthorizedKey(pub))))
	if err != nil {
		return nil, Recipient{}, err
	}
	return &sshLockedIdentity{pem: pemBytes, pub: pub, recipient: r, source: source, ask: ask}, r, nil
}

// sshLockedIdentity is a passphrase-protected SSH key. It does what
// agessh.EncryptedSSHIdentity does, but keeps the reason a passphrase failed
// (no way to ask, the prompt failed, wrong passphrase) as a typed error, so
// the message can say which.
type sshLockedIdentity struct {
	pem       []byte
	pub       ssh.PublicKey
	recipient Recipient
	source    string
	ask       func(string) ([]byte, error)

	mu       sync.Mutex
	unlocked age.Identity
}

// Unwrap implements age.Identity.
func (i *sshLockedIdentity) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.unlocked != nil {
		return i.unlocked.Unwrap(stanzas)
	}
	tag := agesshTag(i.pub.Marshal())
	match := false
	for _, s := range stanzas {
		if s.Type == i.pub.Type() && len(s.Args) > 0 && s.Args[0] == tag {
			match = true
			break
		}
	}
	if !match {
		return nil, age.ErrIncorrectIdentity
	}
	if i.ask == nil {
		return nil, &sshUnlockError{source: i.source, err: errors.New("it is protected by a passphrase, and there is no terminal to ask for it; use an age identity (gitseal keygen) for automation")}
	}
	pass, err := i.ask(i.source)
	if err != nil {
		return nil, &sshUnlockError{source: i.source, err: fmt.Errorf("reading its passphrase: %w", err)}
	}
	k, err := ssh.ParseRawPrivateKeyWithPassphrase(i.pem, pass)
	if errors.Is(err, x509.IncorrectPasswordError) {
		return nil, &sshUnlockError{source: i.source, err: errors.New("wrong passphrase")}
	}
	if err != nil {
		return nil, &sshUnlockError{source: i.source, err: fmt.Errorf("cannot decrypt the key file (%s)", shortDetail(err))}
	}
	id, r, err := sshIdentity(k)
	if err != nil {
		return nil, &sshUnlockError{source: i.source, err: err}
	}
	if r.Key != i.recipient.Key {
		return nil, &sshUnlockError{source: i.source, err: errors.New("the private key does not match its public key")}
	}
	i.unlocked = id
	return id.Unwrap(stanzas)
}

// sshUnlockError is why a passphrase-protected SSH key that is a recipient
// could not be used.
type sshUnlockError struct {
	source string
	err    error
}

func (e *sshUnlockError) Error() string {
	return fmt.Sprintf("cannot use SSH key %s: %v", e.source, e.err)
}

func (e *sshUnlockError) Unwrap() error { return e.err }

// Sources returns where the identities came from, in lookup order: file
// paths, or "GITSEAL_IDENTITY".
func (ids *Identities) Sources() []string {
	return append([]string(nil), ids.sources...)
}

// Recipients returns the public keys of the identities, without labels, for
// example to make the user a recipient of a new store.
func (ids *Identities) Recipients() []Recipient {
	return append([]Recipient(nil), ids.recipients...)
}

// displaySources is Sources with the home directory shortened to "~".
func (ids *Identities) displaySources() []string {
	out := make([]string, len(ids.sources))
	for i, s := range ids.sources {
		out[i] = tildePath(s, ids.home)
	}
	return out
}

// addHint is the argument of the `gitseal recipient add` a reader of the
// environment should run for this user: the public key itself when there is
// one and it is short enough for a one-line message.
func (ids *Identities) addHint() string {
	if len(ids.recipients) == 1 && len(ids.recipients[0].Key) <= 100 {
		k := ids.recipients[0].Key
		if strings.Contains(k, " ") {
			return `"` + k + `"`
		}
		return k
	}
	return "YOUR_PUBLIC_KEY"
}

// tildePath shortens a path under home to "~/...", for messages.
func tildePath(path, home string) string {
	if home == "" {
		return path
	}
	rel, err := filepath.Rel(home, path)
	if err != nil || !filepath.IsLocal(rel) {
		return path
	}
	return "~" + string(filepath.Separator) + rel
}

// GenerateIdentity makes a new age X25519 identity. file is the identity
// file as age-keygen writes it:
//
//	# created: 2006-01-02T15:04:05Z
//	# public key: age1...
//	AGE-SECRET-KEY-1...
//
// The caller writes file with mode 0600; public is its public key.
func GenerateIdentity(now time.Time) (file []byte, public Recipient, err error) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, Recipient{}, fmt.Errorf("generating identity: %w", err)
	}
	public = Recipient{Key: id.Recipient().String()}
	file = fmt.Appendf(nil, "# created: %s\n# public key: %s\n%s\n", now.Format(time.RFC3339), public.Key, id.String())
	return file, public, nil
}
