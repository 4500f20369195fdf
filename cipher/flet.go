package cipher

// Flet passphrase tokens (testdata/interop/README.md §2, KEYS.md §4):
//
//	DK     = PBKDF2-HMAC-SHA256(passphrase, SALT[16], 600000, 32)
//	FERNET = url-b64( 0x80 || TS[8] || IV[16] || AES-128-CBC(DK[16:], IV, PKCS7(pt)) || HMAC-SHA256(DK[:16], …) )
//	token  = url-b64( SALT || FERNET )        -- the Fernet text, base64 twice
//
// Decryption ignores the Fernet timestamp entirely (Flet sets no TTL), checks
// the MAC before it decrypts, and, because tokens do not record the PBKDF2
// cost, tries 600 000 iterations and then the 100 000 of Flet < 0.27.5.

import (
	"crypto/aes"
	stdcipher "crypto/cipher"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

const (
	fletIterations       = 600_000
	fletLegacyIterations = 100_000
	fletSaltSize         = 16

	fernetVersion = 0x80
	fernetIVSize  = aes.BlockSize
	fernetMACSize = sha256.Size
	// fernetMinSize is version, timestamp, IV, one cipher block and the MAC.
	fernetMinSize = 1 + 8 + fernetIVSize + aes.BlockSize + fernetMACSize
)

// FletEncrypt encrypts plaintext, which must be valid UTF-8, under passphrase
// into a token that Flet's flet.security.decrypt reads (and FletDecrypt).
// It costs one PBKDF2 of 600 000 iterations, about 0.1 s.
func FletEncrypt(passphrase string, plaintext []byte) (string, error) {
	var salt [fletSaltSize]byte
	var iv [fernetIVSize]byte
	rand.Read(salt[:]) // never fails (crypto/rand crashes the program instead)
	rand.Read(iv[:])
	return fletEncryptWith(passphrase, plaintext, salt[:], iv[:], uint64(time.Now().Unix()), fletIterations)
}

// FletDecrypt decrypts a Flet token under passphrase. Every failure is an
// error wrapping ErrSecret. A wrong passphrase costs two PBKDF2 runs (600 000
// and the legacy 100 000 iterations), about 0.12 s.
func FletDecrypt(passphrase, token string) ([]byte, error) {
	return fletDecryptWith(passphrase, token, fletIterations, fletLegacyIterations)
}

// fletEncryptWith is FletEncrypt with chosen salt, IV, timestamp and cost,
// for known-answer tests and fast fuzzing.
func fletEncryptWith(passphrase string, plaintext, salt, iv []byte, ts uint64, iterations int) (string, error) {
	const op = "encrypting token"
	if !utf8.Valid(plaintext) {
		return "", fmt.Errorf("%s: %w", op, errNotText)
	}
	// Flet's passphrase is a Python str: its UTF-8 is always valid, so a
	// token under any other bytes could never be opened there.
	if !utf8.ValidString(passphrase) {
		return "", fmt.Errorf("%s: passphrase is not valid UTF-8", op)
	}
	if len(salt) != fletSaltSize || len(iv) != fernetIVSize {
		return "", fmt.Errorf("%s: salt and IV are %d and %d bytes; want %d and %d", op, len(salt), len(iv), fletSaltSize, fernetIVSize)
	}
	macKey, encKey, err := fletKeys(passphrase, salt, iterations)
	if err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	pad := aes.BlockSize - len(plaintext)%aes.BlockSize // 1..16
	f := make([]byte, 0, 1+8+fernetIVSize+len(plaintext)+pad+fernetMACSize)
	f = append(f, fernetVersion)
	f = binary.BigEndian.AppendUint64(f, ts)
	f = append(f, iv...)
	body := len(f)
	f = append(f, plaintext...)
	for range pad {
		f = append(f, byte(pad))
	}
	block, err := aes.NewCipher(encKey)
	if err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	stdcipher.NewCBCEncrypter(block, iv).CryptBlocks(f[body:], f[body:])
	mac := hmac.New(sha256.New, macKey)
	mac.Write(f)
	f = mac.Sum(f)
	outer := make([]byte, 0, fletSaltSize+urlB64.enc.EncodedLen(len(f)))
	outer = append(outer, salt...)
	return urlB64.encode(urlB64.enc.AppendEncode(outer, f)), nil
}

// fletDecryptWith is FletDecrypt trying the given PBKDF2 costs in order, so
// that fuzzing can run with a cheap one.
func fletDecryptWith(passphrase, token string, iterations ...int) ([]byte, error) {
	const op = "decrypting token"
	if !utf8.ValidString(passphrase) { // no token is made under one
		return nil, fmt.Errorf("%s: %w: passphrase is not valid UTF-8", op, ErrSecret)
	}
	outer, err := urlB64.decode(token)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: token is not canonical %v", op, ErrSecret, err)
	}
	if len(outer) < fletSaltSize {
		return nil, fmt.Errorf("%s: %w: token is %d bytes, shorter than its salt (%d)", op, ErrSecret, len(outer), fletSaltSize)
	}
	salt := outer[:fletSaltSize]
	f, err := urlB64.decode(string(outer[fletSaltSize:]))
	if err != nil {
		return nil, fmt.Errorf("%s: %w: inner Fernet token is not canonical %v", op, ErrSecret, err)
	}
	if len(f) < fernetMinSize || f[0] != fernetVersion || (len(f)-fernetMinSize)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("%s: %w: inner Fernet token is malformed (%d bytes)", op, ErrSecret, len(f))
	}
	signed, tag := f[:len(f)-fernetMACSize], f[len(f)-fernetMACSize:]
	for _, n := range iterations {
		macKey, encKey, err := fletKeys(passphrase, salt, n)
		if err != nil {
			return nil, fmt.Errorf("%s: %w: %v", op, ErrSecret, err)
		}
		mac := hmac.New(sha256.New, macKey)
		mac.Write(signed)
		if !hmac.Equal(mac.Sum(nil), tag) {
			continue
		}
		// The MAC holds, so the passphrase is right and the token is
		// Flet's own: what follows fails only for a token made wrongly.
		pt, err := fernetOpen(encKey, signed)
		if err != nil {
			return nil, fmt.Errorf("%s: %w: %v", op, ErrSecret, err)
		}
		return pt, nil
	}
	return nil, fmt.Errorf("%s: %w: wrong passphrase, or the token was changed", op, ErrSecret)
}

