package cipher

// Invariant: a Recipient made by ParseRecipient or ParseRecipients has a
// canonical Key (age: lower-case Bech32; ssh: "TYPE BASE64" of the
// re-marshalled key, no comment) and a clean Name (printable, single line,
// trimmed), so FormatRecipients and ParseRecipients round-trip, and equal
// keys compare equal as strings.
//
// Parse errors never quote the input line: a secret key pasted where a public
// key belongs must not end up in a terminal's scrollback or a CI log.

import (
	"bytes"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"golang.org/x/crypto/ssh"
)

// Recipient is a public key that can be given the data key of an
// environment: an age X25519 key ("age1..."), or an SSH "ssh-ed25519" or
// "ssh-rsa" (at least 2048 bits) public key.
type Recipient struct {
	// Key is the canonical public key text, without a comment.
	Key string
	// Name is a label for people: from a "# name:" line in a recipients
	// file, or the comment of an SSH key. It may be empty.
	Name string
}

// Type returns "age", "ssh-ed25519" or "ssh-rsa".
func (r Recipient) Type() string {
	if strings.HasPrefix(r.Key, "age1") {
		return "age"
	}
	t, _, _ := strings.Cut(r.Key, " ")
	return t
}

// Fingerprint returns a short, stable identifier of the key for listings. For
// SSH keys it is what `ssh-keygen -lf` prints, "SHA256:" and the unpadded
// base64 of the SHA-256 of the key blob. age keys have no standard
// fingerprint; gitseal uses "age:" and the first 12 hex digits of the SHA-256
// of the Key text. It is empty for a Recipient whose Key is not canonical.
func (r Recipient) Fingerprint() string {
	if r.Type() == "age" {
		sum := sha256.Sum256([]byte(r.Key))
		return "age:" + hex.EncodeToString(sum[:])[:12]
	}
	_, b64, ok := strings.Cut(r.Key, " ")
	if !ok {
		return ""
	}
	blob, err := stdB64.decode(b64)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(blob)
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
}

// describe is how errors name a recipient: its label, or its fingerprint.
func (r Recipient) describe() string {
	if r.Name != "" {
		return fmt.Sprintf("%q", r.Name)
	}
	if fp := r.Fingerprint(); fp != "" {
		return fp
	}
	return "(not a valid key)"
}

// ParseRecipient parses one public key on one line: "age1...",
// "ssh-ed25519 AAAA... [comment]" or "ssh-rsa AAAA... [comment]". Leading and
// trailing white space is ignored. The SSH comment becomes the Name.
func ParseRecipient(s string) (Recipient, error) {
	s = strings.TrimSpace(s)
	if strings.ContainsAny(s, "\r\n") {
		return Recipient{}, errors.New("parsing recipient: more than one line; give one key, or a file of keys")
	}
	r, _, err := parseRecipientLine(s)
	if err != nil {
		return Recipient{}, fmt.Errorf("parsing recipient: %w", err)
	}
	return r, nil
}

// ParseRecipients parses a list of public keys, one per line: a gitseal
// recipients file, an authorized ~/.ssh/id_ed25519.pub, or a GitHub
// https://github.com/USER.keys list. Blank lines and lines starting with '#'
// are ignored, except that a "# name: LABEL" line labels the key on the very
// next line (FORMAT.md §4). An error names the line number; a key listed
// twice is an error.
func ParseRecipients(data []byte) ([]Recipient, error) {
	rs, _, err := parseRecipients(data, false)
	return rs, err
}

// ParseRecipientsSkipping is ParseRecipients for a file that may also list
// keys of types age cannot encrypt to, as a GitHub user's .keys does: those
// lines are left out and described in skipped ("line 2: ecdsa-sha2-nistp256
// keys are not supported: ..."). Any other bad line is still an error.
func ParseRecipientsSkipping(data []byte) (rs []Recipient, skipped []string, err error) {
	return parseRecipients(data, true)
}

