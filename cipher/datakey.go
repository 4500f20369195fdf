package cipher

// Invariant: a data key leaves this package only wrapped (WrapDataKey,
// WrapDataKeyPassphrase). No exported function or method returns its bytes,
// and fmt prints a DataKey as a fixed placeholder, so an accidental %v in a
// caller's error message cannot leak it.

import (
	"bytes"
	stdcipher "crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"

	"filippo.io/age"
	"filippo.io/age/armor"
)

const (
	dataKeySize = 32

	// dataKeyTag starts the plaintext inside datakey.age (FORMAT.md §3).
	dataKeyTag = "gitseal-datakey:v1:"
	// dataKeyTagFamily is what every version of that tag starts with.
	dataKeyTagFamily = "gitseal-datakey:v"

	// maxWrappedPlaintext bounds what UnwrapDataKey reads from the age
	// payload: far above any data key plaintext, far below a memory problem.
	maxWrappedPlaintext = 1024
)

// DataKey is an environment's random 256-bit key. Secrets and keyrings are
// sealed under subkeys derived from it (see Seal). Get one from NewDataKey or
// by unwrapping; it is stored only wrapped, by WrapDataKey or
// WrapDataKeyPassphrase. A *DataKey is safe for concurrent use.
type DataKey struct {
	key [dataKeySize]byte
	// aeads holds one AEAD per kind, derived once when the key is made,
	// because Open is called once per value and the derivation costs more
	// than the decryption of a short value.
	secret, keyring stdcipher.AEAD
}

// NewDataKey returns a fresh random data key.
func NewDataKey() (*DataKey, error) {
	var key [dataKeySize]byte
	if _, err := rand.Read(key[:]); err != nil {
		return nil, fmt.Errorf("generating data key: %w", err)
	}
	return newDataKey(key)
}

// newDataKey makes a DataKey from its bytes, deriving the per-kind AEADs.
func newDataKey(key [dataKeySize]byte) (*DataKey, error) {
	dk := &DataKey{key: key}
	var err error
	if dk.secret, err = deriveAEAD(key[:], KindSecret); err != nil {
		return nil, err
	}
	if dk.keyring, err = deriveAEAD(key[:], KindKeyring); err != nil {
		return nil, err
	}
	return dk, nil
}

// Equal reports, in constant time, whether dk and o are the same key. Two nil
// keys are equal.
func (dk *DataKey) Equal(o *DataKey) bool {
	if dk == nil || o == nil {
		return dk == o
	}
	return subtle.ConstantTimeCompare(dk.key[:], o.key[:]) == 1
}

// Format prints a placeholder for every verb, never the key.
func (dk DataKey) Format(f fmt.State, verb rune) {
	io.WriteString(f, "cipher.DataKey{REDACTED}")
}

// aead returns the AEAD of the given kind, or nil for an unknown kind or an
// unusable DataKey (a zero value made outside this package).
func (dk *DataKey) aead(kind string) stdcipher.AEAD {
	if dk == nil {
		return nil
	}
	switch kind {
	case KindSecret:
		return dk.secret
	case KindKeyring:
		return dk.keyring
	}
	return nil
}

// wrappedPlaintext is what age encrypts: the version tag, then the key.
func (dk *DataKey) wrappedPlaintext() []byte {
	p := make([]byte, 0, len(dataKeyTag)+dataKeySize)
	p = append(p, dataKeyTag...)
	return append(p, dk.key[:]...)
}

// parseWrappedPlaintext is the inverse of wrappedPlaintext. Its errors are
// ErrUnknownVersion or plain descriptions of the damage; the caller adds
// ErrSecret.
func parseWrappedPlaintext(p []byte) (*DataKey, error) {
	if !bytes.HasPrefix(p, []byte(dataKeyTag)) {
		if v, ok := versionAfter(p, dataKeyTagFamily); ok {
			return nil, fmt.Errorf("%w v%s in the data key; upgrade gitseal to read it", ErrUnknownVersion, v)
		}
		return nil, errors.New("the decrypted data key does not start with " + dataKeyTag)
	}
	if n := len(p) - len(dataKeyTag); n != dataKeySize {
		return nil, fmt.Errorf("the decrypted data key is %d bytes, not %d", n, dataKeySize)
	}
	var key [dataKeySize]byte
	copy(key[:], p[len(dataKeyTag):])
	return newDataKey(key)
}

