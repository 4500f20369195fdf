package cipher

// Most tests here run PBKDF2 at a cost of 1 or 2 iterations through the
// unexported functions; only a few pay the real 600 000 (≈0.1 s each).

import (
	"bytes"
	"crypto/aes"
	stdcipher "crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

const cheap = 1 // PBKDF2 iterations for tests that are not about the cost

var (
	testSalt = []byte("saltsaltsaltsalt")
	testIV   = []byte("iviviviviviviviv")
)

// fernetToken builds a Flet token around a raw CBC plaintext, padded or not
// as the caller chooses, with a valid MAC: it makes tokens that pass the MAC
// and break a later rule.
func fernetToken(t *testing.T, passphrase string, version byte, ts uint64, padded []byte) string {
	t.Helper()
	macKey, encKey, err := fletKeys(passphrase, testSalt, cheap)
	if err != nil {
		t.Fatal(err)
	}
	f := append([]byte{version}, binary.BigEndian.AppendUint64(nil, ts)...)
	f = append(f, testIV...)
	block, _ := aes.NewCipher(encKey)
	ct := make([]byte, len(padded))
	stdcipher.NewCBCEncrypter(block, testIV).CryptBlocks(ct, padded)
	f = append(f, ct...)
	mac := hmac.New(sha256.New, macKey)
	mac.Write(f)
	f = mac.Sum(f)
	return urlB64.encode(append(bytes.Clone(testSalt), urlB64.encode(f)...))
}

// TestFletStructure checks fresh tokens against README §2.2 and §2.4.
func TestFletStructure(t *testing.T) {
	for n := 0; n <= 48; n++ {
		pt := bytes.Repeat([]byte("y"), n)
		tok, err := fletEncryptWith("pw", pt, testSalt, testIV, 1795784681, cheap)
		if err != nil {
			t.Fatal(err)
		}
		fLen := 57 + 16*(n/16+1)
		textLen := 4 * ((fLen + 2) / 3)
		if want := 4 * ((16 + textLen + 2) / 3); len(tok) != want {
			t.Fatalf("n=%d: token is %d chars; want %d", n, len(tok), want)
		}
		if (n == 0 && len(tok) != 156) || (n >= 16 && n < 32 && len(tok) != 184) {
			t.Fatalf("n=%d: token is %d chars; README §2.4 says 156 for 0 and 184 for 16..31", n, len(tok))
		}
		outer, err := urlB64.decode(tok)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(outer[:16], testSalt) || !bytes.HasPrefix(outer[16:], []byte("gAAAAA")) {
			t.Fatalf("n=%d: outer layer is not salt || Fernet text: %q", n, outer)
		}
		f, err := urlB64.decode(string(outer[16:]))
		if err != nil {
			t.Fatalf("n=%d: inner layer: %v", n, err)
		}
		if len(f) != fLen || f[0] != 0x80 || binary.BigEndian.Uint64(f[1:9]) != 1795784681 || !bytes.Equal(f[9:25], testIV) {
			t.Fatalf("n=%d: Fernet layout wrong: %x", n, f)
		}
		got, err := fletDecryptWith("pw", tok, cheap)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("n=%d: round trip: %q, %v", n, got, err)
		}
	}
}

// TestFletEncryptFresh runs the real, full-cost path once each way.
func TestFletEncryptFresh(t *testing.T) {
	pt := []byte("Mañana — 明日 — 🌅\x00\r\n")
	before := time.Now().Unix()
	tok, err := FletEncrypt("mot de passe é 🔑", pt)
	if err != nil {
		t.Fatal(err)
	}
	tok2, err := FletEncrypt("mot de passe é 🔑", pt)
	if err != nil {
		t.Fatal(err)
	}
	after := time.Now().Unix()
	outer, _ := urlB64.decode(tok)
	outer2, _ := urlB64.decode(tok2)
	if bytes.Equal(outer[:16], outer2[:16]) {
		t.Fatal("two tokens share a salt")
	}
	f, err := urlB64.decode(string(outer[16:]))
	if err != nil {
		t.Fatal(err)
	}
	f2, _ := urlB64.decode(string(outer2[16:]))
	if bytes.Equal(f[9:25], f2[9:25]) {
		t.Fatal("two tokens share an IV")
	}
	if ts := int64(binary.BigEndian.Uint64(f[1:9])); ts < before || ts > after {
		t.Fatalf("timestamp %d not in [%d, %d]", ts, before, after)
	}
	got, err := FletDecrypt("mot de passe é 🔑", tok)
	if err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("FletDecrypt: %q, %v", got, err)
	}
}

