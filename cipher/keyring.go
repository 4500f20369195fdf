package cipher

// Invariants of a Keyring (KEYS.md §2 is the normative text):
//   - it holds at least one version, newest first, version numbers strictly
//     decreasing; versions[0] is the primary, the only one that encrypts;
//   - version numbers are never reused: a new version is primary+1, and the
//     primary (the highest number ever given) is never purged;
//   - every key is 16 or 32 bytes, and its AEAD is built once, when the
//     version is added, so Encrypt and Decrypt allocate no cipher state.

import (
	"bytes"
	stdcipher "crypto/cipher"
	"crypto/rand"
	"fmt"
	"strconv"
	"strings"
	"time"
)

const (
	// maxKeyVersions bounds a keyring: Decrypt may try every version, and
	// UnmarshalKeyring must not be made to allocate without bound.
	maxKeyVersions = 1000
	// maxVersionNumber keeps version numbers to nine digits.
	maxVersionNumber = 999_999_999

	keyringMagic  = "gitseal-keyring"
	keyringFormat = 1
	keyTimeLayout = "2006-01-02T15:04:05Z"
)

// Keyring holds every version of one named encryption key. The newest
// version is the primary: it encrypts, and every version still held decrypts,
// so a reset does not lose data encrypted before it. Encrypt and Decrypt are
// safe for concurrent use; Reset, Import and PurgeOld need exclusive access.
// A Keyring comes from NewKeyring, ImportKeyring or UnmarshalKeyring; the zero
// value holds no key and must not be used.
type Keyring struct {
	versions []keyVersion // newest first
}

type keyVersion struct {
	version int
	key     []byte
	created time.Time // UTC, whole seconds
	aead    stdcipher.AEAD
}

// KeyVersion describes one version of a named key, without its key bytes.
type KeyVersion struct {
	Version int       // 1, 2, 3, … in order of creation; never reused
	Bits    int       // 128 or 256
	Created time.Time // UTC, whole seconds
	Primary bool      // the version that encrypts (the newest)
}

// NewKeyring returns a keyring holding one fresh random key of bits bits:
// 128 (AES-128, readable by the hosted platform; also chosen by 0) or 256.
func NewKeyring(bits int, now time.Time) (*Keyring, error) {
	k := &Keyring{}
	if err := k.addRandom(bits, now); err != nil {
		return nil, fmt.Errorf("creating key: %w", err)
	}
	return k, nil
}

// ImportKeyring returns a keyring whose only version is key (16 or 32 bytes,
// as ParseKey returns it).
func ImportKeyring(key []byte, now time.Time) (*Keyring, error) {
	k := &Keyring{}
	if err := k.Import(key, now); err != nil {
		return nil, err
	}
	return k, nil
}

// Reset adds a fresh random key of bits bits (0 or 128, or 256) as the new
// primary version. Older versions keep decrypting until PurgeOld.
func (k *Keyring) Reset(bits int, now time.Time) error {
	if err := k.addRandom(bits, now); err != nil {
		return fmt.Errorf("resetting key: %w", err)
	}
	return nil
}

func (k *Keyring) addRandom(bits int, now time.Time) error {
	if bits != 0 && bits != 128 && bits != 256 {
		return fmt.Errorf("%d bits; want 128 or 256", bits)
	}
	key := make([]byte, max(bits, 128)/8)
	rand.Read(key) // never fails (crypto/rand crashes the program instead)
	return k.add(key, now)
}

// Import adds a copy of key (16 or 32 bytes) as the new primary version.
func (k *Keyring) Import(key []byte, now time.Time) error {
	if err := k.add(bytes.Clone(key), now); err != nil {
		return fmt.Errorf("importing key: %w", err)
	}
	return nil
}

func (k *Keyring) add(key []byte, now time.Time) error {
	created := now.UTC().Truncate(time.Second)
	if y := created.Year(); y < 0 || y > 9999 {
		return fmt.Errorf("creation time in year %d; want 0 to 9999", y)
	}
	next := 1
	if len(k.versions) > 0 {
		next = k.versions[0].version + 1
	}
	if next > maxVersionNumber {
		return fmt.Errorf("version number %d is too high", next)
	}
	if len(k.versions) >= maxKeyVersions {
		return fmt.Errorf("the key already has %d versions; purge old versions first", len(k.versions))
	}
	v, err := newKeyVersion(next, key, created)
	if err != nil {
		return err
	}
	k.versions = append([]keyVersion{v}, k.versions...)
	return nil
}

func newKeyVersion(version int, key []byte, created time.Time) (keyVersion, error) {
	aead, err := newPayloadAEAD(key)
	if err != nil {
		return keyVersion{}, err
	}
	return keyVersion{version: version, key: key, created: created, aead: aead}, nil
}

// PurgeOld removes every version but the primary and returns how many it
// removed. Payloads encrypted with a removed version no longer decrypt.
func (k *Keyring) PurgeOld() int {
	n := len(k.versions) - 1
	k.versions = []keyVersion{k.versions[0]} // drop the old array: it holds the keys
	return n
}

