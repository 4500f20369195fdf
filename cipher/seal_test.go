package cipher

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// The worked example of FORMAT.md §2.5. The sealed line was checked against
// an independent implementation (Python's cryptography package: HKDF,
// AESGCM), and TestFormatDocExample keeps FORMAT.md in line with it.
const (
	katSubkeyHex = "1f4e552b3a4482f9f119287eb1680c16200531061da53e0042f334020b3feeb5"
	katADHex     = "6769747365616c3a76313a" + // "gitseal:v1:"
		"00000020" + "38633166326539613562336434633765396630613162326333643465356636" + "30" +
		"0000000a" + "70726f64756374696f6e" +
		"00000006" + "736563726574" +
		"0000000b" + "44425f50415353574f5244"
	katNonceHex = "a0a1a2a3a4a5a6a7a8a9aaab"
	katSealed   = "gitseal:v1:oKGio6SlpqeoqaqrVyIgnLSyWeSZ7dugmDNSaAPv52rDKD1k+DxIlZFUFAAvI7y7oLjpAi+z+PE=\n"
	katValue    = "correct horse battery staple"
)

var katBinding = Binding{StoreID: "8c1f2e9a5b3d4c7e9f0a1b2c3d4e5f60", Env: "production", Kind: KindSecret, Name: "DB_PASSWORD"}

// katKey is the data key 00 01 02 ... 1f.
func katKey(t testing.TB) *DataKey {
	t.Helper()
	var key [dataKeySize]byte
	for i := range key {
		key[i] = byte(i)
	}
	dk, err := newDataKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return dk
}

func mustNewDataKey(t testing.TB) *DataKey {
	t.Helper()
	dk, err := NewDataKey()
	if err != nil {
		t.Fatal(err)
	}
	return dk
}

func TestSealKnownAnswer(t *testing.T) {
	dk := katKey(t)
	if got := hex.EncodeToString(katBinding.associatedData()); got != katADHex {
		t.Errorf("associated data\n got %s\nwant %s", got, katADHex)
	}
	nonce, _ := hex.DecodeString(katNonceHex)
	got, err := sealWithNonce(dk, katBinding, nonce, []byte(katValue))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != katSealed {
		t.Errorf("sealed\n got %q\nwant %q", got, katSealed)
	}
	pt, err := Open(dk, katBinding, []byte(katSealed))
	if err != nil || string(pt) != katValue {
		t.Errorf("Open(example) = %q, %v", pt, err)
	}
}

func TestFormatDocExample(t *testing.T) {
	doc, err := os.ReadFile("FORMAT.md")
	if err != nil {
		t.Fatal(err)
	}
	// The doc wraps long hex over lines and annotates it: compare the
	// concatenation of its hex words.
	var hexWords strings.Builder
	for _, w := range strings.Fields(string(doc)) {
		if _, err := hex.DecodeString(w); err == nil {
			hexWords.WriteString(w)
		}
	}
	for name, want := range map[string]string{
		"subkey":           katSubkeyHex,
		"associated data":  katADHex,
		"nonce":            katNonceHex,
		"sealed file line": strings.TrimSuffix(katSealed, "\n"),
		"value":            katValue,
		"store id":         katBinding.StoreID,
	} {
		if !strings.Contains(hexWords.String(), want) && !strings.Contains(string(doc), want) {
			t.Errorf("FORMAT.md does not show the worked example's %s %s", name, want)
		}
	}
}

func TestSealOpenRoundTrip(t *testing.T) {
	dk := mustNewDataKey(t)
	b := Binding{StoreID: "s1", Env: "dev", Kind: KindSecret, Name: "X"}
	for _, v := range [][]byte{{}, []byte("x"), bytes.Repeat([]byte{0, 0xff, '\n'}, 1000), bytes.Repeat([]byte("a"), MaxValueSize)} {
		sealed, err := Seal(dk, b, v)
		if err != nil {
			t.Fatalf("Seal(%d bytes): %v", len(v), err)
		}
		if !bytes.HasPrefix(sealed, []byte(sealedTag)) || bytes.Count(sealed, []byte("\n")) != 1 || sealed[len(sealed)-1] != '\n' {
			t.Fatalf("Seal(%d bytes) is not one tagged line", len(v))
		}
		if err := CheckSealed(sealed); err != nil {
			t.Errorf("CheckSealed(Seal(%d bytes)) = %v", len(v), err)
		}
		got, err := Open(dk, b, sealed)
		if err != nil || !bytes.Equal(got, v) {
			t.Errorf("Open(Seal(%d bytes)) = %d bytes, %v", len(v), len(got), err)
		}
	}
}