// TestFletTimestampIgnored: README §2.3 step 9, no TTL and no clock skew.
func TestFletTimestampIgnored(t *testing.T) {
	for _, ts := range []uint64{0, 1, 4102444800 /* 2100 */, math.MaxInt64 + 1, math.MaxUint64} {
		tok, err := fletEncryptWith("pw", []byte("t"), testSalt, testIV, ts, cheap)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := fletDecryptWith("pw", tok, cheap); err != nil || string(got) != "t" {
			t.Errorf("timestamp %d: %q, %v", ts, got, err)
		}
	}
}

// TestFletLegacyFallback: costs are tried in order, and either opens.
func TestFletLegacyFallback(t *testing.T) {
	for _, n := range []int{2, 3} {
		tok, err := fletEncryptWith("pw", []byte("old"), testSalt, testIV, 0, n)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := fletDecryptWith("pw", tok, 3, 2); err != nil || string(got) != "old" {
			t.Errorf("made with %d iterations: %q, %v", n, got, err)
		}
		if _, err := fletDecryptWith("pw", tok, 4); !errors.Is(err, ErrSecret) {
			t.Errorf("made with %d, opened with 4: %v; want ErrSecret", n, err)
		}
	}
}

func TestFletEmptyPassphraseAndPlaintext(t *testing.T) {
	tok, err := fletEncryptWith("", nil, testSalt, testIV, 0, cheap)
	if err != nil {
		t.Fatal(err)
	}
	got, err := fletDecryptWith("", tok, cheap)
	if err != nil || len(got) != 0 {
		t.Fatalf("%q, %v", got, err)
	}
	if _, err := fletDecryptWith(" ", tok, cheap); !errors.Is(err, ErrSecret) {
		t.Fatalf("passphrase %q opened a token for \"\": %v", " ", err)
	}
}

func TestFletEncryptRefuses(t *testing.T) {
	if _, err := fletEncryptWith("pw", []byte("a\xffb"), testSalt, testIV, 0, cheap); err == nil || errors.Is(err, ErrSecret) || !strings.Contains(err.Error(), "plaintext is not valid UTF-8") {
		t.Errorf("binary plaintext: %v", err)
	}
	if _, err := fletEncryptWith("p\xffw", []byte("a"), testSalt, testIV, 0, cheap); err == nil || errors.Is(err, ErrSecret) || strings.Contains(err.Error(), "p\xffw") {
		t.Errorf("binary passphrase: %v", err)
	}
	if _, err := FletEncrypt("pw", []byte{0xc3}); err == nil {
		t.Error("FletEncrypt took a cut UTF-8 sequence")
	}
}

// TestFletAuthenticatedButMalformed: tokens with a valid MAC whose contents
// break a rule (README §2.3 steps 4, 7 and 8) still fail with ErrSecret.
func TestFletAuthenticatedButMalformed(t *testing.T) {
	block := func(last ...byte) []byte {
		b := bytes.Repeat([]byte("a"), 16-len(last))
		return append(b, last...)
	}
	tests := []struct {
		name    string
		version byte
		padded  []byte
	}{
		{"padding byte 0", 0x80, block(0)},
		{"padding byte 17", 0x80, block(17)},
		{"padding 0xff", 0x80, block(0xff)},
		{"padding bytes disagree", 0x80, block(1, 3, 3)},
		{"padding 16 but one byte differs", 0x80, append([]byte{15}, bytes.Repeat([]byte{16}, 15)...)},
		{"not UTF-8", 0x80, block(0xff, 1)},
		{"cut UTF-8", 0x80, block(0xc3, 1)},
		{"version 0x81", 0x81, block(1)},
		{"version 0x00", 0x00, block(1)},
	}
	for _, tt := range tests {
		tok := fernetToken(t, "pw", tt.version, 0, tt.padded)
		if pt, err := fletDecryptWith("pw", tok, cheap); !errors.Is(err, ErrSecret) {
			t.Errorf("%s: %q, %v; want ErrSecret", tt.name, pt, err)
		}
	}
	// The same builder with a well-formed block opens, so the cases above
	// fail for the reason they name.
	if pt, err := fletDecryptWith("pw", fernetToken(t, "pw", 0x80, 0, block(2, 2)), cheap); err != nil || string(pt) != strings.Repeat("a", 14) {
		t.Fatalf("control token: %q, %v", pt, err)
	}
}

