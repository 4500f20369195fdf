package cipher

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 27, 14, 0, 0, 123456789, time.FixedZone("CET", 3600))

// keyringExample is the worked example of KEYS.md §2.4: version 1 is the
// key of the public Anvil vectors, version 2 an AES-256 key.
const keyringExample = "gitseal-keyring 1\n" +
	"2 aes-256-gcm 2026-11-27T14:00:00Z MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlBQkNERUY=\n" +
	"1 aes-128-gcm 2026-01-02T03:04:05Z FWjbf7k7H4t06tizxneLfQ==\n"

func TestKeyringExampleInSpec(t *testing.T) {
	doc, err := os.ReadFile("KEYS.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), keyringExample) {
		t.Fatal("KEYS.md no longer shows keyringExample verbatim")
	}
	k, err := UnmarshalKeyring([]byte(keyringExample))
	if err != nil {
		t.Fatal(err)
	}
	want := []KeyVersion{
		{Version: 2, Bits: 256, Created: time.Date(2026, 11, 27, 14, 0, 0, 0, time.UTC), Primary: true},
		{Version: 1, Bits: 128, Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
	}
	got := k.Versions()
	if len(got) != len(want) {
		t.Fatalf("Versions() = %+v; want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Versions()[%d] = %+v; want %+v", i, got[i], want[i])
		}
	}
	if k.Export() != stdB64.encode(testKey256) {
		t.Fatalf("Export() = %s", k.Export())
	}
	// Version 1 still opens what the platform encrypted with it.
	for _, c := range loadAnvil(t) {
		if c.Expect == "ok" && c.Key == "FWjbf7k7H4t06tizxneLfQ==" {
			if pt, err := k.Decrypt(c.Payload); err != nil || string(pt) != *c.Plaintext {
				t.Errorf("%s: %q, %v", c.Name, pt, err)
			}
		}
	}
	out, _ := k.MarshalBinary()
	if string(out) != keyringExample {
		t.Fatalf("MarshalBinary:\n%s\nwant\n%s", out, keyringExample)
	}
}

func TestNewKeyring(t *testing.T) {
	for _, tt := range []struct{ bits, want int }{{0, 128}, {128, 128}, {256, 256}} {
		k, err := NewKeyring(tt.bits, t0)
		if err != nil {
			t.Fatal(err)
		}
		v := k.Versions()
		if len(v) != 1 || v[0] != (KeyVersion{Version: 1, Bits: tt.want, Created: time.Date(2026, 11, 27, 13, 0, 0, 0, time.UTC), Primary: true}) {
			t.Fatalf("NewKeyring(%d): %+v", tt.bits, v)
		}
		key, err := ParseKey(k.Export())
		if err != nil || len(key)*8 != tt.want {
			t.Fatalf("Export: %d bytes, %v", len(key), err)
		}
		// The exported key is the platform's: a bare payload and a keyring
		// payload are the same format.
		p, err := k.Encrypt([]byte("named"))
		if err != nil {
			t.Fatal(err)
		}
		if pt, err := DecryptPayload(key, p); err != nil || string(pt) != "named" {
			t.Fatalf("DecryptPayload of Keyring.Encrypt: %q, %v", pt, err)
		}
		p, _ = EncryptPayload(key, []byte("bare"))
		if pt, err := k.Decrypt(p); err != nil || string(pt) != "bare" {
			t.Fatalf("Keyring.Decrypt of EncryptPayload: %q, %v", pt, err)
		}
	}
	for _, bits := range []int{-1, 1, 127, 192, 512} {
		if _, err := NewKeyring(bits, t0); err == nil || err.Error() != fmt.Sprintf("creating key: %d bits; want 128 or 256", bits) {
			t.Errorf("NewKeyring(%d): %v", bits, err)
		}
		k, _ := NewKeyring(128, t0)
		if err := k.Reset(bits, t0); err == nil || err.Error() != fmt.Sprintf("resetting key: %d bits; want 128 or 256", bits) {
			t.Errorf("Reset(%d): %v", bits, err)
		}
	}
	for _, now := range []time.Time{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 12, 31, 0, 0, 0, 0, time.UTC)} {
		if _, err := NewKeyring(128, now); err == nil {
			t.Errorf("NewKeyring at %v: no error", now)
		}
	}
	a, _ := NewKeyring(128, t0)
	b, _ := NewKeyring(128, t0)
	if a.Export() == b.Export() {
		t.Fatal("two new keyrings share a key")
	}
}

