package cipher

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"filippo.io/age/armor"
)

// ageRecipients makes n age identities and their recipients.
func ageRecipients(t testing.TB, n int) (*Identities, []*Identities, []Recipient) {
	t.Helper()
	var all []*Identities
	var rs []Recipient
	for i := range n {
		file, pub, err := GenerateIdentity(time.Unix(0, 0))
		if err != nil {
			t.Fatal(err)
		}
		ids, err := ParseIdentities(file, fmt.Sprintf("id%d", i))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, ids)
		rs = append(rs, pub)
	}
	return all[0], all, rs
}

// stanzaTypes returns the recipient stanza types in an armored age file.
func stanzaTypes(t testing.TB, wrapped []byte) []string {
	t.Helper()
	bin, err := io.ReadAll(armor.NewReader(bytes.NewReader(wrapped)))
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, line := range strings.Split(string(bin), "\n") {
		if rest, ok := strings.CutPrefix(line, "-> "); ok {
			types = append(types, strings.Fields(rest)[0])
		}
		if strings.HasPrefix(line, "--- ") {
			break
		}
	}
	return types
}

func TestWrapUnwrapDataKey(t *testing.T) {
	_, all, rs := ageRecipients(t, 3)
	dk := mustNewDataKey(t)
	wrapped, err := WrapDataKey(dk, append(rs, rs[1]))
	if err != nil {
		t.Fatal(err)
	}
	if got := stanzaTypes(t, wrapped); strings.Join(got, ",") != "X25519,X25519,X25519" {
		t.Errorf("stanzas %v, want one X25519 per distinct recipient", got)
	}
	for i, ids := range all {
		got, err := UnwrapDataKey(wrapped, ids)
		if err != nil || !got.Equal(dk) {
			t.Errorf("recipient %d: %v", i, err)
		}
		// The unwrapped key seals what the original opens.
		sealed, _ := Seal(got, katBinding, []byte("v"))
		if pt, err := Open(dk, katBinding, sealed); err != nil || string(pt) != "v" {
			t.Errorf("recipient %d: unwrapped key does not interoperate: %v", i, err)
		}
	}
	// Someone else's identities, loaded from two sources.
	_, strangers, _ := ageRecipients(t, 2)
	both, err := ParseIdentities(append(mustFile(t), mustFile(t)...), "stranger")
	if err != nil {
		t.Fatal(err)
	}
	for _, ids := range []*Identities{strangers[0], both} {
		_, err := UnwrapDataKey(wrapped, ids)
		if !errors.Is(err, ErrSecret) || !strings.Contains(err.Error(), "no identity of yours") {
			t.Errorf("non-recipient: %v", err)
		}
	}
	// Two identities: the hint cannot name one key.
	_, err = UnwrapDataKey(wrapped, both)
	if !strings.Contains(err.Error(), "`gitseal recipient add YOUR_PUBLIC_KEY`") {
		t.Errorf("two identities: %v", err)
	}
	if _, err := UnwrapDataKey(wrapped, nil); !errors.Is(err, ErrNoIdentity) {
		t.Errorf("nil identities: %v", err)
	}
}

