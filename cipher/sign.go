package cipher

// Signatures over publish records: SSHSIG (OpenSSH's PROTOCOL.sshsig), the
// format `ssh-keygen -Y sign` writes and `ssh-keygen -Y verify` checks, made
// with the SSH keys people already have (ed25519, ecdsa, rsa with
// rsa-sha2-512), hash sha512.
//
//	signed data  = "SSHSIG" || string(namespace) || string("") ||
//	               string("sha512") || string(SHA-512(message))
//	signature    = "SSHSIG" || uint32(1) || string(public key) ||
//	               string(namespace) || string("") || string("sha512") ||
//	               string(ssh signature of the signed data)
//	armored      = "-----BEGIN SSH SIGNATURE-----\n" ||
//	               base64(signature), lines of 70 ||
//	               "\n-----END SSH SIGNATURE-----\n"
//
// (string(x) is a uint32 big-endian length then x, as in RFC 4251.)
//
// Invariants:
//   - a verification accepts only a key in the trusted set, compared on the
//     public key's wire bytes, and only the namespace asked for, so a
//     signature made for git commits or for files cannot pass as a publish;
//   - rsa signatures must use rsa-sha2-256 or rsa-sha2-512, never ssh-rsa
//     (SHA-1), as PROTOCOL.sshsig requires;
//   - errors name files and fingerprints, never key material.

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"
)

// untrustedError is ErrUntrusted: it matches ErrSecret too, so the CLI exits
// 4 ("cannot read: tampered with or not trusted") without a second code.
type untrustedError struct{}

func (untrustedError) Error() string        { return "not signed by a trusted publisher" }
func (untrustedError) Is(target error) bool { return target == ErrSecret }

// Conditions of signing and verification callers branch on.
var (
	// ErrUntrusted is wrapped when a signature is missing, malformed, made
	// for another namespace or message, or made by a key that is not
	// trusted. errors.Is(err, ErrSecret) holds for it too.
	ErrUntrusted error = untrustedError{}
	// ErrNoSigningKey: no SSH private key was found to sign with.
	ErrNoSigningKey = errors.New("no signing key found")
)

const (
	sshsigMagic   = "SSHSIG"
	sshsigVersion = 1
	sshsigHash    = "sha512"
	armorBegin    = "-----BEGIN SSH SIGNATURE-----"
	armorEnd      = "-----END SSH SIGNATURE-----"
	// maxSignature bounds an armored signature (an rsa-16384 one is ~5 KiB).
	maxSignature = 16 << 10
)

// SignerSource says where LoadSigner finds the SSH private key to sign with.
type SignerSource struct {
	// File is the --signing-key flag. When set, it is the only source.
	File string
	// Getenv reads GITSEAL_SIGNING_KEY (the key text itself, for CI) and
	// GITSEAL_SIGNING_KEY_FILE. Nil means os.Getenv.
	Getenv func(string) string
	// HomeDir is where ~/.ssh/id_ed25519 and ~/.ssh/id_rsa are looked for.
	HomeDir string
	// Passphrase asks for the passphrase of a protected key; nil means such
	// a key cannot be used.
	Passphrase func(file string) ([]byte, error)
}

// Signer signs with one SSH private key.
type Signer struct {
	signer ssh.Signer
	source string
}

// LoadSigner loads the signing key: src.File, else GITSEAL_SIGNING_KEY (key
// text), else GITSEAL_SIGNING_KEY_FILE, else the first of ~/.ssh/id_ed25519
// and ~/.ssh/id_rsa that exists. A key file readable by group or others is
// refused, as ssh refuses it. With none, the error wraps ErrNoSigningKey.
func LoadSigner(src SignerSource) (*Signer, error) {
	getenv := src.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	home := src.HomeDir
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	switch {
	case src.File != "":
		return loadSignerFile(src.File, home, src.Passphrase)
	case getenv("GITSEAL_SIGNING_KEY") != "":
		return parseSigner([]byte(getenv("GITSEAL_SIGNING_KEY")), "GITSEAL_SIGNING_KEY", nil)
	case getenv("GITSEAL_SIGNING_KEY_FILE") != "":
		return loadSignerFile(getenv("GITSEAL_SIGNING_KEY_FILE"), home, src.Passphrase)
	}
	var tried []string
	if home != "" {
		for _, name := range []string{"id_ed25519", "id_rsa"} {
			p := filepath.Join(home, ".ssh", name)
			if _, err := os.Stat(p); err == nil {
				return loadSignerFile(p, home, src.Passphrase)
			}
			tried = append(tried, tildePath(p, home))
		}
	}
	return nil, fmt.Errorf("signing: %w (looked at --signing-key, GITSEAL_SIGNING_KEY, GITSEAL_SIGNING_KEY_FILE, %s)", ErrNoSigningKey, strings.Join(tried, ", "))
}