// Versions describes the versions, newest (the primary) first.
func (k *Keyring) Versions() []KeyVersion {
	out := make([]KeyVersion, len(k.versions))
	for i, v := range k.versions {
		out[i] = KeyVersion{Version: v.version, Bits: len(v.key) * 8, Created: v.created, Primary: i == 0}
	}
	return out
}

// Export returns the primary version's key as std-b64, the form the hosted
// platform and ParseKey take.
func (k *Keyring) Export() string {
	return stdB64.encode(k.versions[0].key)
}

// Encrypt encrypts plaintext, which must be valid UTF-8, with the primary
// version into a hosted-platform payload (see EncryptPayload).
func (k *Keyring) Encrypt(plaintext []byte) (string, error) {
	return sealPayload(k.versions[0].aead, plaintext)
}

// Decrypt decrypts a payload made by any version still held, trying the
// newest first (the payload does not say which version made it). Every
// failure is an error wrapping ErrSecret.
func (k *Keyring) Decrypt(payload string) ([]byte, error) {
	return openPayload("decrypting with key", payload, k.versions)
}

// MarshalBinary encodes every version, keys included, in the keyring format
// of KEYS.md §2. The result is secret: seal it before it is stored.
func (k *Keyring) MarshalBinary() ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %d\n", keyringMagic, keyringFormat)
	for _, v := range k.versions {
		fmt.Fprintf(&b, "%d aes-%d-gcm %s %s\n", v.version, len(v.key)*8, v.created.Format(keyTimeLayout), stdB64.encode(v.key))
	}
	return b.Bytes(), nil
}

// UnmarshalKeyring decodes what MarshalBinary wrote. It accepts only the
// canonical encoding, and refuses a format version it does not know.
func UnmarshalKeyring(data []byte) (*Keyring, error) {
	k, err := parseKeyring(string(data))
	if err != nil {
		return nil, fmt.Errorf("reading keyring: %w", err)
	}
	return k, nil
}

func parseKeyring(s string) (*Keyring, error) {
	header, rest, ok := strings.Cut(s, "\n")
	if !ok {
		return nil, fmt.Errorf("no header line")
	}
	magic, format, ok := strings.Cut(header, " ")
	if !ok || magic != keyringMagic {
		return nil, fmt.Errorf("not a keyring (header does not start with %q)", keyringMagic)
	}
	if format != strconv.Itoa(keyringFormat) {
		if _, err := parseVersionNumber(format); err != nil {
			return nil, fmt.Errorf("header has no format version")
		}
		return nil, fmt.Errorf("keyring format %s: %w (this gitseal reads format %d; upgrade gitseal)", format, ErrUnknownVersion, keyringFormat)
	}
	if rest == "" {
		return nil, fmt.Errorf("no key versions")
	}
	if !strings.HasSuffix(rest, "\n") {
		return nil, fmt.Errorf("last line does not end in a newline")
	}
	lines := strings.Split(rest[:len(rest)-1], "\n")
	if len(lines) > maxKeyVersions {
		return nil, fmt.Errorf("%d versions; at most %d", len(lines), maxKeyVersions)
	}
	k := &Keyring{versions: make([]keyVersion, 0, len(lines))}
	for i, line := range lines {
		v, err := parseKeyVersion(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+2, err)
		}
		if i > 0 && v.version >= k.versions[i-1].version {
			return nil, fmt.Errorf("line %d: version %d after version %d; want newest first, no repeats", i+2, v.version, k.versions[i-1].version)
		}
		k.versions = append(k.versions, v)
	}
	return k, nil
}

func parseKeyVersion(line string) (keyVersion, error) {
	f := strings.Split(line, " ")
	if len(f) != 4 {
		return keyVersion{}, fmt.Errorf("%d fields; want 4 separated by single spaces", len(f))
	}
	version, err := parseVersionNumber(f[0])
	if err != nil {
		return keyVersion{}, err
	}
	var size int
	switch f[1] {
	case "aes-128-gcm":
		size = 16
	case "aes-256-gcm":
		size = 32
	default:
		return keyVersion{}, fmt.Errorf("version %d: unknown algorithm (want aes-128-gcm or aes-256-gcm)", version)
	}
	created, err := time.Parse(keyTimeLayout, f[2])
	if err != nil || created.Format(keyTimeLayout) != f[2] {
		return keyVersion{}, fmt.Errorf("version %d: creation time is not YYYY-MM-DDThh:mm:ssZ", version)
	}
	// The key's own text never goes into an error.
	key, err := stdB64.decode(f[3])
	if err != nil {
		return keyVersion{}, fmt.Errorf("version %d: key: %w", version, err)
	}
	if len(key) != size {
		return keyVersion{}, fmt.Errorf("version %d: key is %d bytes; %s wants %d", version, len(key), f[1], size)
	}
	return newKeyVersion(version, key, created)
}

func parseVersionNumber(s string) (int, error) {
	if s == "" || len(s) > 9 || s[0] == '0' || strings.Trim(s, "0123456789") != "" {
		return 0, fmt.Errorf("version number is not 1 to %d without leading zeros", maxVersionNumber)
	}
	return strconv.Atoi(s)
}
