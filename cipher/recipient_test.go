package cipher

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"filippo.io/age"
	"golang.org/x/crypto/ssh"
)

// testEd25519 returns a fixed ed25519 key (from seed) and its public key line.
func testEd25519(t testing.TB, seed byte) (ed25519.PrivateKey, string) {
	t.Helper()
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
	pk, err := ssh.NewPublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	return priv, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pk)))
}

func newAgeIdentity(t testing.TB) *age.X25519Identity {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestParseRecipient(t *testing.T) {
	ageKey := newAgeIdentity(t).Recipient().String()
	_, ed := testEd25519(t, 1)
	for _, tc := range []struct {
		in, key, name, typ string
	}{
		{ageKey, ageKey, "", "age"},
		{"  " + ageKey + "\n", ageKey, "", "age"},
		{ed, ed, "", "ssh-ed25519"},
		{ed + " alice@laptop", ed, "alice@laptop", "ssh-ed25519"},
		{ed + "  two  words \r\n", ed, "two  words", "ssh-ed25519"},
	} {
		r, err := ParseRecipient(tc.in)
		if err != nil {
			t.Errorf("ParseRecipient(%q): %v", tc.in, err)
			continue
		}
		if r.Key != tc.key || r.Name != tc.name || r.Type() != tc.typ {
			t.Errorf("ParseRecipient(%q) = %+v (type %s), want %s %q %s", tc.in, r, r.Type(), tc.key, tc.name, tc.typ)
		}
	}
	for _, in := range []string{"", ageKey + "\n" + ageKey, "ssh-ed25519", "ssh-ed25519 !!!!", "AGE-SECRET-KEY-1QQQQ"} {
		_, err := ParseRecipient(in)
		if err == nil || !strings.HasPrefix(err.Error(), "parsing recipient: ") {
			t.Errorf("ParseRecipient(%q) = %v, want a parsing recipient error", in, err)
		}
	}
}

func TestRecipientFingerprint(t *testing.T) {
	ageKey := newAgeIdentity(t).Recipient().String()
	r, _ := ParseRecipient(ageKey)
	sum := sha256.Sum256([]byte(ageKey))
	if want := "age:" + hex.EncodeToString(sum[:6]); r.Fingerprint() != want {
		t.Errorf("age fingerprint %q, want %q", r.Fingerprint(), want)
	}
	_, ed := testEd25519(t, 2)
	r, _ = ParseRecipient(ed)
	pk, _, _, _, _ := ssh.ParseAuthorizedKey([]byte(ed))
	if want := ssh.FingerprintSHA256(pk); r.Fingerprint() != want {
		t.Errorf("ssh fingerprint %q, want %q", r.Fingerprint(), want)
	}
	if fp := (Recipient{Key: "ssh-ed25519 !"}).Fingerprint(); fp != "" {
		t.Errorf("fingerprint of a bad key = %q, want empty", fp)
	}
}

func TestFormatRecipientsRoundTrip(t *testing.T) {
	a1 := newAgeIdentity(t).Recipient().String()
	a2 := newAgeIdentity(t).Recipient().String()
	_, ed := testEd25519(t, 3)
	in := []Recipient{
		{Key: a1, Name: "Alice"},
		{Key: ed, Name: "deploy\x1b[2J\nci "},
		{Key: a2},
		{Key: a1, Name: "Alice again"}, // dropped: first one wins
	}
	out := FormatRecipients(in)
	if !bytes.HasPrefix(out, []byte("# gitseal recipients")) {
		t.Errorf("no header comment:\n%s", out)
	}
	got, err := ParseRecipients(out)
	if err != nil {
		t.Fatalf("ParseRecipients(FormatRecipients): %v\n%s", err, out)
	}
	want := []Recipient{{a1, "Alice"}, {ed, "deploy [2J ci"}, {a2, ""}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("round trip:\n got %q\nwant %q", got, want)
	}
	// Parse → Format → Parse is the identity on what Parse returns.
	again, _ := ParseRecipients(FormatRecipients(got))
	if fmt.Sprint(again) != fmt.Sprint(got) {
		t.Errorf("second round trip: %q", again)
	}
	// age's own parser reads a canonical file of age keys (what `age -R`
	// does, less SSH keys, which its library parser leaves to the CLI).
	ages, err := age.ParseRecipients(bytes.NewReader(FormatRecipients([]Recipient{{Key: a1, Name: "A"}, {Key: a2}})))
	if err != nil || len(ages) != 2 {
		t.Errorf("age.ParseRecipients(canonical file) = %d, %v", len(ages), err)
	}
}

// TestParseRecipientsSkipping: keys age cannot encrypt to (here every such
// case of the recipients vectors) are left out and described, with their
// line; every other bad line is still an error, as ParseRecipients has it.
func TestParseRecipientsSkipping(t *testing.T) {
	var v recipientVectors
	readVectorFile(t, "recipients.json", &v)
	unsupported := 0
	for _, c := range v.Cases {
		want, wantErr := ParseRecipients([]byte(c.Text))
		got, skipped, err := ParseRecipientsSkipping([]byte(c.Text))
		if !errors.Is(wantErr, ErrUnsupportedKey) {
			if (err == nil) != (wantErr == nil) || len(got) != len(want) || len(skipped) != 0 {
				t.Errorf("%s: skipping gives %d keys, %q, %v; ParseRecipients gives %d keys, %v", c.Name, len(got), skipped, err, len(want), wantErr)
			}
			continue
		}
		unsupported++
		prefix := fmt.Sprintf("line %d: ", c.ErrorLine)
		if err != nil || len(skipped) != 1 || !strings.HasPrefix(skipped[0], prefix) || !strings.Contains(skipped[0], c.ErrorContains) {
			t.Errorf("%s: skipping gives %v, skipped %q; want the line %d described", c.Name, err, skipped, c.ErrorLine)
		}
		if c.ErrorLine == 2 && len(got) != 1 {
			t.Errorf("%s: skipping kept %d keys, want the good one before the skipped line", c.Name, len(got))
		}
	}
	if unsupported < 3 {
		t.Fatalf("only %d vector cases are unsupported key types; the test needs ECDSA, sk- and certificates", unsupported)
	}
}