func loadSignerFile(path, home string, ask func(string) ([]byte, error)) (*Signer, error) {
	shown := tildePath(path, home)
	data, err := readIdentityFile(path, shown)
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	return parseSigner(data, shown, func() ([]byte, error) {
		if ask == nil {
			return nil, fmt.Errorf("signing key %s is protected by a passphrase, and none can be asked for here", shown)
		}
		return ask(path)
	})
}

// ParseSigner parses an OpenSSH or PEM private key (ed25519, ecdsa, rsa);
// source names it in errors. A passphrase-protected key is refused.
func ParseSigner(data []byte, source string) (*Signer, error) {
	return parseSigner(data, source, nil)
}

func parseSigner(data []byte, source string, ask func() ([]byte, error)) (*Signer, error) {
	key, err := ssh.ParseRawPrivateKey(data)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		if ask == nil {
			return nil, fmt.Errorf("signing key %s is protected by a passphrase; use an unprotected key or a terminal", source)
		}
		pass, aerr := ask()
		if aerr != nil {
			return nil, fmt.Errorf("signing key %s: %w", source, aerr)
		}
		if key, err = ssh.ParseRawPrivateKeyWithPassphrase(data, pass); err != nil {
			return nil, fmt.Errorf("signing key %s: wrong passphrase, or not a key gitseal can use", source)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("signing key %s is not an SSH private key gitseal can use (ed25519, ecdsa or rsa)", source)
	}
	s, err := ssh.NewSignerFromKey(key)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %v", source, err)
	}
	return &Signer{signer: s, source: source}, nil
}

// PublicKey returns the signer's public key as an authorized_keys line
// ("ssh-ed25519 AAAA…"), without a comment.
func (s *Signer) PublicKey() string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.signer.PublicKey())))
}

// Fingerprint returns the key's SHA256 fingerprint, as ssh-keygen -l prints it.
func (s *Signer) Fingerprint() string { return ssh.FingerprintSHA256(s.signer.PublicKey()) }

// Source names where the key came from (a path or a variable).
func (s *Signer) Source() string { return s.source }