// versionAfter reports whether p starts with family, then 1 to 9 digits,
// then ':', and returns the digits. It recognises a version tag of a format
// this gitseal does not know, so the error can say "upgrade" instead of
// "corrupt".
func versionAfter(p []byte, family string) (string, bool) {
	if !bytes.HasPrefix(p, []byte(family)) {
		return "", false
	}
	rest := p[len(family):]
	n := 0
	for n < len(rest) && n < 10 && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	if n == 0 || n > 9 || n >= len(rest) || rest[n] != ':' {
		return "", false
	}
	return string(rest[:n]), true
}

// WrapDataKey encrypts dk to every recipient in rs with age and returns the
// armored age file (the text of datakey.age): one recipient stanza per
// distinct key. Anyone holding the identity of one recipient can unwrap it.
func WrapDataKey(dk *DataKey, rs []Recipient) ([]byte, error) {
	if dk.aead(KindSecret) == nil {
		return nil, errors.New("wrapping data key: no data key")
	}
	if len(rs) == 0 {
		return nil, errors.New("wrapping data key: no recipients")
	}
	seen := make(map[string]bool, len(rs))
	ars := make([]age.Recipient, 0, len(rs))
	for _, r := range rs {
		if seen[r.Key] {
			continue
		}
		seen[r.Key] = true
		_, ar, err := parseRecipientLine(r.Key)
		if err != nil {
			return nil, fmt.Errorf("wrapping data key: recipient %s: %w", r.describe(), err)
		}
		ars = append(ars, ar)
	}
	out, err := ageEncryptArmored(dk.wrappedPlaintext(), ars...)
	if err != nil {
		return nil, fmt.Errorf("wrapping data key: %w", err)
	}
	return out, nil
}

// UnwrapDataKey decrypts a datakey.age file with the first of ids that is
// one of its recipients. Every failure wraps ErrSecret, except a data key of
// a newer format, which wraps ErrUnknownVersion.
func UnwrapDataKey(wrapped []byte, ids *Identities) (*DataKey, error) {
	return UnwrapDataKeyFor(wrapped, ids, nil)
}

// UnwrapDataKeyFor is UnwrapDataKey for a file that WrapDataKey wrapped for
// recipients, in that order. WrapDataKey writes one stanza per recipient, in
// order, and an age X25519 stanza does not say whose it is: an identity has
// to try them one by one, an X25519 operation each, so a team of n costs
// n/2 of them on average. Knowing the order, each X25519 identity tries the
// stanza at its own recipient's place first. A list that does not match the
// file (nil, stale, reordered) only loses the shortcut: every stanza is
// still tried, and which stanza opens the file never matters, since age
// checks the header's MAC with the key it yields.
func UnwrapDataKeyFor(wrapped []byte, ids *Identities, recipients []Recipient) (*DataKey, error) {
	if ids == nil || len(ids.ids) == 0 {
		return nil, fmt.Errorf("unwrapping data key: %w", ErrNoIdentity)
	}
	try := ids.ids
	if len(recipients) > 0 {
		place := make(map[string]int, len(recipients))
		for _, r := range recipients {
			if _, dup := place[r.Key]; !dup { // as WrapDataKey skips repeats
				place[r.Key] = len(place)
			}
		}
		try = make([]age.Identity, len(ids.ids))
		for i, id := range ids.ids {
			try[i] = id
			if x, ok := id.(*age.X25519Identity); ok {
				if at, ok := place[ids.keys[i]]; ok {
					try[i] = stanzaFirst{x, at}
				}
			}
		}
	}
	p, err := ageDecryptArmored(wrapped, try...)
	if err != nil {
		var noMatch *age.NoIdentityMatchError
		var unlock *sshUnlockError
		switch {
		case errors.As(err, &noMatch) && isScryptOnly(noMatch.StanzaTypes):
			return nil, fmt.Errorf("%w: this data key is protected by a passphrase, not by recipients", ErrSecret)
		case errors.As(err, &noMatch):
			return nil, fmt.Errorf("%w: no identity of yours (%s) is a recipient of this environment; ask someone who can read it to run `gitseal recipient add %s`",
				ErrSecret, strings.Join(ids.displaySources(), ", "), ids.addHint())
		case errors.As(err, &unlock):
			return nil, fmt.Errorf("%w: %v", ErrSecret, unlock)
		}
		return nil, corruptWrapped(err)
	}
	dk, err := parseWrappedPlaintext(p)
	if err != nil {
		return nil, wrapPlaintextErr(err)
	}
	return dk, nil
}

// stanzaFirst is an X25519 identity that tries the stanza at index at
// before all of them.
type stanzaFirst struct {
	id *age.X25519Identity
	at int
}

