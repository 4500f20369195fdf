package cipher

// Invariants (FORMAT.md §2):
//   - a sealed file is one line: sealedTag, then the canonical padded base64
//     of nonce || ciphertext || tag, then "\n";
//   - the associated data is sealedTag followed by the length-prefixed store
//     id, environment, kind and name, so it is injective: no two bindings
//     share it, and a file copied to another binding fails to open;
//   - every kind has its own subkey, derived from the data key with HKDF.

import (
	"bytes"
	"crypto/aes"
	stdcipher "crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The kinds of sealed file. The kind is part of the binding and selects the
// subkey, so a keyring file cannot be opened as a secret or the reverse.
const (
	// KindSecret is a secret value, .gitseal/<env>/secrets/<NAME>.
	KindSecret = "secret"
	// KindKeyring is a named key's keyring, .gitseal/<env>/keys/<NAME>.
	KindKeyring = "keyring"
)

const (
	sealedTag       = "gitseal:v1:"
	sealedTagFamily = "gitseal:v"
	sealNonceSize   = 12
	sealTagSize     = 16
	sealOverhead    = sealNonceSize + sealTagSize

	// maxSealedLine is the longest line Seal can write; anything longer is
	// refused before it is decoded.
	maxSealedLine = len(sealedTag) + (MaxValueSize+sealOverhead+2)/3*4
)

// Binding is what a sealed file is bound to: the store, the environment, the
// kind (KindSecret or KindKeyring) and the name. A file opens only with the
// binding it was sealed with.
type Binding struct {
	StoreID, Env, Kind, Name string
}

// validate checks what Seal and Open need: every field set, a known kind, a
// valid name. It is not ErrSecret: a bad binding is the caller's mistake.
func (b Binding) validate() error {
	switch {
	case b.StoreID == "":
		return errors.New("binding has no store id")
	case b.Env == "":
		return errors.New("binding has no environment")
	case b.Kind != KindSecret && b.Kind != KindKeyring:
		return fmt.Errorf("binding has unknown kind %q", b.Kind)
	}
	return ValidName(b.Name)
}

// associatedData is sealedTag || lp(StoreID) || lp(Env) || lp(Kind) ||
// lp(Name), where lp(x) is x's length as 4 bytes big-endian, then x.
func (b Binding) associatedData() []byte {
	n := len(sealedTag) + 16 + len(b.StoreID) + len(b.Env) + len(b.Kind) + len(b.Name)
	ad := make([]byte, 0, n)
	ad = append(ad, sealedTag...)
	for _, f := range [...]string{b.StoreID, b.Env, b.Kind, b.Name} {
		ad = binary.BigEndian.AppendUint32(ad, uint32(len(f)))
		ad = append(ad, f...)
	}
	return ad
}

// deriveAEAD is AES-256-GCM under HKDF-SHA256(dataKey, salt empty,
// info sealedTag||kind).
func deriveAEAD(dataKey []byte, kind string) (stdcipher.AEAD, error) {
	k, err := hkdf.Key(sha256.New, dataKey, nil, sealedTag+kind, 32)
	if err != nil {
		return nil, fmt.Errorf("deriving %s key: %w", kind, err)
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, fmt.Errorf("deriving %s key: %w", kind, err)
	}
	return stdcipher.NewGCM(block)
}

// Seal encrypts plaintext (at most MaxValueSize bytes, which may be empty)
// under dk for binding b and returns the whole sealed file: one line of text
// starting with the version tag and ending in "\n". Sealing the same value
// twice gives different files (the nonce is random): compare plaintexts, not
// files, to tell whether a value changed.
func Seal(dk *DataKey, b Binding, plaintext []byte) ([]byte, error) {
	if len(plaintext) > MaxValueSize {
		return nil, fmt.Errorf("sealing: %w: %d bytes; the limit is %d bytes (1 MiB)", ErrTooLarge, len(plaintext), MaxValueSize)
	}
	var nonce [sealNonceSize]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, fmt.Errorf("sealing: %w", err)
	}
	return sealWithNonce(dk, b, nonce[:], plaintext)
}

// sealWithNonce is Seal with a given nonce, for known-answer tests.
func sealWithNonce(dk *DataKey, b Binding, nonce, plaintext []byte) ([]byte, error) {
	if err := b.validate(); err != nil {
		return nil, fmt.Errorf("sealing: %w", err)
	}
	aead := dk.aead(b.Kind)
	if aead == nil {
		return nil, errors.New("sealing: no data key")
	}
	raw := make([]byte, sealNonceSize, sealOverhead+len(plaintext))
	copy(raw, nonce)
	raw = aead.Seal(raw, nonce, plaintext, b.associatedData())
	out := make([]byte, 0, len(sealedTag)+base64.StdEncoding.EncodedLen(len(raw))+1)
	out = append(out, sealedTag...)
	out = base64.StdEncoding.AppendEncode(out, raw)
	return append(out, '\n'), nil
}

