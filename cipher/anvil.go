package cipher

// Anvil App Secrets payloads (testdata/interop/README.md §1, KEYS.md §3):
//
//	payload = std-b64( IV[12] || AES-GCM-Seal(key, IV, plaintext, no AD) )
//
// A 16-byte key is AES-128, the hosted platform's format, readable by it in
// both directions. A 32-byte key is AES-256 with the same layout: our
// extension, which the platform cannot read (it would truncate the key).
// Plaintexts are UTF-8 text on both ends because the platform's API is text.

import (
	"crypto/aes"
	stdcipher "crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"unicode/utf8"
)

const (
	payloadIVSize   = 12
	payloadTagSize  = 16
	payloadOverhead = payloadIVSize + payloadTagSize
)

// EncryptPayload encrypts plaintext, which must be valid UTF-8, under a 16-byte
// (AES-128) or 32-byte (AES-256) key into a hosted-platform payload with a
// fresh random IV. Only 16-byte keys give payloads the platform can read.
func EncryptPayload(key, plaintext []byte) (string, error) {
	aead, err := newPayloadAEAD(key)
	if err != nil {
		return "", fmt.Errorf("encrypting payload: %w", err)
	}
	return sealPayload(aead, plaintext)
}

// DecryptPayload decrypts a hosted-platform payload under a 16- or 32-byte
// key. Every failure, including a payload that is not canonical base64 and a
// plaintext that is not valid UTF-8, is an error wrapping ErrSecret.
func DecryptPayload(key []byte, payload string) ([]byte, error) {
	const op = "decrypting payload"
	aead, err := newPayloadAEAD(key)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", op, ErrSecret, err)
	}
	return openPayload(op, payload, []keyVersion{{aead: aead}})
}

// ParseKey decodes a named key as the platform exports it: canonical std-b64
// of exactly 16 bytes (AES-128) or 32 bytes (AES-256, ours). The error says
// what is wrong by position and length only; it never contains the key.
func ParseKey(b64 string) ([]byte, error) {
	key, err := stdB64.decode(b64)
	if err != nil {
		return nil, fmt.Errorf("parsing key: %w", err)
	}
	if err := checkKeySize(len(key)); err != nil {
		return nil, fmt.Errorf("parsing key: %w", err)
	}
	return key, nil
}

func checkKeySize(n int) error {
	if n != 16 && n != 32 {
		return fmt.Errorf("key is %d bytes; want 16 (AES-128) or 32 (AES-256)", n)
	}
	return nil
}

func newPayloadAEAD(key []byte) (stdcipher.AEAD, error) {
	if err := checkKeySize(len(key)); err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return stdcipher.NewGCM(block)
}

// encryptPayloadWithIV is EncryptPayload with a chosen IV, for known-answer
// tests only: a repeated IV under one key breaks GCM.
func encryptPayloadWithIV(key, plaintext, iv []byte) (string, error) {
	aead, err := newPayloadAEAD(key)
	if err != nil {
		return "", fmt.Errorf("encrypting payload: %w", err)
	}
	return sealPayloadIV(aead, plaintext, iv)
}

func sealPayload(aead stdcipher.AEAD, plaintext []byte) (string, error) {
	var iv [payloadIVSize]byte
	rand.Read(iv[:]) // never fails (crypto/rand crashes the program instead)
	return sealPayloadIV(aead, plaintext, iv[:])
}

var errNotText = errors.New("plaintext is not valid UTF-8 (the format carries text; encode binary data as base64 or hex first)")

func sealPayloadIV(aead stdcipher.AEAD, plaintext, iv []byte) (string, error) {
	if !utf8.Valid(plaintext) {
		return "", fmt.Errorf("encrypting payload: %w", errNotText)
	}
	if len(iv) != payloadIVSize {
		return "", fmt.Errorf("encrypting payload: IV is %d bytes; want %d", len(iv), payloadIVSize)
	}
	buf := make([]byte, payloadIVSize, payloadOverhead+len(plaintext))
	copy(buf, iv)
	return stdB64.encode(aead.Seal(buf, iv, plaintext, nil)), nil
}

// openPayload decodes payload once and tries each version's AEAD in order.
// op leads every error, and every error wraps ErrSecret.
func openPayload(op, payload string, versions []keyVersion) ([]byte, error) {
	raw, err := stdB64.decode(payload)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: payload is not canonical %v", op, ErrSecret, err)
	}
	if len(raw) < payloadOverhead {
		return nil, fmt.Errorf("%s: %w: payload is %d bytes, shorter than its IV and tag (%d)", op, ErrSecret, len(raw), payloadOverhead)
	}
	iv, sealed := raw[:payloadIVSize], raw[payloadIVSize:]
	var scratch []byte
	for i, v := range versions {
		// A failed Open may overwrite dst, so only the last attempt may
		// decrypt in place.
		dst := sealed[:0]
		if i < len(versions)-1 {
			if scratch == nil {
				scratch = make([]byte, 0, len(sealed)-payloadTagSize)
			}
			dst = scratch
		}
		pt, err := v.aead.Open(dst, iv, sealed, nil)
		if err != nil {
			continue
		}
		if !utf8.Valid(pt) {
			return nil, fmt.Errorf("%s: %w: decrypted data is not UTF-8 text", op, ErrSecret)
		}
		return pt, nil
	}
	return nil, fmt.Errorf("%s: %w: wrong key, or the payload was changed", op, ErrSecret)
}