func (s stanzaFirst) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	if s.at < len(stanzas) {
		key, err := s.id.Unwrap(stanzas[s.at : s.at+1])
		if !errors.Is(err, age.ErrIncorrectIdentity) {
			return key, err
		}
	}
	return s.id.Unwrap(stanzas)
}

// scryptLogN is the scrypt work factor WrapDataKeyPassphrase uses; 0 means
// age's default. Only SetScryptWorkFactorForTesting changes it.
var scryptLogN atomic.Int32

// SetScryptWorkFactorForTesting makes WrapDataKeyPassphrase use the scrypt
// work factor 2^logN instead of age's default (2^18, about half a second and
// 256 MiB), so that tests of any package can wrap with a passphrase quickly.
// It returns a function that restores the previous setting. Reading is not
// affected: the work factor is stored in each file.
//
// It is for tests only: it panics unless the program is a test binary made by
// go test, so no production code path can weaken the passphrase KDF.
func SetScryptWorkFactorForTesting(logN int) (restore func()) {
	if !testing.Testing() {
		panic("cipher: SetScryptWorkFactorForTesting called outside a test binary")
	}
	if logN < 1 || logN > 30 {
		panic(fmt.Sprintf("cipher: scrypt work factor 2^%d out of range", logN))
	}
	old := scryptLogN.Swap(int32(logN))
	return func() { scryptLogN.Store(old) }
}

// WrapDataKeyPassphrase encrypts dk with age's scrypt passphrase recipient and
// returns the armored age file. age allows a passphrase only as the sole
// recipient of a file, so this is a file of its own, next to datakey.age.
func WrapDataKeyPassphrase(dk *DataKey, passphrase string) ([]byte, error) {
	if dk.aead(KindSecret) == nil {
		return nil, errors.New("wrapping data key with passphrase: no data key")
	}
	r, err := age.NewScryptRecipient(passphrase)
	if err != nil {
		return nil, errors.New("wrapping data key with passphrase: the passphrase is empty")
	}
	if logN := scryptLogN.Load(); logN != 0 {
		r.SetWorkFactor(int(logN))
	}
	out, err := ageEncryptArmored(dk.wrappedPlaintext(), r)
	if err != nil {
		return nil, fmt.Errorf("wrapping data key with passphrase: %w", err)
	}
	return out, nil
}

// UnwrapDataKeyPassphrase decrypts a file made by WrapDataKeyPassphrase.
// Every failure wraps ErrSecret, except a data key of a newer format, which
// wraps ErrUnknownVersion.
func UnwrapDataKeyPassphrase(wrapped []byte, passphrase string) (*DataKey, error) {
	id, err := age.NewScryptIdentity(passphrase)
	if err != nil {
		return nil, fmt.Errorf("%w: the passphrase is empty", ErrSecret)
	}
	p, err := ageDecryptArmored(wrapped, id)
	if err != nil {
		var noMatch *age.NoIdentityMatchError
		switch {
		case errors.As(err, &noMatch) && isScryptOnly(noMatch.StanzaTypes):
			return nil, fmt.Errorf("%w: wrong passphrase (or the passphrase file was tampered with)", ErrSecret)
		case errors.As(err, &noMatch):
			return nil, fmt.Errorf("%w: this data key file is not protected by a passphrase", ErrSecret)
		}
		return nil, corruptWrapped(err)
	}
	dk, err := parseWrappedPlaintext(p)
	if err != nil {
		return nil, wrapPlaintextErr(err)
	}
	return dk, nil
}

func isScryptOnly(stanzaTypes []string) bool {
	return len(stanzaTypes) == 1 && stanzaTypes[0] == "scrypt"
}