// fletKeys derives the Fernet signing and encryption keys from a passphrase.
func fletKeys(passphrase string, salt []byte, iterations int) (macKey, encKey []byte, err error) {
	dk, err := pbkdf2.Key(sha256.New, passphrase, salt, iterations, 32)
	if err != nil {
		return nil, nil, err
	}
	return dk[:16], dk[16:], nil
}

// fernetOpen decrypts the authenticated part of a Fernet token (version,
// timestamp, IV, ciphertext) and checks the padding and the UTF-8.
func fernetOpen(encKey, signed []byte) ([]byte, error) {
	iv, ct := signed[1+8:1+8+fernetIVSize], signed[1+8+fernetIVSize:]
	block, err := aes.NewCipher(encKey)
	if err != nil {
		return nil, err
	}
	pt := make([]byte, len(ct))
	stdcipher.NewCBCDecrypter(block, iv).CryptBlocks(pt, ct)
	pad := int(pt[len(pt)-1])
	if pad < 1 || pad > aes.BlockSize {
		return nil, errBadPadding
	}
	for _, b := range pt[len(pt)-pad:] {
		if int(b) != pad {
			return nil, errBadPadding
		}
	}
	pt = pt[:len(pt)-pad]
	if !utf8.Valid(pt) {
		return nil, errors.New("decrypted data is not UTF-8 text")
	}
	return pt, nil
}

var errBadPadding = errors.New("bad PKCS#7 padding in an authenticated token")