func appendSSHString(b, s []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

func sshsigSignedData(namespace, hashAlg string, message []byte) ([]byte, error) {
	var digest []byte
	switch hashAlg {
	case "sha512":
		d := sha512.Sum512(message)
		digest = d[:]
	case "sha256":
		d := sha256.Sum256(message)
		digest = d[:]
	default:
		return nil, fmt.Errorf("hash %q", hashAlg)
	}
	b := []byte(sshsigMagic)
	b = appendSSHString(b, []byte(namespace))
	b = appendSSHString(b, nil)
	b = appendSSHString(b, []byte(hashAlg))
	return appendSSHString(b, digest), nil
}

// Sign signs message for namespace and returns the armored SSHSIG, as
// `ssh-keygen -Y sign -n NAMESPACE` would write it.
func (s *Signer) Sign(namespace string, message []byte) ([]byte, error) {
	if namespace == "" {
		return nil, errors.New("signing: empty namespace")
	}
	data, err := sshsigSignedData(namespace, sshsigHash, message)
	if err != nil {
		return nil, err
	}
	var sig *ssh.Signature
	if as, ok := s.signer.(ssh.AlgorithmSigner); ok && s.signer.PublicKey().Type() == ssh.KeyAlgoRSA {
		sig, err = as.SignWithAlgorithm(rand.Reader, data, ssh.KeyAlgoRSASHA512)
	} else {
		sig, err = s.signer.Sign(rand.Reader, data)
	}
	if err != nil {
		return nil, fmt.Errorf("signing with %s: %v", s.source, err)
	}
	blob := []byte(sshsigMagic)
	blob = binary.BigEndian.AppendUint32(blob, sshsigVersion)
	blob = appendSSHString(blob, s.signer.PublicKey().Marshal())
	blob = appendSSHString(blob, []byte(namespace))
	blob = appendSSHString(blob, nil)
	blob = appendSSHString(blob, []byte(sshsigHash))
	blob = appendSSHString(blob, ssh.Marshal(sig))
	return armorSignature(blob), nil
}

func armorSignature(blob []byte) []byte {
	enc := base64.StdEncoding.EncodeToString(blob)
	var b bytes.Buffer
	b.WriteString(armorBegin + "\n")
	for len(enc) > 70 {
		b.WriteString(enc[:70] + "\n")
		enc = enc[70:]
	}
	b.WriteString(enc + "\n" + armorEnd + "\n")
	return b.Bytes()
}

// sshsig is a parsed signature.
type sshsig struct {
	pub       ssh.PublicKey
	namespace string
	hashAlg   string
	sig       *ssh.Signature
}

func readSSHString(b []byte) ([]byte, []byte, bool) {
	if len(b) < 4 {
		return nil, nil, false
	}
	n := binary.BigEndian.Uint32(b)
	if uint64(len(b)-4) < uint64(n) {
		return nil, nil, false
	}
	return b[4 : 4+n], b[4+n:], true
}

func parseArmoredSignature(armored []byte) (*sshsig, error) {
	if len(armored) > maxSignature {
		return nil, errors.New("signature too large")
	}
	text := strings.TrimSpace(string(armored))
	body, ok := strings.CutPrefix(text, armorBegin)
	if ok {
		body, ok = strings.CutSuffix(body, armorEnd)
	}
	if !ok {
		return nil, errors.New("not an armored SSH signature")
	}
	blob, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(body), ""))
	if err != nil {
		return nil, errors.New("signature is not valid base64")
	}
	rest, ok := bytes.CutPrefix(blob, []byte(sshsigMagic))
	if !ok || len(rest) < 4 {
		return nil, errors.New("not an SSHSIG signature")
	}
	if v := binary.BigEndian.Uint32(rest); v != sshsigVersion {
		return nil, fmt.Errorf("SSHSIG version %d is not supported", v)
	}
	rest = rest[4:]
	var fields [5][]byte
	for i := range fields {
		if fields[i], rest, ok = readSSHString(rest); !ok {
			return nil, errors.New("truncated signature")
		}
	}
	if len(rest) != 0 {
		return nil, errors.New("trailing bytes after the signature")
	}
	pub, err := ssh.ParsePublicKey(fields[0])
	if err != nil {
		return nil, errors.New("signature carries an unknown public key")
	}
	if len(fields[2]) != 0 {
		return nil, errors.New("signature has a non-empty reserved field")
	}
	var sig struct {
		Format string
		Blob   []byte
		Rest   []byte `ssh:"rest"`
	}
	if err := ssh.Unmarshal(fields[4], &sig); err != nil || len(sig.Rest) != 0 {
		return nil, errors.New("malformed signature value")
	}
	return &sshsig{pub: pub, namespace: string(fields[1]), hashAlg: string(fields[3]),
		sig: &ssh.Signature{Format: sig.Format, Blob: sig.Blob}}, nil
}

// TrustedKeys are the public keys whose signatures are accepted.
type TrustedKeys struct {
	keys  []ssh.PublicKey
	wires map[string]bool
}

// Len is how many keys are trusted.
func (t *TrustedKeys) Len() int {
	if t == nil {
		return 0
	}
	return len(t.keys)
}