// ageEncryptArmored is age's armored encryption of a short plaintext.
func ageEncryptArmored(plaintext []byte, rs ...age.Recipient) ([]byte, error) {
	var buf bytes.Buffer
	aw := armor.NewWriter(&buf)
	w, err := age.Encrypt(aw, rs...)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(plaintext); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	if err := aw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ageDecryptArmored decrypts an armored age file whose plaintext is short.
func ageDecryptArmored(wrapped []byte, ids ...age.Identity) ([]byte, error) {
	r, err := age.Decrypt(armor.NewReader(bytes.NewReader(wrapped)), ids...)
	if err != nil {
		return nil, err
	}
	p, err := io.ReadAll(io.LimitReader(r, maxWrappedPlaintext+1))
	if err != nil {
		return nil, err
	}
	if len(p) > maxWrappedPlaintext {
		return nil, fmt.Errorf("the decrypted payload is longer than %d bytes", maxWrappedPlaintext)
	}
	return p, nil
}

// corruptWrapped describes an age failure that is not "no identity
// matches": the armor, the header or the payload is damaged.
func corruptWrapped(err error) error {
	var ae *armor.Error
	if errors.As(err, &ae) {
		return fmt.Errorf("%w: the data key file is not a valid armored age file (truncated or edited?)", ErrSecret)
	}
	return fmt.Errorf("%w: the data key file is corrupt or was tampered with (%s)", ErrSecret, shortDetail(err))
}

// wrapPlaintextErr adds ErrSecret to a parseWrappedPlaintext error, except to
// ErrUnknownVersion, which callers tell apart.
func wrapPlaintextErr(err error) error {
	if errors.Is(err, ErrUnknownVersion) {
		return fmt.Errorf("unwrapping data key: %w", err)
	}
	return fmt.Errorf("%w: %v", ErrSecret, err)
}

// shortDetail is the first line of a library's error text, shortened for a
// one-line message. It is used only for errors about public data (age
// headers, SSH key structure), never about secret input.
func shortDetail(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return shorten(s, 120)
}

// shorten cuts s to at most max bytes, marking the cut.
func shorten(s string, max int) string {
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

// CheckWrappedDataKey checks, without a key, that wrapped is an armored age
// file with exactly one recipient stanza per distinct key of rs: the
// recipients file and datakey.age agree. It catches a recipients file edited
// by hand (which changes nothing until the data key is wrapped again) and a
// datakey.age wrapped to someone not listed. age's X25519 stanzas are
// anonymous, so for age keys only their number can be compared; SSH stanzas
// carry a tag of their key and are matched one by one.
func CheckWrappedDataKey(wrapped []byte, rs []Recipient) error {
	hdr, err := age.ExtractHeader(armor.NewReader(bytes.NewReader(wrapped)))
	if err != nil {
		var ae *armor.Error
		if errors.As(err, &ae) {
			return errors.New("checking data key: not a valid armored age file")
		}
		return fmt.Errorf("checking data key: malformed age header (%s)", shortDetail(err))
	}
	x25519 := 0
	sshTags := map[string]int{} // "TYPE TAG" → stanzas
	for _, line := range strings.Split(string(hdr), "\n") {
		rest, ok := strings.CutPrefix(line, "-> ")
		if !ok {
			continue
		}
		args := strings.Fields(rest)
		switch {
		case len(args) == 0:
			return errors.New("checking data key: malformed age header (empty stanza)")
		case args[0] == "X25519":
			x25519++
		case (args[0] == "ssh-ed25519" || args[0] == "ssh-rsa") && len(args) > 1:
			sshTags[args[0]+" "+args[1]]++
		default:
			return fmt.Errorf("checking data key: it has a stanza of type %q, which gitseal does not write to datakey.age", shorten(args[0], 40))
		}
	}
	ageKeys := 0
	seen := map[string]bool{}
	for _, r := range rs {
		if seen[r.Key] {
			continue
		}
		seen[r.Key] = true
		if r.Type() == "age" {
			ageKeys++
			continue
		}
		tag := sshStanzaTag(r)
		if sshTags[tag] == 0 {
			return fmt.Errorf("checking data key: recipient %s is listed but cannot unwrap the data key; the recipients file was edited without re-wrapping (run `gitseal rotate`)", r.describe())
		}
		sshTags[tag]--
	}
	for tag, n := range sshTags {
		if n > 0 {
			return fmt.Errorf("checking data key: the data key is wrapped to an SSH key (%s) that the recipients file does not list; the recipients file was edited without re-wrapping (run `gitseal rotate`)", strings.Fields(tag)[0])
		}
	}
	if x25519 != ageKeys {
		return fmt.Errorf("checking data key: it is wrapped to %d age keys but the recipients file lists %d; the recipients file was edited without re-wrapping (run `gitseal rotate`)", x25519, ageKeys)
	}
	return nil
}

// sshStanzaTag is "TYPE TAG" of the stanza agessh writes for an SSH
// recipient, or "" for a malformed key.
func sshStanzaTag(r Recipient) string {
	typ, b64, _ := strings.Cut(r.Key, " ")
	blob, err := stdB64.decode(b64)
	if err != nil {
		return ""
	}
	return typ + " " + agesshTag(blob)
}

// agesshTag is the first argument of an ssh-ed25519 or ssh-rsa stanza: the
// unpadded base64 of the first 4 bytes of the SHA-256 of the wire-encoded
// public key (age spec).
func agesshTag(blob []byte) string {
	sum := sha256.Sum256(blob)
	return base64.RawStdEncoding.EncodeToString(sum[:4])
}