func parseRecipients(data []byte, skip bool) ([]Recipient, []string, error) {
	var rs []Recipient
	var skipped []string
	firstLine := map[string]int{}
	label, labelLine := "", 0
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	for n, line := range strings.Split(string(data), "\n") {
		n++
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if l, ok := nameComment(line); ok {
			label, labelLine = l, n
			continue
		}
		if line == "" || line[0] == '#' {
			continue
		}
		r, _, err := parseRecipientLine(line)
		if skip && errors.Is(err, ErrUnsupportedKey) {
			skipped = append(skipped, fmt.Sprintf("line %d: %v", n, err))
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("line %d: %w", n, err)
		}
		if labelLine == n-1 && label != "" {
			r.Name = label
		}
		if first, dup := firstLine[r.Key]; dup {
			return nil, nil, fmt.Errorf("line %d: the same key as line %d", n, first)
		}
		firstLine[r.Key] = n
		rs = append(rs, r)
	}
	return rs, skipped, nil
}

// nameComment recognises "# name: LABEL" and returns the cleaned label.
func nameComment(line string) (string, bool) {
	rest, ok := strings.CutPrefix(line, "#")
	if !ok {
		return "", false
	}
	rest, ok = strings.CutPrefix(strings.TrimLeft(rest, " \t"), "name:")
	if !ok {
		return "", false
	}
	return cleanName(rest), true
}

