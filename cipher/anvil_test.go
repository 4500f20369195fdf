package cipher

import (
	"bytes"
	"crypto/aes"
	stdcipher "crypto/cipher"
	"errors"
	"strings"
	"testing"
)

var (
	testKey128 = []byte("0123456789abcdef")
	testKey256 = []byte("0123456789abcdef0123456789ABCDEF")
)

// TestPayloadStructure checks fresh payloads against README §1.4: lengths,
// padding, layout, a new IV every time, and that a bare AES-GCM reads them.
func TestPayloadStructure(t *testing.T) {
	for _, key := range [][]byte{testKey128, testKey256} {
		for n := 0; n <= 50; n++ {
			pt := bytes.Repeat([]byte("x"), n)
			p1, err := EncryptPayload(key, pt)
			if err != nil {
				t.Fatal(err)
			}
			p2, err := EncryptPayload(key, pt)
			if err != nil {
				t.Fatal(err)
			}
			wantLen := 4 * ((28 + n + 2) / 3)
			if len(p1) != wantLen {
				t.Fatalf("n=%d: payload is %d chars; want %d", n, len(p1), wantLen)
			}
			wantPad := []string{"", "==", "="}[(28+n)%3]
			if strings.TrimRight(p1, "=") != p1[:len(p1)-len(wantPad)] || !strings.HasSuffix(p1, wantPad) {
				t.Fatalf("n=%d: payload %s; want padding %q", n, p1, wantPad)
			}
			raw1, err := stdB64.decode(p1)
			if err != nil {
				t.Fatal(err)
			}
			raw2, _ := stdB64.decode(p2)
			if len(raw1) != 28+n {
				t.Fatalf("n=%d: %d bytes; want %d", n, len(raw1), 28+n)
			}
			if bytes.Equal(raw1[:12], raw2[:12]) {
				t.Fatalf("n=%d: two encryptions share an IV", n)
			}
			block, _ := aes.NewCipher(key)
			gcm, _ := stdcipher.NewGCM(block)
			got, err := gcm.Open(nil, raw1[:12], raw1[12:], nil)
			if err != nil || !bytes.Equal(got, pt) {
				t.Fatalf("n=%d: bare AES-GCM open: %q, %v", n, got, err)
			}
			got, err = DecryptPayload(key, p1)
			if err != nil || !bytes.Equal(got, pt) {
				t.Fatalf("n=%d: DecryptPayload: %q, %v", n, got, err)
			}
		}
	}
}

func TestPayloadRoundTripText(t *testing.T) {
	for _, pt := range []string{"", "a", "\x00", "line\r\nline\n", "Ñandú — 北京 — 🚀", strings.Repeat("é", 100000)} {
		p, err := EncryptPayload(testKey128, []byte(pt))
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecryptPayload(testKey128, p)
		if err != nil || string(got) != pt {
			t.Fatalf("round trip of %d bytes: %v", len(pt), err)
		}
	}
}

func TestEncryptPayloadRefusesBinary(t *testing.T) {
	for _, pt := range []string{"\xff", "ok\xc3", "\xed\xa0\x80"} { // bad byte, cut sequence, surrogate
		_, err := EncryptPayload(testKey128, []byte(pt))
		if err == nil || errors.Is(err, ErrSecret) || !strings.Contains(err.Error(), "UTF-8") {
			t.Errorf("EncryptPayload(%q): %v; want a UTF-8 error that is not ErrSecret", pt, err)
		}
	}
}

// TestDecryptPayloadFailures: every way a payload can be wrong is ErrSecret.
func TestDecryptPayloadFailures(t *testing.T) {
	good, err := EncryptPayload(testKey128, []byte("hello!")) // 34 bytes: "==" padding
	if err != nil {
		t.Fatal(err)
	}
	// The same payload spelled with the url alphabet.
	var urlSpelled string
	for urlSpelled == "" {
		p, err := EncryptPayload(testKey128, []byte("hello"))
		if err != nil {
			t.Fatal(err)
		}
		if strings.ContainsAny(p, "+/") {
			urlSpelled = strings.NewReplacer("+", "-", "/", "_").Replace(p)
		}
	}
	// A valid GCM encryption of bytes that are not UTF-8.
	block, _ := aes.NewCipher(testKey128)
	gcm, _ := stdcipher.NewGCM(block)
	notText := stdB64.encode(gcm.Seal(make([]byte, 12), make([]byte, 12), []byte("ok\xff"), nil))
	raw, _ := stdB64.decode(good)
	flip := func(i int) string {
		b := bytes.Clone(raw)
		b[i] ^= 1
		return stdB64.encode(b)
	}
	tests := []struct {
		name    string
		key     []byte
		payload string
	}{
		{"wrong key", []byte("fedcba9876543210"), good},
		{"flipped IV", testKey128, flip(0)},
		{"flipped ciphertext", testKey128, flip(12)},
		{"flipped tag", testKey128, flip(len(raw) - 1)},
		{"truncated", testKey128, stdB64.encode(raw[:len(raw)-1])},
		{"tag only", testKey128, stdB64.encode(raw[12:])},
		{"empty", testKey128, ""},
		{"27 bytes", testKey128, stdB64.encode(raw[:27])},
		{"trailing newline", testKey128, good + "\n"},
		{"trailing CRLF", testKey128, good + "\r\n"},
		{"leading space", testKey128, " " + good},
		{"line break inside", testKey128, good[:8] + "\n" + good[8:]},
		{"url alphabet", testKey128, urlSpelled},
		{"padding dropped", testKey128, strings.TrimRight(good, "=")},
		{"not text", testKey128, notText},
		{"key of 15 bytes", testKey128[:15], good},
		{"key of 24 bytes", testKey256[:24], good},
		{"no key", nil, good},
	}
	for _, tt := range tests {
		pt, err := DecryptPayload(tt.key, tt.payload)
		if !errors.Is(err, ErrSecret) {
			t.Errorf("%s: %q, %v; want ErrSecret", tt.name, pt, err)
		}
	}
}