// Open decrypts a sealed file made by Seal with the same data key and
// binding. A file that does not open (tampered with, truncated, copied from
// another binding, sealed under another data key) gives an error wrapping
// ErrSecret; a file of a newer format gives one wrapping ErrUnknownVersion.
func Open(dk *DataKey, b Binding, sealed []byte) ([]byte, error) {
	if err := b.validate(); err != nil {
		return nil, fmt.Errorf("opening: %w", err)
	}
	aead := dk.aead(b.Kind)
	if aead == nil {
		return nil, errors.New("opening: no data key")
	}
	raw, err := parseSealed(sealed)
	if err != nil {
		if errors.Is(err, ErrUnknownVersion) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: the sealed file is corrupt: %v", ErrSecret, err)
	}
	nonce, ct := raw[:sealNonceSize], raw[sealNonceSize:]
	pt, err := aead.Open(ct[:0], nonce, ct, b.associatedData())
	if err != nil {
		return nil, fmt.Errorf("%w: authentication failed: the file was changed after it was sealed, was copied from another name, environment or repository, or was sealed under another data key", ErrSecret)
	}
	return pt, nil
}

// CheckSealed checks the structure of a sealed file without a key: version
// tag, line framing, encoding and length. It accepts exactly the files whose
// structure Open accepts; only Open with the key can tell whether one was
// tampered with. A file of a newer format gives an error wrapping
// ErrUnknownVersion.
func CheckSealed(sealed []byte) error {
	if _, err := parseSealed(sealed); err != nil {
		if errors.Is(err, ErrUnknownVersion) {
			return err
		}
		return fmt.Errorf("malformed sealed file: %w", err)
	}
	return nil
}

// parseSealed returns nonce || ciphertext || tag of a sealed file (FORMAT.md
// §2.3 says what it accepts). Its errors describe the structure by offsets
// and lengths, never by content.
func parseSealed(sealed []byte) ([]byte, error) {
	line := sealed
	switch n := len(line); {
	case n >= 2 && line[n-2] == '\r' && line[n-1] == '\n':
		line = line[:n-2]
	case n >= 1 && line[n-1] == '\n':
		line = line[:n-1]
	}
	if len(line) > maxSealedLine {
		return nil, fmt.Errorf("%d bytes long, more than any sealed value can be", len(sealed))
	}
	if i := firstLineBreak(line); i >= 0 {
		return nil, fmt.Errorf("line break at offset %d: a sealed file is one line", i)
	}
	if len(line) < len(sealedTag) || string(line[:len(sealedTag)]) != sealedTag {
		if v, ok := versionAfter(line, sealedTagFamily); ok {
			return nil, fmt.Errorf("%w v%s in the sealed file; upgrade gitseal to read it", ErrUnknownVersion, v)
		}
		return nil, errors.New("not a gitseal sealed file (it must begin with " + sealedTag + ")")
	}
	raw, err := stdB64.decodeBytes(line[len(sealedTag):])
	if err != nil {
		return nil, fmt.Errorf("after the version tag: %w", err)
	}
	if len(raw) < sealOverhead {
		return nil, fmt.Errorf("truncated: %d bytes of ciphertext, fewer than the %d of nonce and tag", len(raw), sealOverhead)
	}
	return raw, nil
}

// firstLineBreak is the offset of the first '\r' or '\n' in b, or -1. Two
// IndexByte calls, which are vectorised, beat one pass over a 1 MiB line.
func firstLineBreak(b []byte) int {
	i, j := bytes.IndexByte(b, '\n'), bytes.IndexByte(b, '\r')
	if i < 0 || (j >= 0 && j < i) {
		return j
	}
	return i
}

// ValidName reports whether name may name a secret or a key:
// ^[A-Za-z_][A-Za-z0-9_.-]{0,127}$. The error says what is wrong; it quotes
// the name only when the name is short and printable, and otherwise gives its
// length, so a value pasted by mistake, or terminal control sequences, are
// not echoed.
func ValidName(name string) error {
	bad := -1 // the byte that breaks the rule; len(name) when the length does
	switch {
	case name == "" || len(name) > 128:
		bad = len(name)
	case !isNameStart(name[0]):
		bad = 0
	default:
		for i := 1; i < len(name); i++ {
			if c := name[i]; !isNameStart(c) && !(c >= '0' && c <= '9') && c != '.' && c != '-' {
				bad = i
				break
			}
		}
	}
	if bad < 0 {
		return nil
	}
	// Only the error path looks at what the name looks like.
	const hint = "names use letters, digits, '_', '.' and '-', start with a letter or '_', and have at most 128 characters"
	printable := utf8.ValidString(name) && !strings.ContainsFunc(name, func(r rune) bool { return !unicode.IsPrint(r) })
	shown := strconv.Quote(name)
	if !printable || len(name) > 128 {
		shown = fmt.Sprintf("(%d bytes)", len(name))
	}
	switch {
	case name == "":
		return errors.New("invalid name: empty; " + hint)
	case bad == len(name):
		return fmt.Errorf("invalid name %s: longer than 128 characters; %s", shown, hint)
	case bad == 0:
		return fmt.Errorf("invalid name %s: %s at the start; %s", shown, describeByte(name, 0, printable), hint)
	}
	return fmt.Errorf("invalid name %s: %s at byte %d; %s", shown, describeByte(name, bad, printable), bad, hint)
}

func isNameStart(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '_'
}

// describeByte names the character at byte i of name for an error, without
// showing it unless the whole name is printable.
func describeByte(name string, i int, printable bool) string {
	if !printable {
		if name[i] < utf8.RuneSelf && unicode.IsControl(rune(name[i])) {
			return "a control character"
		}
		return "a character that is not allowed"
	}
	r, _ := utf8.DecodeRuneInString(name[i:])
	return strconv.QuoteRune(r)
}