func TestSealIsRandomised(t *testing.T) {
	dk := mustNewDataKey(t)
	a, _ := Seal(dk, katBinding, []byte("v"))
	b, _ := Seal(dk, katBinding, []byte("v"))
	if bytes.Equal(a, b) {
		t.Error("two seals of one value are the same file; the nonce is not random")
	}
}

func TestSealTooLarge(t *testing.T) {
	_, err := Seal(mustNewDataKey(t), katBinding, make([]byte, MaxValueSize+1))
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Seal(1 MiB + 1) = %v, want ErrTooLarge", err)
	}
	if !strings.Contains(err.Error(), "1048577") || !strings.Contains(err.Error(), "1 MiB") {
		t.Errorf("error %q does not give the size and the limit", err)
	}
}

// TestOpenRefusesOtherBinding: a file copied to another name, environment,
// store or kind does not open, and neither does one under another data key.
func TestOpenRefusesOtherBinding(t *testing.T) {
	dk := katKey(t)
	sealed := []byte(katSealed)
	other := func(f func(*Binding)) Binding { b := katBinding; f(&b); return b }
	for name, b := range map[string]Binding{
		"name":  other(func(b *Binding) { b.Name = "DB_PASSWORD2" }),
		"env":   other(func(b *Binding) { b.Env = "staging" }),
		"store": other(func(b *Binding) { b.StoreID = "8c1f2e9a5b3d4c7e9f0a1b2c3d4e5f61" }),
		"kind":  other(func(b *Binding) { b.Kind = KindKeyring }),
		// Length prefixes keep these apart though the concatenations match.
		"shifted": other(func(b *Binding) { b.Env, b.Name = "productionD", "B_PASSWORD" }),
	} {
		_, err := Open(dk, b, sealed)
		if !errors.Is(err, ErrSecret) {
			t.Errorf("%s: Open = %v, want ErrSecret", name, err)
			continue
		}
		if !strings.Contains(err.Error(), "copied from another name, environment or repository") {
			t.Errorf("%s: error %q does not name the likely cause", name, err)
		}
	}
	if _, err := Open(mustNewDataKey(t), katBinding, sealed); !errors.Is(err, ErrSecret) {
		t.Errorf("other data key: Open = %v, want ErrSecret", err)
	}
}

func TestOpenErrorsNeverShowValue(t *testing.T) {
	dk := katKey(t)
	for i := range len(katSealed) - 1 {
		bad := []byte(katSealed)
		bad[i] ^= 0x01
		_, err := Open(dk, katBinding, bad)
		if err == nil {
			t.Fatalf("flipping bit 0 of byte %d: Open succeeded", i)
		}
		if strings.Contains(err.Error(), "horse") {
			t.Fatalf("error shows the value: %v", err)
		}
	}
}

func TestBindingValidation(t *testing.T) {
	dk := mustNewDataKey(t)
	for _, b := range []Binding{
		{Env: "e", Kind: KindSecret, Name: "N"},
		{StoreID: "s", Kind: KindSecret, Name: "N"},
		{StoreID: "s", Env: "e", Kind: "other", Name: "N"},
		{StoreID: "s", Env: "e", Kind: KindSecret, Name: "../N"},
	} {
		if _, err := Seal(dk, b, nil); err == nil || errors.Is(err, ErrSecret) {
			t.Errorf("Seal(%+v) = %v, want a binding error", b, err)
		}
		if _, err := Open(dk, b, []byte(katSealed)); err == nil || errors.Is(err, ErrSecret) {
			t.Errorf("Open(%+v) = %v, want a binding error", b, err)
		}
	}
	var zero DataKey
	if _, err := Seal(&zero, katBinding, nil); err == nil {
		t.Error("Seal with a zero DataKey succeeded")
	}
	if _, err := Open(nil, katBinding, []byte(katSealed)); err == nil {
		t.Error("Open with a nil DataKey succeeded")
	}
}