// TestFletFailures: every other way a token can be wrong.
func TestFletFailures(t *testing.T) {
	salt := bytes.Repeat([]byte{0xfb}, 16) // so that the outer text has '-' and '_'
	good, err := fletEncryptWith("pw", []byte("0123456789abcdef0123"), salt, testIV, 7, cheap)
	if err != nil {
		t.Fatal(err)
	}
	outer, _ := urlB64.decode(good)
	inner := string(outer[16:])
	f, _ := urlB64.decode(inner)
	rewrap := func(s []byte, text string) string {
		return urlB64.encode(append(bytes.Clone(s), text...))
	}
	flipF := func(i int) string {
		b := bytes.Clone(f)
		b[i] ^= 0x01
		return rewrap(salt, urlB64.encode(b))
	}
	tests := []struct{ name, pass, token string }{
		{"wrong passphrase", "pW", good},
		{"passphrase with newline", "pw\n", good},
		{"passphrase not UTF-8", "pw\xff", good},
		{"other salt", "pw", rewrap([]byte("SALTSALTSALTSALT"), inner)},
		{"flipped version", "pw", flipF(0)},
		{"flipped timestamp", "pw", flipF(3)},
		{"flipped IV", "pw", flipF(10)},
		{"flipped ciphertext", "pw", flipF(30)},
		{"flipped MAC", "pw", flipF(len(f) - 1)},
		{"MAC cut", "pw", rewrap(salt, urlB64.encode(f[:len(f)-1]))},
		{"one block dropped", "pw", rewrap(salt, urlB64.encode(append(f[:25:25], f[41:]...)))},
		{"shorter than minimum", "pw", rewrap(salt, urlB64.encode(f[:72]))},
		{"salt only", "pw", urlB64.encode(salt)},
		{"15 bytes", "pw", urlB64.encode(salt[:15])},
		{"empty", "pw", ""},
		{"outer trailing newline", "pw", good + "\n"},
		{"outer trailing CRLF", "pw", good + "\r\n"},
		{"outer leading space", "pw", " " + good},
		{"outer std alphabet", "pw", strings.NewReplacer("-", "+", "_", "/").Replace(good)},
		{"outer padding dropped", "pw", strings.TrimRight(good, "=")},
		{"inner trailing newline", "pw", rewrap(salt, inner+"\n")},
		{"inner std alphabet", "pw", rewrap(salt, strings.NewReplacer("-", "+", "_", "/").Replace(inner))},
		{"inner padding dropped", "pw", rewrap(salt, strings.TrimRight(inner, "="))},
		{"inner binary", "pw", urlB64.encode(append(bytes.Clone(salt), f...))},
	}
	if !strings.ContainsAny(good, "-_") || !strings.ContainsAny(inner, "-_") || !strings.HasSuffix(good, "=") || !strings.HasSuffix(inner, "=") {
		t.Fatalf("fixture token %s lacks url characters or padding; pick another plaintext", good)
	}
	for _, tt := range tests {
		if pt, err := fletDecryptWith(tt.pass, tt.token, cheap); !errors.Is(err, ErrSecret) {
			t.Errorf("%s: %q, %v; want ErrSecret", tt.name, pt, err)
		}
	}
	if pt, err := fletDecryptWith("pw", good, cheap); err != nil || string(pt) != "0123456789abcdef0123" {
		t.Fatalf("control: %q, %v", pt, err)
	}
	// One final newline is a command-line matter (README §0), two are not.
	for _, nl := range []string{"\n", "\r\n"} {
		if _, err := fletDecryptWith("pw", string(TrimOneNewline([]byte(good+nl))), cheap); err != nil {
			t.Errorf("trimmed token+%q: %v", nl, err)
		}
		if _, err := fletDecryptWith("pw", string(TrimOneNewline([]byte(good+nl+nl))), cheap); !errors.Is(err, ErrSecret) {
			t.Errorf("trimmed token+2×%q: %v; want ErrSecret", nl, err)
		}
	}
}

func FuzzFletDecrypt(f *testing.F) {
	cases, legacy := loadFlet(f)
	for _, c := range append(cases, legacy...) {
		f.Add(c.Passphrase, c.Token)
	}
	for _, pt := range []string{"", "seed", "0123456789abcdef"} {
		tok, err := fletEncryptWith("pw", []byte(pt), testSalt, testIV, 1, 2)
		if err != nil {
			f.Fatal(err)
		}
		f.Add("pw", tok)
	}
	f.Fuzz(func(t *testing.T, passphrase, token string) {
		pt, err := fletDecryptWith(passphrase, token, 2)
		if err != nil {
			if !errors.Is(err, ErrSecret) {
				t.Fatalf("error %v does not wrap ErrSecret", err)
			}
			return
		}
		// What opens is authentic and canonical: the same inputs rebuild it.
		outer, _ := urlB64.decode(token)
		fb, _ := urlB64.decode(string(outer[16:]))
		again, err := fletEncryptWith(passphrase, pt, outer[:16], fb[9:25], binary.BigEndian.Uint64(fb[1:9]), 2)
		if err != nil || again != token {
			t.Fatalf("opened %q, but it re-encrypts to %q (%v)", token, again, err)
		}
	})
}