// cleanName makes a label printable and single-line: invalid UTF-8 and
// non-printable characters become spaces, runs of spaces stay, the ends are
// trimmed. It is idempotent, which is what lets names round-trip.
func cleanName(s string) string {
	s = strings.ToValidUTF8(s, " ")
	s = strings.Map(func(r rune) rune {
		if !unicode.IsPrint(r) {
			return ' '
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

const recipientsHeader = `# gitseal recipients: the public keys that can read this environment.
# Change it with "gitseal recipient add|rm", which also re-wraps the data key;
# an edit by hand changes nothing until then. Format: cipher/FORMAT.md.
`

// FormatRecipients returns the canonical recipients file for rs: a header
// comment, then for each distinct key (first one wins) an optional
// "# name: LABEL" line and the key. The result is also a valid recipients
// file for `age -R`.
func FormatRecipients(rs []Recipient) []byte {
	var b strings.Builder
	b.WriteString(recipientsHeader)
	seen := make(map[string]bool, len(rs))
	for _, r := range rs {
		if seen[r.Key] {
			continue
		}
		seen[r.Key] = true
		if name := cleanName(r.Name); name != "" {
			b.WriteString("# name: " + name + "\n")
		}
		b.WriteString(r.Key + "\n")
	}
	return []byte(b.String())
}

// unsupportedSSHTypes are key types that SSH knows and age cannot encrypt to;
// they are named in errors (they are public, fixed strings).
var unsupportedSSHTypes = map[string]string{
	"ecdsa-sha2-nistp256":                "ECDSA keys",
	"ecdsa-sha2-nistp384":                "ECDSA keys",
	"ecdsa-sha2-nistp521":                "ECDSA keys",
	"sk-ssh-ed25519@openssh.com":         "hardware security keys (sk-)",
	"sk-ecdsa-sha2-nistp256@openssh.com": "hardware security keys (sk-)",
	"ssh-dss":                            "DSA keys",
}

// parseRecipientLine parses one trimmed, non-empty line into a canonical
// Recipient and the age recipient that wraps to it.
func parseRecipientLine(line string) (Recipient, age.Recipient, error) {
	const want = "expected an age public key (age1...), or an ssh-ed25519 or ssh-rsa public key"
	switch {
	case line == "":
		return Recipient{}, nil, errors.New("empty; " + want)
	case strings.HasPrefix(line, "AGE-SECRET-KEY-"):
		return Recipient{}, nil, errors.New("this is an age SECRET key, not a public key: keep it private; its public key is on its \"# public key:\" line, or run `age-keygen -y`")
	case strings.HasPrefix(line, "-----BEGIN"):
		return Recipient{}, nil, errors.New("this is a private key file, not a public key: keep it private and use its .pub file")
	case strings.HasPrefix(line, "age1"):
		return parseAgeRecipient(line)
	}
	typ, rest := cutSpace(line)
	if typ != "ssh-ed25519" && typ != "ssh-rsa" {
		if what, ok := unsupportedSSHTypes[typ]; ok {
			return Recipient{}, nil, fmt.Errorf("%s keys are not supported: age cannot encrypt to %s; use an ssh-ed25519, ssh-rsa or age key: %w", typ, what, ErrUnsupportedKey)
		}
		if strings.HasSuffix(typ, "-cert-v01@openssh.com") {
			return Recipient{}, nil, fmt.Errorf("SSH certificates are not supported; give the plain public key: %w", ErrUnsupportedKey)
		}
		return Recipient{}, nil, errors.New("not a public key; " + want)
	}
	b64, comment := cutSpace(rest)
	if b64 == "" {
		return Recipient{}, nil, fmt.Errorf("%s key without key data", typ)
	}
	blob, err := stdB64.decode(b64)
	if err != nil {
		return Recipient{}, nil, fmt.Errorf("%s key data: %w", typ, err)
	}
	pk, err := ssh.ParsePublicKey(blob)
	if err != nil {
		return Recipient{}, nil, fmt.Errorf("%s key data is not a valid SSH public key", typ)
	}
	if pk.Type() != typ {
		return Recipient{}, nil, fmt.Errorf("the line says %s but the key data is %s", typ, pk.Type())
	}
	var ar age.Recipient
	switch typ {
	case "ssh-ed25519":
		ar, err = agessh.NewEd25519Recipient(pk)
	case "ssh-rsa":
		if cpk, ok := pk.(ssh.CryptoPublicKey); ok {
			if rpk, ok := cpk.CryptoPublicKey().(*rsa.PublicKey); ok && rpk.N.BitLen() < 2048 {
				return Recipient{}, nil, fmt.Errorf("ssh-rsa key of %d bits is too weak; gitseal needs at least 2048 bits (ssh-ed25519 is better)", rpk.N.BitLen())
			}
		}
		ar, err = agessh.NewRSARecipient(pk)
	}
	if err != nil {
		return Recipient{}, nil, fmt.Errorf("%s key: %v", typ, err)
	}
	key := typ + " " + base64.StdEncoding.EncodeToString(pk.Marshal())
	return Recipient{Key: key, Name: cleanName(comment)}, ar, nil
}

// parseAgeRecipient parses "age1..." with nothing after it.
func parseAgeRecipient(line string) (Recipient, age.Recipient, error) {
	if strings.ContainsAny(line, " \t") {
		return Recipient{}, nil, errors.New("unexpected text after the age public key; put a label on a \"# name:\" line above it")
	}
	// Bech32's separator is the last '1': "age1..." has the human-readable
	// part "age"; post-quantum ("age1pq1...") and plugin ("age1NAME1...")
	// recipients have longer ones.
	if i := strings.LastIndexByte(line, '1'); i > len("age") {
		if strings.HasPrefix(line, "age1pq1") {
			return Recipient{}, nil, errors.New("post-quantum age keys (age1pq1...) are not supported yet: age cannot mix them with X25519 and SSH recipients")
		}
		return Recipient{}, nil, errors.New("age plugin keys (age1NAME1...) are not supported")
	}
	ar, err := age.ParseX25519Recipient(line)
	if err != nil {
		return Recipient{}, nil, errors.New("malformed age public key (bad length, character or checksum)")
	}
	return Recipient{Key: ar.String()}, ar, nil
}

// cutSpace splits s at its first run of spaces or tabs.
func cutSpace(s string) (before, after string) {
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimLeft(s[i:], " \t")
}