func TestKindsUseDifferentSubkeys(t *testing.T) {
	dk := katKey(t)
	nonce, _ := hex.DecodeString(katNonceHex)
	ks := katBinding
	ks.Kind = KindKeyring
	a, _ := sealWithNonce(dk, katBinding, nonce, []byte("v"))
	b, _ := sealWithNonce(dk, ks, nonce, []byte("v"))
	// Same nonce and plaintext: only the key and the associated data differ,
	// and the ciphertext (before the tag) depends only on the key.
	if bytes.Equal(a[:len(sealedTag)+20], b[:len(sealedTag)+20]) {
		t.Error("secret and keyring ciphertexts agree: the kinds share a subkey")
	}
}

func TestOpenConcurrent(t *testing.T) {
	dk := mustNewDataKey(t)
	sealed, _ := Seal(dk, katBinding, []byte("v"))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				if pt, err := Open(dk, katBinding, sealed); err != nil || string(pt) != "v" {
					t.Errorf("Open = %q, %v", pt, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestDataKeyNeverPrinted(t *testing.T) {
	dk := katKey(t)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%d", "%q"} {
		for _, arg := range []any{dk, *dk} {
			out := fmt.Sprintf(verb, arg)
			if out != "cipher.DataKey{REDACTED}" {
				t.Errorf("Sprintf(%s, %T) = %q", verb, arg, out)
			}
		}
	}
	if out := fmt.Sprintf("%+v", struct {
		K *DataKey
		V DataKey
	}{dk, *dk}); strings.Count(out, "REDACTED") != 2 {
		t.Errorf("DataKey inside a struct prints %q", out)
	}
}

func TestDataKeyEqual(t *testing.T) {
	a, b := katKey(t), katKey(t)
	if !a.Equal(b) || a.Equal(mustNewDataKey(t)) || a.Equal(nil) || !(*DataKey)(nil).Equal(nil) {
		t.Error("Equal is wrong")
	}
}

var validNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]{0,127}$`)

func TestValidName(t *testing.T) {
	for _, tc := range []struct {
		name string
		want string // "" = valid; else a substring of the error
	}{
		{"DB_PASSWORD", ""},
		{"_x", ""},
		{"a.b-c_9", ""},
		{strings.Repeat("a", 128), ""},
		{"", "empty"},
		{strings.Repeat("a", 129), "(129 bytes): longer than 128"},
		{"../x", `"../x": '.' at the start`},
		{"a/b", `"a/b": '/' at byte 1`},
		{"9lives", `'9' at the start`},
		{"-rf", `'-' at the start`},
		{".hidden", `'.' at the start`},
		{"a b", `' ' at byte 1`},
		{"naïve", `'ï' at byte 2`},
		{"a\x00b", "(3 bytes): a control character at byte 1"},
		{"ok\x1b[31mred", "(10 bytes): a control character at byte 2"},
		{"a\u202eb", "(5 bytes): a character that is not allowed at byte 1"},
		{"a\xffb", "(3 bytes): a character that is not allowed at byte 1"},
	} {
		err := ValidName(tc.name)
		if (err == nil) != validNameRE.MatchString(tc.name) {
			t.Errorf("ValidName(%q) = %v, disagrees with the regexp", tc.name, err)
		}
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("ValidName(%q) = %v, want nil", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("ValidName(%q) = %v, want an error containing %q", tc.name, err, tc.want)
		}
		if err != nil && strings.ContainsAny(err.Error(), "\x00\x1b\u202e\xff") {
			t.Errorf("ValidName(%q) echoes a control character: %q", tc.name, err)
		}
	}
}

func TestCheckSealedAgreesWithOpen(t *testing.T) {
	dk := katKey(t)
	for _, s := range []string{
		katSealed,
		strings.TrimSuffix(katSealed, "\n"),
		strings.TrimSuffix(katSealed, "\n") + "\r\n",
		katSealed + "\n",
		katSealed + "x",
		"gitseal:v1:",
		"gitseal:v2:AAAA\n",
		"",
	} {
		_, openErr := Open(dk, katBinding, []byte(s))
		checkErr := CheckSealed([]byte(s))
		openParsed := openErr == nil || strings.Contains(openErr.Error(), "authentication failed")
		if openParsed != (checkErr == nil) {
			t.Errorf("%q: Open = %v but CheckSealed = %v", s, openErr, checkErr)
		}
		if errors.Is(openErr, ErrUnknownVersion) != errors.Is(checkErr, ErrUnknownVersion) {
			t.Errorf("%q: Open = %v but CheckSealed = %v", s, openErr, checkErr)
		}
	}
}