// ParseTrustedKeys parses public keys, one per line: authorized_keys lines
// ("ssh-ed25519 AAAA… comment", options allowed) or allowed_signers lines
// ("PRINCIPALS ssh-ed25519 AAAA…"); blank lines and '#' comments are skipped.
// source names the text in errors.
func ParseTrustedKeys(data []byte, source string) (*TrustedKeys, error) {
	t := &TrustedKeys{wires: map[string]bool{}}
	if err := t.add(data, source); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *TrustedKeys) add(data []byte, source string) error {
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			// allowed_signers: principals first.
			if _, rest, ok := strings.Cut(line, " "); ok {
				pub, _, _, _, err = ssh.ParseAuthorizedKey([]byte(strings.TrimSpace(rest)))
			}
		}
		if err != nil {
			return fmt.Errorf("trusted publisher keys (%s), line %d: not an SSH public key", source, i+1)
		}
		if w := string(pub.Marshal()); !t.wires[w] {
			t.wires[w] = true
			t.keys = append(t.keys, pub)
		}
	}
	return nil
}

// LoadTrustedKeys reads trusted keys from entries, each either public key
// text (one or more lines, as ParseTrustedKeys takes) or the path of a file
// holding such lines (~/ is the home directory). An empty result is not an
// error; the caller decides whether trust was asked for.
func LoadTrustedKeys(entries []string, home string) (*TrustedKeys, error) {
	t := &TrustedKeys{wires: map[string]bool{}}
	for _, e := range entries {
		for _, line := range strings.Split(e, "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			if looksLikeKeyLine(line) {
				if err := t.add([]byte(line), "key text"); err != nil {
					return nil, err
				}
				continue
			}
			path := line
			if rest, ok := strings.CutPrefix(path, "~/"); ok && home != "" {
				path = filepath.Join(home, rest)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return nil, fmt.Errorf("reading trusted publisher keys: %w", err)
			}
			if err := t.add(data, path); err != nil {
				return nil, err
			}
		}
	}
	return t, nil
}

// looksLikeKeyLine tells key text from a path: a key line has a space-
// separated field that is a key type, or starts with one.
func looksLikeKeyLine(line string) bool {
	for _, f := range strings.Fields(line) {
		if strings.HasPrefix(f, "ssh-") || strings.HasPrefix(f, "ecdsa-sha2-") || strings.HasPrefix(f, "sk-") {
			return true
		}
	}
	return false
}

// SignatureKey returns the fingerprint of the key an armored SSHSIG names,
// without verifying anything: for display only.
func SignatureKey(armored []byte) (string, error) {
	s, err := parseArmoredSignature(armored)
	if err != nil {
		return "", err
	}
	return ssh.FingerprintSHA256(s.pub), nil
}

// Verify checks an armored SSHSIG over message for namespace, and that a
// trusted key made it; it returns that key's fingerprint. Any failure wraps
// ErrUntrusted.
func (t *TrustedKeys) Verify(namespace string, message, armored []byte) (string, error) {
	s, err := parseArmoredSignature(armored)
	if err != nil {
		return "", fmt.Errorf("signature: %v: %w", err, ErrUntrusted)
	}
	fp := ssh.FingerprintSHA256(s.pub)
	if s.namespace != namespace {
		return "", fmt.Errorf("signature by %s was made for %q, not %q: %w", fp, s.namespace, namespace, ErrUntrusted)
	}
	if t == nil || !t.wires[string(s.pub.Marshal())] {
		return "", fmt.Errorf("signed by %s, which is not a trusted publisher key: %w", fp, ErrUntrusted)
	}
	if s.pub.Type() == ssh.KeyAlgoRSA && s.sig.Format != ssh.KeyAlgoRSASHA256 && s.sig.Format != ssh.KeyAlgoRSASHA512 {
		return "", fmt.Errorf("signature by %s uses %s (SHA-1), which is refused: %w", fp, s.sig.Format, ErrUntrusted)
	}
	data, err := sshsigSignedData(namespace, s.hashAlg, message)
	if err != nil {
		return "", fmt.Errorf("signature by %s: unsupported %v: %w", fp, err, ErrUntrusted)
	}
	if err := s.pub.Verify(data, s.sig); err != nil {
		return "", fmt.Errorf("signature by %s does not match the signed content (tampered with, or made for other content): %w", fp, ErrUntrusted)
	}
	return fp, nil
}