// TestTrailingNewlineIsCodecOnly: a payload with one final newline fails as
// given and decrypts after TrimOneNewline; two newlines fail either way.
func TestTrailingNewlineIsCodecOnly(t *testing.T) {
	p, err := EncryptPayload(testKey128, []byte("v"))
	if err != nil {
		t.Fatal(err)
	}
	for _, nl := range []string{"\n", "\r\n"} {
		if _, err := DecryptPayload(testKey128, p+nl); !errors.Is(err, ErrSecret) {
			t.Errorf("payload+%q: %v; want ErrSecret", nl, err)
		}
		if got, err := DecryptPayload(testKey128, string(TrimOneNewline([]byte(p+nl)))); err != nil || string(got) != "v" {
			t.Errorf("trimmed payload+%q: %q, %v", nl, got, err)
		}
		if _, err := DecryptPayload(testKey128, string(TrimOneNewline([]byte(p+nl+nl)))); !errors.Is(err, ErrSecret) {
			t.Errorf("trimmed payload+2×%q: %v; want ErrSecret", nl, err)
		}
	}
}

// TestKey256DoesNotOpenKey128 pins README §1.1: a 32-byte key that begins
// with an AES-128 key is a different key, not the platform's truncation.
func TestKey256DoesNotOpenKey128(t *testing.T) {
	for _, c := range loadAnvil(t) {
		if c.Expect != "ok" {
			continue
		}
		k16, err := ParseKey(c.Key)
		if err != nil {
			t.Fatal(err)
		}
		k32 := append(bytes.Clone(k16), k16...)
		if pt, err := DecryptPayload(k32, c.Payload); !errors.Is(err, ErrSecret) {
			t.Errorf("%s: 32-byte key opened an AES-128 payload: %q, %v", c.Name, pt, err)
		}
		p256, err := EncryptPayload(k32, []byte("x"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := DecryptPayload(k16, p256); !errors.Is(err, ErrSecret) {
			t.Errorf("%s: 16-byte prefix opened an AES-256 payload: %v", c.Name, err)
		}
	}
}

func TestParseKey(t *testing.T) {
	good16, good32 := stdB64.encode(testKey128), stdB64.encode(testKey256)
	for _, s := range []string{good16, good32} {
		k, err := ParseKey(s)
		if err != nil || stdB64.encode(k) != s {
			t.Errorf("ParseKey(%s): %x, %v", s, k, err)
		}
	}
	tests := []struct{ in, want string }{
		{good16 + "\n", "line break at offset 24"},
		{" " + good16, "whitespace"},
		{strings.TrimRight(good16, "="), "not a multiple of 4"},
		{stdB64.encode(testKey128[:15]), "15 bytes; want 16 (AES-128) or 32 (AES-256)"},
		{stdB64.encode(testKey256[:24]), "24 bytes"},
		{stdB64.encode(append(bytes.Clone(testKey256), 0)), "33 bytes"},
		{"", "0 bytes"},
		{"MDEyMzQ1Njc4OWFiY2RlZg-=", "other base64 alphabet"},
		{"MDEyMzQ1Njc4OWFiY2RlZh==", "not the canonical encoding"},
	}
	for _, tt := range tests {
		k, err := ParseKey(tt.in)
		if err == nil {
			t.Errorf("ParseKey(%q) = %x; want error", tt.in, k)
			continue
		}
		if !strings.HasPrefix(err.Error(), "parsing key: ") || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseKey(%q): %q; want it to contain %q", tt.in, err, tt.want)
		}
		if len(tt.in) > 8 && strings.Contains(err.Error(), strings.TrimSpace(tt.in)[:8]) {
			t.Errorf("ParseKey(%q): error %q echoes the key", tt.in, err)
		}
	}
}

func FuzzDecryptPayload(f *testing.F) {
	for _, c := range loadAnvil(f) {
		f.Add(c.Payload)
	}
	p, err := EncryptPayload(testKey128, []byte("fuzz seed"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(p)
	f.Add(p + "\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, payload string) {
		pt, err := DecryptPayload(testKey128, payload)
		if err != nil {
			if !errors.Is(err, ErrSecret) {
				t.Fatalf("error %v does not wrap ErrSecret", err)
			}
			if pt != nil {
				t.Fatalf("plaintext %q returned with an error", pt)
			}
			return
		}
		// Only an authentic payload opens, and it re-encrypts to itself.
		raw, _ := stdB64.decode(payload)
		again, err := encryptPayloadWithIV(testKey128, pt, raw[:12])
		if err != nil || again != payload {
			t.Fatalf("opened %q, but it re-encrypts to %q (%v)", payload, again, err)
		}
	})
}