func TestKeyringResetAndPurge(t *testing.T) {
	k, err := NewKeyring(128, t0)
	if err != nil {
		t.Fatal(err)
	}
	v1key, _ := ParseKey(k.Export())
	p1, _ := k.Encrypt([]byte("one"))
	if err := k.Reset(256, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	p2, _ := k.Encrypt([]byte("two"))
	if err := k.Reset(0, t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	p3, _ := k.Encrypt([]byte("three"))
	v := k.Versions()
	if len(v) != 3 || v[0].Version != 3 || !v[0].Primary || v[0].Bits != 128 || v[1].Version != 2 || v[1].Primary || v[1].Bits != 256 || v[2].Version != 1 || v[2].Primary {
		t.Fatalf("Versions() = %+v", v)
	}
	if !v[0].Created.After(v[1].Created) {
		t.Fatalf("creation times %v, %v", v[0].Created, v[1].Created)
	}
	for p, want := range map[string]string{p1: "one", p2: "two", p3: "three"} {
		if pt, err := k.Decrypt(p); err != nil || string(pt) != want {
			t.Errorf("after reset, %s: %q, %v", want, pt, err)
		}
	}
	// The new primary encrypts: the old key cannot read new payloads.
	if _, err := DecryptPayload(v1key, p3); !errors.Is(err, ErrSecret) {
		t.Errorf("version 1 key opened a version 3 payload: %v", err)
	}
	if n := k.PurgeOld(); n != 2 {
		t.Fatalf("PurgeOld() = %d; want 2", n)
	}
	if n := k.PurgeOld(); n != 0 {
		t.Fatalf("second PurgeOld() = %d; want 0", n)
	}
	for _, p := range []string{p1, p2} {
		if _, err := k.Decrypt(p); !errors.Is(err, ErrSecret) {
			t.Errorf("purged version still decrypts: %v", err)
		}
	}
	if pt, err := k.Decrypt(p3); err != nil || string(pt) != "three" {
		t.Fatalf("primary after purge: %q, %v", pt, err)
	}
	// Version numbers are never reused.
	if err := k.Reset(128, t0); err != nil {
		t.Fatal(err)
	}
	if v := k.Versions(); len(v) != 2 || v[0].Version != 4 || v[1].Version != 3 {
		t.Fatalf("after purge and reset: %+v", v)
	}
}

func TestKeyringImport(t *testing.T) {
	key := bytes.Clone(testKey128)
	k, err := ImportKeyring(key, t0)
	if err != nil {
		t.Fatal(err)
	}
	key[0] ^= 0xff // the keyring holds its own copy
	if k.Export() != stdB64.encode(testKey128) {
		t.Fatal("ImportKeyring kept the caller's slice")
	}
	if err := k.Import(testKey256, t0); err != nil {
		t.Fatal(err)
	}
	if v := k.Versions(); len(v) != 2 || v[0].Bits != 256 || v[0].Version != 2 {
		t.Fatalf("Versions() = %+v", v)
	}
	if k.Export() != stdB64.encode(testKey256) {
		t.Fatal("Import did not make the new key primary")
	}
	for _, bad := range [][]byte{nil, testKey128[:15], testKey256[:24], append(bytes.Clone(testKey256), 1)} {
		if _, err := ImportKeyring(bad, t0); err == nil || !strings.HasPrefix(err.Error(), "importing key: ") {
			t.Errorf("ImportKeyring(%d bytes): %v", len(bad), err)
		}
		if err := k.Import(bad, t0); err == nil {
			t.Errorf("Import(%d bytes): no error", len(bad))
		}
	}
	if len(k.Versions()) != 2 {
		t.Fatal("a refused import changed the keyring")
	}
}

func TestKeyringDecryptFailures(t *testing.T) {
	k, _ := NewKeyring(128, t0)
	_ = k.Reset(256, t0)
	other, _ := NewKeyring(128, t0)
	p, _ := other.Encrypt([]byte("x"))
	good, _ := k.Encrypt([]byte("x"))
	for _, payload := range []string{p, "", good + "\n", good[:len(good)-4]} {
		if _, err := k.Decrypt(payload); !errors.Is(err, ErrSecret) || !strings.HasPrefix(err.Error(), "decrypting with key: ") {
			t.Errorf("Decrypt: %v; want ErrSecret", err)
		}
	}
	if _, err := k.Encrypt([]byte{0xff}); err == nil || errors.Is(err, ErrSecret) {
		t.Errorf("Encrypt of binary: %v", err)
	}
}

func TestKeyringMarshalRoundTrip(t *testing.T) {
	k, _ := NewKeyring(128, t0)
	_ = k.Reset(256, t0.Add(time.Minute))
	_ = k.Import(testKey128, t0.Add(time.Hour))
	payloads := map[string]string{}
	for _, s := range []string{"a", "b"} {
		p, _ := k.Encrypt([]byte(s))
		payloads[p] = s
	}
	data, err := k.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	k2, err := UnmarshalKeyring(data)
	if err != nil {
		t.Fatal(err)
	}
	data2, _ := k2.MarshalBinary()
	if !bytes.Equal(data, data2) {
		t.Fatalf("round trip changed the encoding:\n%s\n%s", data, data2)
	}
	v1, v2 := k.Versions(), k2.Versions()
	for i := range v1 {
		if v1[i] != v2[i] {
			t.Fatalf("version %d: %+v; want %+v", i, v2[i], v1[i])
		}
	}
	if k2.Export() != k.Export() {
		t.Fatal("round trip changed the primary key")
	}
	for p, want := range payloads {
		if pt, err := k2.Decrypt(p); err != nil || string(pt) != want {
			t.Fatalf("decrypt after round trip: %q, %v", pt, err)
		}
	}
}

func TestUnmarshalKeyringUnknownFormat(t *testing.T) {
	for _, s := range []string{
		"gitseal-keyring 2\n1 aes-128-gcm 2026-01-02T03:04:05Z FWjbf7k7H4t06tizxneLfQ==\n",
		"gitseal-keyring 17\nanything at all\n",
	} {
		_, err := UnmarshalKeyring([]byte(s))
		if !errors.Is(err, ErrUnknownVersion) || !strings.Contains(err.Error(), "upgrade gitseal") {
			t.Errorf("%q: %v; want ErrUnknownVersion", s, err)
		}
	}
}

func TestUnmarshalKeyringMalformed(t *testing.T) {
	const (
		h  = "gitseal-keyring 1\n"
		l2 = "2 aes-256-gcm 2026-11-27T14:00:00Z MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlBQkNERUY=\n"
		l1 = "1 aes-128-gcm 2026-01-02T03:04:05Z FWjbf7k7H4t06tizxneLfQ==\n"
	)
	tests := []struct{ name, in, want string }{
		{"empty", "", "no header line"},
		{"header only", h, "no key versions"},
		{"no final newline", h + strings.TrimSuffix(l1, "\n"), "newline"},
		{"CRLF", strings.ReplaceAll(h+l1, "\n", "\r\n"), ""},
		{"other magic", "gitseal-keyrinG 1\n" + l1, "not a keyring"},
		{"no format", "gitseal-keyring\n" + l1, "not a keyring"},
		{"format not a number", "gitseal-keyring one\n" + l1, "no format version"},
		{"format 01", "gitseal-keyring 01\n" + l1, "no format version"},
		{"format 0", "gitseal-keyring 0\n" + l1, "no format version"},
		{"header space", "gitseal-keyring  1\n" + l1, ""},
		{"oldest first", h + l1 + l2, "newest first"},
		{"repeat", h + l1 + l1, "newest first"},
		{"blank line", h + l2 + "\n" + l1, "line 3"},
		{"trailing blank line", h + l1 + "\n", "line 3"},
		{"version 0", h + "0" + l1[1:], "version number"},
		{"version 01", h + "01" + l1[1:], "version number"},
		{"version -1", h + "-1" + l1[1:], "version number"},
		{"version +1", h + "+1" + l1[1:], "version number"},
		{"version 10 digits", h + "1000000000" + l1[1:], "version number"},
		{"two spaces", h + strings.Replace(l1, " ", "  ", 1), "fields"},
		{"tab", h + strings.Replace(l1, " ", "\t", 1), "fields"},
		{"five fields", h + strings.TrimSuffix(l1, "\n") + " x\n", "fields"},
		{"algorithm", h + strings.Replace(l1, "aes-128-gcm", "AES-128-GCM", 1), "unknown algorithm"},
		{"algorithm mismatch", h + strings.Replace(l1, "aes-128-gcm", "aes-256-gcm", 1), "key is 16 bytes; aes-256-gcm wants 32"},
		{"time without Z", h + strings.Replace(l1, "05Z", "05+00:00", 1), "creation time"},
		{"fractional time", h + strings.Replace(l1, "05Z", "05.5Z", 1), "creation time"},
		{"time lowercase", h + strings.Replace(l1, "T03", "t03", 1), "creation time"},
		{"impossible date", h + strings.Replace(l1, "01-02", "02-30", 1), "creation time"},
		{"key with newline inside", h + strings.Replace(l1, "Q==", "Q=\n=", 1), ""},
		{"key not canonical", h + strings.Replace(l1, "fQ==", "fR==", 1), "not the canonical encoding"},
		{"key url alphabet", h + strings.Replace(l2, "Y", "-", 1), "other base64 alphabet"},
		{"key 15 bytes", h + strings.Replace(l1, "FWjbf7k7H4t06tizxneLfQ==", stdB64.encode(testKey128[:15]), 1), "15 bytes"},
	}
	for _, tt := range tests {
		k, err := UnmarshalKeyring([]byte(tt.in))
		if err == nil {
			t.Errorf("%s: parsed: %+v", tt.name, k.Versions())
			continue
		}
		if errors.Is(err, ErrUnknownVersion) || errors.Is(err, ErrSecret) {
			t.Errorf("%s: %v is not a plain format error", tt.name, err)
		}
		if !strings.HasPrefix(err.Error(), "reading keyring: ") || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %q; want it to contain %q", tt.name, err, tt.want)
		}
		for _, key := range []string{"FWjbf7k7H4t06tiz", "MDEyMzQ1Njc4OWFi"} {
			if strings.Contains(err.Error(), key) {
				t.Errorf("%s: error %q quotes a key", tt.name, err)
			}
		}
	}
}

func TestKeyringVersionLimit(t *testing.T) {
	k, _ := NewKeyring(128, t0)
	for i := 1; i < maxKeyVersions; i++ {
		if err := k.Import(testKey128, t0); err != nil {
			t.Fatalf("version %d: %v", i+1, err)
		}
	}
	if err := k.Reset(128, t0); err == nil || !strings.Contains(err.Error(), "purge old versions first") {
		t.Fatalf("version %d: %v", maxKeyVersions+1, err)
	}
	data, _ := k.MarshalBinary()
	if _, err := UnmarshalKeyring(data); err != nil {
		t.Fatalf("a full keyring does not parse: %v", err)
	}
	extra := strings.Replace(string(data), "\n", "\n1001 aes-128-gcm 2026-01-02T03:04:05Z FWjbf7k7H4t06tizxneLfQ==\n", 1)
	if _, err := UnmarshalKeyring([]byte(extra)); err == nil || !strings.Contains(err.Error(), "at most 1000") {
		t.Fatalf("%d versions: %v", maxKeyVersions+1, err)
	}
	top, _ := UnmarshalKeyring([]byte("gitseal-keyring 1\n999999999 aes-128-gcm 2026-01-02T03:04:05Z FWjbf7k7H4t06tizxneLfQ==\n"))
	if top == nil {
		t.Fatal("version 999999999 does not parse")
	}
	if err := top.Reset(128, t0); err == nil || !strings.Contains(err.Error(), "too high") {
		t.Fatalf("reset past the highest version number: %v", err)
	}
}

// TestKeyringConcurrentUse: Encrypt and Decrypt share one keyring (run with
// -race to make this test bite).
func TestKeyringConcurrentUse(t *testing.T) {
	k, _ := NewKeyring(128, t0)
	_ = k.Reset(256, t0)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 50 {
				want := strings.Repeat("v", i*50+j)
				p, err := k.Encrypt([]byte(want))
				if err != nil {
					t.Error(err)
					return
				}
				if pt, err := k.Decrypt(p); err != nil || string(pt) != want {
					t.Errorf("%q, %v", pt, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func FuzzUnmarshalKeyring(f *testing.F) {
	f.Add([]byte(keyringExample))
	f.Add([]byte("gitseal-keyring 2\n"))
	f.Add([]byte("gitseal-keyring 1\n1 aes-128-gcm 2026-01-02T03:04:05Z FWjbf7k7H4t06tizxneLfQ==\n"))
	f.Add([]byte("gitseal-keyring 1\n1 aes-128-gcm 0001-01-01T00:00:00Z FWjbf7k7H4t06tizxneLfQ==\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := UnmarshalKeyring(data)
		if err != nil {
			return
		}
		// The format is canonical: what parses is what MarshalBinary writes.
		out, err := k.MarshalBinary()
		if err != nil || !bytes.Equal(out, data) {
			t.Fatalf("parsed %q, but it marshals as %q (%v)", data, out, err)
		}
		v := k.Versions()
		if len(v) == 0 || !v[0].Primary {
			t.Fatalf("parsed keyring without a primary: %+v", v)
		}
	})
}
