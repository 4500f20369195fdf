package cipher

// Benchmarks for named keys against bare AES-GCM on the same plaintext sizes,
// in one run, and for Flet decryption against PBKDF2 alone. testdata/bench.sh
// runs them with -count=6 and prints medians and ratios.
//
//	BenchmarkEncrypt/named/…   Keyring.Encrypt: random IV, GCM, base64 text
//	BenchmarkEncrypt/gcm/…     bare crypto/aes + GCM Seal into a reused buffer
//	BenchmarkEncrypt/gcm+b64/… bare GCM plus the work the text format needs
//	                           (random IV, std base64): the least any
//	                           implementation of the payload format can do
//
// and the same three for Decrypt.

import (
	"bytes"
	"crypto/aes"
	stdcipher "crypto/cipher"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"testing"
)

var benchSizes = []struct {
	name string
	n    int
}{{"100B", 100}, {"1MiB", 1 << 20}}

func benchGCM(b *testing.B, key []byte) stdcipher.AEAD {
	block, err := aes.NewCipher(key)
	if err != nil {
		b.Fatal(err)
	}
	gcm, err := stdcipher.NewGCM(block)
	if err != nil {
		b.Fatal(err)
	}
	return gcm
}

func BenchmarkEncrypt(b *testing.B) {
	k, err := ImportKeyring(testKey128, t0)
	if err != nil {
		b.Fatal(err)
	}
	gcm := benchGCM(b, testKey128)
	for _, sz := range benchSizes {
		pt := bytes.Repeat([]byte("a"), sz.n)
		b.Run("named/"+sz.name, func(b *testing.B) {
			b.SetBytes(int64(sz.n))
			for b.Loop() {
				if _, err := k.Encrypt(pt); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("gcm/"+sz.name, func(b *testing.B) {
			b.SetBytes(int64(sz.n))
			nonce := make([]byte, 12)
			dst := make([]byte, 0, sz.n+16)
			for b.Loop() {
				dst = gcm.Seal(dst[:0], nonce, pt, nil)
			}
		})
		b.Run("gcm+b64/"+sz.name, func(b *testing.B) {
			b.SetBytes(int64(sz.n))
			for b.Loop() {
				buf := make([]byte, 12, 12+sz.n+16)
				rand.Read(buf)
				_ = base64.StdEncoding.EncodeToString(gcm.Seal(buf, buf, pt, nil))
			}
		})
	}
}

func BenchmarkDecrypt(b *testing.B) {
	k, err := ImportKeyring(testKey128, t0)
	if err != nil {
		b.Fatal(err)
	}
	gcm := benchGCM(b, testKey128)
	for _, sz := range benchSizes {
		pt := bytes.Repeat([]byte("a"), sz.n)
		payload, err := k.Encrypt(pt)
		if err != nil {
			b.Fatal(err)
		}
		raw, _ := base64.StdEncoding.DecodeString(payload)
		b.Run("named/"+sz.name, func(b *testing.B) {
			b.SetBytes(int64(sz.n))
			for b.Loop() {
				if _, err := k.Decrypt(payload); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("gcm/"+sz.name, func(b *testing.B) {
			b.SetBytes(int64(sz.n))
			dst := make([]byte, 0, sz.n)
			for b.Loop() {
				if dst, err = gcm.Open(dst[:0], raw[:12], raw[12:], nil); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("gcm+b64/"+sz.name, func(b *testing.B) {
			b.SetBytes(int64(sz.n))
			for b.Loop() {
				r, err := base64.StdEncoding.DecodeString(payload)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := gcm.Open(r[12:12], r[:12], r[12:], nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecryptOldVersion is the cost of a payload from the oldest of
// three versions: two failed GCM opens before the one that works.
func BenchmarkDecryptOldVersion(b *testing.B) {
	for _, sz := range benchSizes {
		k, _ := ImportKeyring(testKey128, t0)
		payload, _ := k.Encrypt(bytes.Repeat([]byte("a"), sz.n))
		_ = k.Reset(128, t0)
		_ = k.Reset(256, t0)
		b.Run(sz.name, func(b *testing.B) {
			b.SetBytes(int64(sz.n))
			for b.Loop() {
				if _, err := k.Decrypt(payload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFletDecrypt is a successful decryption at the full cost (the
// first of the two iteration counts), to compare with BenchmarkPBKDF2_600k.
func BenchmarkFletDecrypt(b *testing.B) {
	tok, err := fletEncryptWith("pw", []byte("a flet secret of moderate length"), testSalt, testIV, 0, fletIterations)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := FletDecrypt("pw", tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFletDecryptRest is FletDecrypt's work besides PBKDF2: the same
// token made and opened with a 1-iteration PBKDF2, a cost that does not
// drown in the noise of a busy machine as a difference of two 0.1 s runs does.
func BenchmarkFletDecryptRest(b *testing.B) {
	tok, err := fletEncryptWith("pw", []byte("a flet secret of moderate length"), testSalt, testIV, 0, 1)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := fletDecryptWith("pw", tok, 1); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPBKDF2_600k(b *testing.B) {
	for b.Loop() {
		if _, err := pbkdf2.Key(sha256.New, "pw", testSalt, fletIterations, 32); err != nil {
			b.Fatal(err)
		}
	}
}