func mustFile(t testing.TB) []byte {
	file, _, err := GenerateIdentity(time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	return file
}

func TestWrapDataKeyErrors(t *testing.T) {
	_, _, rs := ageRecipients(t, 1)
	dk := mustNewDataKey(t)
	if _, err := WrapDataKey(dk, nil); err == nil || !strings.Contains(err.Error(), "no recipients") {
		t.Errorf("no recipients: %v", err)
	}
	if _, err := WrapDataKey(nil, rs); err == nil {
		t.Error("nil data key wrapped")
	}
	_, err := WrapDataKey(dk, []Recipient{rs[0], {Key: "ssh-ed25519 AAAA", Name: "bob"}})
	if err == nil || !strings.Contains(err.Error(), `recipient "bob"`) {
		t.Errorf("bad recipient: %v", err)
	}
}

func TestPassphraseWrap(t *testing.T) {
	restore := SetScryptWorkFactorForTesting(10)
	dk := mustNewDataKey(t)
	wrapped, err := WrapDataKeyPassphrase(dk, "open sesame")
	restore()
	if err != nil {
		t.Fatal(err)
	}
	if scryptLogN.Load() != 0 {
		t.Error("restore did not restore the default work factor")
	}
	bin, _ := io.ReadAll(armor.NewReader(bytes.NewReader(wrapped)))
	if !bytes.Contains(bin, []byte("\n-> scrypt ")) || !bytes.Contains(bin, []byte(" 10\n")) {
		t.Errorf("not an scrypt stanza with work factor 10:\n%s", bin)
	}
	if err := CheckWrappedDataKey(wrapped, nil); err == nil || !strings.Contains(err.Error(), `type "scrypt"`) {
		t.Errorf("CheckWrappedDataKey(passphrase file) = %v", err)
	}
	got, err := UnwrapDataKeyPassphrase(wrapped, "open sesame")
	if err != nil || !got.Equal(dk) {
		t.Errorf("UnwrapDataKeyPassphrase: %v", err)
	}
	for _, pass := range []string{"open sesame ", "Open sesame", ""} {
		if _, err := UnwrapDataKeyPassphrase(wrapped, pass); !errors.Is(err, ErrSecret) {
			t.Errorf("passphrase %q: %v, want ErrSecret", pass, err)
		} else if strings.Contains(err.Error(), "sesame") {
			t.Errorf("error shows the passphrase: %v", err)
		}
	}
	if _, err := WrapDataKeyPassphrase(dk, ""); err == nil {
		t.Error("empty passphrase accepted")
	}
}

// TestPassphraseDefaultWorkFactor: without the test hook, the file gets
// age's default work factor, 2^18. This runs scrypt once at that cost
// (about half a second, 256 MiB), the price of checking the real default.
func TestPassphraseDefaultWorkFactor(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: scrypt at the default work factor costs about 0.6 s and 256 MiB")
	}
	if scryptLogN.Load() != 0 {
		t.Fatal("the work factor hook is set outside a test that set it")
	}
	wrapped, err := WrapDataKeyPassphrase(mustNewDataKey(t), "x")
	if err != nil {
		t.Fatal(err)
	}
	bin, _ := io.ReadAll(armor.NewReader(bytes.NewReader(wrapped)))
	if !bytes.Contains(bin, []byte("\n-> scrypt ")) || !bytes.Contains(bin, []byte(" 18\n")) {
		t.Errorf("not an scrypt stanza with work factor 18:\n%s", bin)
	}
}

func BenchmarkOpen(b *testing.B) {
	dk := katKey(b)
	for _, sz := range []struct {
		name string
		n    int
	}{{"100B", 100}, {"1MiB", MaxValueSize}} {
		sealed, err := Seal(dk, katBinding, bytes.Repeat([]byte("a"), sz.n))
		if err != nil {
			b.Fatal(err)
		}
		b.Run("sealed/"+sz.name, func(b *testing.B) {
			b.SetBytes(int64(sz.n))
			for b.Loop() {
				if _, err := Open(dk, katBinding, sealed); err != nil {
					b.Fatal(err)
				}
			}
		})
		// The least any one-line base64 AEAD format can cost: decode, open.
		gcm := dk.aead(KindSecret)
		ad := katBinding.associatedData()
		b.Run("gcm+b64/"+sz.name, func(b *testing.B) {
			b.SetBytes(int64(sz.n))
			text := sealed[len(sealedTag) : len(sealed)-1]
			for b.Loop() {
				raw := make([]byte, len(text)/4*3)
				n, err := base64.StdEncoding.Decode(raw, text)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := gcm.Open(raw[12:12], raw[:12], raw[12:n], ad); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkSeal100B(b *testing.B) {
	dk := katKey(b)
	v := bytes.Repeat([]byte("a"), 100)
	for b.Loop() {
		if _, err := Seal(dk, katBinding, v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnwrapDataKey(b *testing.B) {
	for _, n := range []int{1, 10} {
		_, all, rs := ageRecipients(b, n)
		dk := mustNewDataKey(b)
		wrapped, err := WrapDataKey(dk, rs)
		if err != nil {
			b.Fatal(err)
		}
		// The worst case: the identity's stanza is the last one tried.
		ids := all[n-1]
		b.Run(fmt.Sprintf("recipients=%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := UnwrapDataKey(wrapped, ids); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
