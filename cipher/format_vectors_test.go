package cipher

// The vectors of FORMAT.md §8. `go test ./cipher -run Vectors
// -update-vectors` rewrites them; sealed.json is deterministic (fixed nonces)
// and TestSealedVectorsUpToDate insists the file matches its generator, so it
// cannot drift by hand edits. datakey.json and recipients.json hold random
// keys and are checked only by what they say.

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"filippo.io/age/armor"
	"golang.org/x/crypto/ssh"
)

var updateVectors = flag.Bool("update-vectors", false, "rewrite cipher/testdata/vectors/*.json")

// Expected outcomes, as the JSON spells them.
const (
	vecOK             = "ok"
	vecSecret         = "secret"          // an error wrapping ErrSecret
	vecUnknownVersion = "unknown_version" // an error wrapping ErrUnknownVersion
	vecMalformed      = "malformed"       // CheckSealed: any other error
)

type vecBinding struct {
	StoreID string `json:"store_id,omitempty"`
	Env     string `json:"env,omitempty"`
	Kind    string `json:"kind,omitempty"`
	Name    string `json:"name,omitempty"`
}

func (o vecBinding) over(b Binding) Binding {
	for _, f := range []struct {
		dst *string
		src string
	}{{&b.StoreID, o.StoreID}, {&b.Env, o.Env}, {&b.Kind, o.Kind}, {&b.Name, o.Name}} {
		if f.src != "" {
			*f.dst = f.src
		}
	}
	return b
}

type sealedVectors struct {
	Description string       `json:"description"`
	DataKeyHex  string       `json:"data_key_hex"`
	Binding     vecBinding   `json:"binding"`
	Cases       []sealedCase `json:"cases"`
}

type sealedCase struct {
	Name         string      `json:"name"`
	Sealed       string      `json:"sealed"`
	OpenBinding  *vecBinding `json:"open_binding,omitempty"` // fields that differ from the file's binding
	Open         string      `json:"open"`
	Check        string      `json:"check"`
	Layer        string      `json:"layer,omitempty"` // the step of FORMAT.md §2.3 that fails
	PlaintextHex *string     `json:"plaintext_hex,omitempty"`
}

func readVectorFile(t testing.TB, name string, v any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "vectors", name))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func writeVectorFile(t testing.TB, name string, v any) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join("testdata", "vectors"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("testdata", "vectors", name), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func strPtr(s string) *string { return &s }

// genSealedVectors builds sealed.json. It is deterministic.
func genSealedVectors(t testing.TB) sealedVectors {
	dk := katKey(t)
	b := katBinding
	nonce := func(first byte) []byte {
		n := make([]byte, sealNonceSize)
		for i := range n {
			n[i] = first + byte(i)
		}
		return n
	}
	seal := func(dk *DataKey, b Binding, n, pt []byte) string {
		s, err := sealWithNonce(dk, b, n, pt)
		if err != nil {
			t.Fatal(err)
		}
		return string(s)
	}
	valid := seal(dk, b, nonce(0xa0), []byte(katValue))
	line := strings.TrimSuffix(valid, "\n")
	raw, err := base64.StdEncoding.DecodeString(line[len(sealedTag):])
	if err != nil {
		t.Fatal(err)
	}
	payload := line[len(sealedTag):]
	reraw := func(f func([]byte) []byte) string {
		r := f(append([]byte(nil), raw...))
		return sealedTag + base64.StdEncoding.EncodeToString(r) + "\n"
	}
	flip := func(i int) func([]byte) []byte {
		return func(r []byte) []byte {
			if i < 0 {
				i += len(r)
			}
			r[i] ^= 0x01
			return r
		}
	}
	keyring := b
	keyring.Kind, keyring.Name = KindKeyring, "app_key"
	binValue := []byte{0x00, 0xff, '\n', '\r', 0x80, 'k'}
	var otherKey [dataKeySize]byte
	for i := range otherKey {
		otherKey[i] = 0xff - byte(i)
	}
	dkOther, err := newDataKey(otherKey)
	if err != nil {
		t.Fatal(err)
	}
	katHex := hex.EncodeToString([]byte(katValue))
	ok := func(name, sealed, ptHex string) sealedCase {
		return sealedCase{Name: name, Sealed: sealed, Open: vecOK, Check: vecOK, PlaintextHex: strPtr(ptHex)}
	}
	bad := func(name, sealed, layer string) sealedCase {
		c := sealedCase{Name: name, Sealed: sealed, Open: vecSecret, Check: vecMalformed, Layer: layer}
		if layer == "aead" {
			c.Check = vecOK // only the key can tell
		}
		return c
	}
	wrongBinding := func(name string, o vecBinding) sealedCase {
		c := bad(name, valid, "aead")
		c.OpenBinding = &o
		return c
	}
	keyringCase := ok("valid: keyring kind, binary value", seal(dk, keyring, nonce(0xc0), binValue), hex.EncodeToString(binValue))
	keyringCase.OpenBinding = &vecBinding{Kind: KindKeyring, Name: "app_key"}
	unknown := func(name, sealed string) sealedCase {
		return sealedCase{Name: name, Sealed: sealed, Open: vecUnknownVersion, Check: vecUnknownVersion, Layer: "tag"}
	}
	return sealedVectors{
		Description: "gitseal sealed files (cipher/FORMAT.md §2). Every case is opened with the data key and binding at the top, " +
			"changed by open_binding where given. open/check: ok, secret (wraps ErrSecret), unknown_version (wraps ErrUnknownVersion), " +
			"malformed (CheckSealed fails). layer: the step of FORMAT.md §2.3 that must fail.",
		DataKeyHex: hex.EncodeToString(dk.key[:]),
		Binding:    vecBinding{StoreID: b.StoreID, Env: b.Env, Kind: b.Kind, Name: b.Name},
		Cases: []sealedCase{
			ok("valid: the worked example", valid, katHex),
			ok("valid: CRLF terminator", line+"\r\n", katHex),
			ok("valid: no final newline", line, katHex),
			ok("valid: empty value", seal(dk, b, nonce(0xb0), nil), ""),
			keyringCase,
			bad("tampered ciphertext", reraw(flip(sealNonceSize)), "aead"),
			bad("tampered tag", reraw(flip(-1)), "aead"),
			bad("tampered nonce", reraw(flip(0)), "aead"),
			bad("truncated: 3 bytes of the tag cut", reraw(func(r []byte) []byte { return r[:len(r)-3] }), "aead"),
			bad("truncated: shorter than nonce and tag", reraw(func(r []byte) []byte { return r[:sealOverhead-1] }), "length"),
			bad("truncated: nothing after the tag", sealedTag+"\n", "length"),
			bad("truncated: inside the base64", line[:len(line)-1]+"\n", "base64"),
			unknown("unknown version v2", "gitseal:v2:"+payload+"\n"),
			unknown("unknown version v10", "gitseal:v10:"+payload+"\n"),
			bad("version tag without digits", "gitseal:v:"+payload+"\n", "tag"),
			bad("version tag without its colon", "gitseal:v1"+payload+"\n", "tag"),
			bad("upper-case tag", "GITSEAL:V1:"+payload+"\n", "tag"),
			bad("leading space", " "+valid, "tag"),
			bad("byte-order mark", "\uFEFF"+valid, "tag"),
			bad("empty file", "", "tag"),
			bad("trailing garbage after the newline", valid+"x", "framing"),
			bad("two final newlines", valid+"\n", "framing"),
			bad("a second line", valid+valid, "framing"),
			bad("lone CR terminator", line+"\r", "framing"),
			bad("line break inside the base64", sealedTag+payload[:8]+"\n"+payload[8:]+"\n", "framing"),
			bad("space before the newline", line+" \n", "base64"),
			bad("base64url alphabet", sealedTag+strings.NewReplacer("+", "-", "/", "_").Replace(payload)+"\n", "base64"),
			bad("padding removed", strings.TrimRight(line, "=")+"\n", "base64"),
			bad("non-zero unused bits", line[:len(line)-2]+"F=\n", "base64"),
			wrongBinding("copied to another name", vecBinding{Name: "DB_PASSWORD_OLD"}),
			wrongBinding("copied to another environment", vecBinding{Env: "staging"}),
			wrongBinding("copied from another store", vecBinding{StoreID: "8c1f2e9a5b3d4c7e9f0a1b2c3d4e5f61"}),
			wrongBinding("opened as another kind", vecBinding{Kind: KindKeyring}),
			wrongBinding("fields shifted (length prefixes)", vecBinding{Env: "productionD", Name: "B_PASSWORD"}),
			bad("sealed under another data key", seal(dkOther, b, nonce(0xa0), []byte(katValue)), "aead"),
		},
	}
}

func TestSealedVectors(t *testing.T) {
	if *updateVectors {
		writeVectorFile(t, "sealed.json", genSealedVectors(t))
	}
	var v sealedVectors
	readVectorFile(t, "sealed.json", &v)
	key, err := hex.DecodeString(v.DataKeyHex)
	if err != nil || len(key) != dataKeySize {
		t.Fatalf("data_key_hex: %v", err)
	}
	dk, err := newDataKey([dataKeySize]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	base := v.Binding.over(Binding{})
	negative := 0
	for _, c := range v.Cases {
		b := base
		if c.OpenBinding != nil {
			b = c.OpenBinding.over(base)
		}
		pt, err := Open(dk, b, []byte(c.Sealed))
		if got := vecOutcome(err); got != c.Open {
			t.Errorf("%s: Open = %v, want %s", c.Name, err, c.Open)
		}
		if c.Open == vecOK {
			if c.PlaintextHex == nil || hex.EncodeToString(pt) != *c.PlaintextHex {
				t.Errorf("%s: Open = %x, want %v", c.Name, pt, c.PlaintextHex)
			}
		} else {
			negative++
			if layer := sealedLayer(err); layer != c.Layer {
				t.Errorf("%s: failed at layer %q (%v), want %q", c.Name, layer, err, c.Layer)
			}
		}
		checkErr := CheckSealed([]byte(c.Sealed))
		got := vecOutcome(checkErr)
		if got == vecSecret {
			got = vecMalformed
		}
		if got != c.Check {
			t.Errorf("%s: CheckSealed = %v, want %s", c.Name, checkErr, c.Check)
		}
	}
	if negative < len(v.Cases)/2 {
		t.Errorf("only %d of %d cases are negative", negative, len(v.Cases))
	}
}

func TestSealedVectorsUpToDate(t *testing.T) {
	want, err := json.Marshal(genSealedVectors(t))
	if err != nil {
		t.Fatal(err)
	}
	var v sealedVectors
	readVectorFile(t, "sealed.json", &v)
	got, _ := json.Marshal(v)
	if !bytes.Equal(got, want) {
		t.Error("testdata/vectors/sealed.json differs from its generator; run go test ./cipher -run SealedVectors -update-vectors")
	}
}

// vecOutcome classifies an error the way the vectors name outcomes.
func vecOutcome(err error) string {
	switch {
	case err == nil:
		return vecOK
	case errors.Is(err, ErrUnknownVersion):
		return vecUnknownVersion
	case errors.Is(err, ErrSecret):
		return vecSecret
	}
	return vecMalformed
}

// sealedLayer tells from Open's error which step of FORMAT.md §2.3 failed.
func sealedLayer(err error) string {
	s := err.Error()
	switch {
	case errors.Is(err, ErrUnknownVersion), strings.Contains(s, "not a gitseal sealed file"):
		return "tag"
	case strings.Contains(s, "a sealed file is one line"), strings.Contains(s, "more than any sealed value"):
		return "framing"
	case strings.Contains(s, "after the version tag: base64"):
		return "base64"
	case strings.Contains(s, "truncated:"):
		return "length"
	case strings.Contains(s, "authentication failed"):
		return "aead"
	}
	return "unknown: " + s
}

func TestOpenRefusesOverlongLineBeforeDecoding(t *testing.T) {
	long := make([]byte, maxSealedLine+1)
	copy(long, sealedTag)
	for i := len(sealedTag); i < len(long); i++ {
		long[i] = 'A'
	}
	_, err := Open(katKey(t), katBinding, long)
	if !errors.Is(err, ErrSecret) || sealedLayer(err) != "framing" {
		t.Errorf("Open(overlong) = %v, want a framing error", err)
	}
	// The longest legitimate file is accepted by the framing step.
	sealed, err := Seal(katKey(t), katBinding, make([]byte, MaxValueSize))
	if err != nil {
		t.Fatal(err)
	}
	if len(sealed) != maxSealedLine+1 {
		t.Errorf("largest sealed file is %d bytes, maxSealedLine+1 = %d", len(sealed), maxSealedLine+1)
	}
}

// --- datakey.json ---

type dataKeyVectors struct {
	Description string        `json:"description"`
	Identity    string        `json:"identity"`
	Recipient   string        `json:"recipient"`
	Passphrase  string        `json:"passphrase"`
	DataKeyHex  string        `json:"data_key_hex"`
	Cases       []dataKeyCase `json:"cases"`
}

type dataKeyCase struct {
	Name          string `json:"name"`
	Armored       string `json:"armored"`
	UnwrapWith    string `json:"unwrap_with"` // "identity" or "passphrase"
	Passphrase    string `json:"passphrase,omitempty"`
	Expect        string `json:"expect"`
	Layer         string `json:"layer,omitempty"`
	ErrorContains string `json:"error_contains,omitempty"`
}

func genDataKeyVectors(t testing.TB) dataKeyVectors {
	restore := SetScryptWorkFactorForTesting(10)
	defer restore()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	other1, _ := age.GenerateX25519Identity()
	other2, _ := age.GenerateX25519Identity()
	var key [dataKeySize]byte
	for i := range key {
		key[i] = 0x20 + byte(i)
	}
	dk, err := newDataKey(key)
	if err != nil {
		t.Fatal(err)
	}
	const pass = "vector passphrase"
	encrypt := func(pt []byte, rs ...age.Recipient) string {
		out, err := ageEncryptArmored(pt, rs...)
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	valid := encrypt(dk.wrappedPlaintext(), id.Recipient())
	dearmor := func(s string) []byte {
		b, err := io.ReadAll(armor.NewReader(strings.NewReader(s)))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	rearmor := func(b []byte) string {
		var buf bytes.Buffer
		w := armor.NewWriter(&buf)
		w.Write(b)
		w.Close()
		return buf.String()
	}
	edit := func(f func([]byte) []byte) string { return rearmor(f(dearmor(valid))) }
	scrypt, err := age.NewScryptRecipient(pass)
	if err != nil {
		t.Fatal(err)
	}
	scrypt.SetWorkFactor(10)
	passValid := encrypt(dk.wrappedPlaintext(), scrypt)
	withTag := func(tag string, k []byte) []byte { return append([]byte(tag), k...) }

	const (
		noMatch = "no identity of yours"
		corrupt = "corrupt or was tampered with"
		badArm  = "not a valid armored age file"
	)
	c := func(name, armored, expect, layer, contains string) dataKeyCase {
		return dataKeyCase{Name: name, Armored: armored, UnwrapWith: "identity", Expect: expect, Layer: layer, ErrorContains: contains}
	}
	p := func(cs dataKeyCase, pass string) dataKeyCase {
		cs.UnwrapWith, cs.Passphrase = "passphrase", pass
		return cs
	}
	return dataKeyVectors{
		Description: "gitseal wrapped data keys (cipher/FORMAT.md §3). unwrap_with identity: UnwrapDataKey with the identity at the top; " +
			"passphrase: UnwrapDataKeyPassphrase with the case's passphrase. expect: ok (gives data_key_hex), secret, unknown_version. " +
			"layer: armor, age-header, age-recipient, age-payload or plaintext.",
		Identity:   id.String(),
		Recipient:  id.Recipient().String(),
		Passphrase: pass,
		DataKeyHex: hex.EncodeToString(key[:]),
		Cases: []dataKeyCase{
			c("valid", valid, vecOK, "", ""),
			c("valid: CRLF line endings", strings.ReplaceAll(valid, "\n", "\r\n"), vecOK, "", ""),
			c("valid: one of three recipients", encrypt(dk.wrappedPlaintext(), other1.Recipient(), id.Recipient(), other2.Recipient()), vecOK, "", ""),
			c("not a recipient", encrypt(dk.wrappedPlaintext(), other1.Recipient(), other2.Recipient()), vecSecret, "age-recipient", noMatch),
			c("recipient stanza body tampered", edit(func(b []byte) []byte {
				// The body is the line after the "-> X25519 ..." line.
				i := bytes.Index(b, []byte("\n-> X25519 "))
				j := i + 1 + bytes.IndexByte(b[i+1:], '\n') + 1
				b[j] = otherB64(b[j])
				return b
			}), vecSecret, "age-recipient", noMatch),
			c("header MAC tampered", edit(func(b []byte) []byte {
				i := bytes.Index(b, []byte("\n--- ")) + len("\n--- ")
				b[i] = otherB64(b[i])
				return b
			}), vecSecret, "age-header", corrupt),
			c("payload tampered", edit(func(b []byte) []byte { b[len(b)-1] ^= 1; return b }), vecSecret, "age-payload", corrupt),
			c("payload truncated", edit(func(b []byte) []byte { return b[:len(b)-5] }), vecSecret, "age-payload", corrupt),
			c("armor without its footer", strings.TrimSuffix(valid, "-----END AGE ENCRYPTED FILE-----\n"), vecSecret, "armor", badArm),
			c("armor with a bad base64 line", strings.Replace(valid, "\n", "\n!", 1), vecSecret, "armor", badArm),
			c("binary age file, not armored", string(dearmor(valid)), vecSecret, "armor", badArm),
			c("plaintext: version v2", encrypt(withTag("gitseal-datakey:v2:", key[:]), id.Recipient()), vecUnknownVersion, "plaintext", "upgrade gitseal"),
			c("plaintext: 31-byte key", encrypt(withTag(dataKeyTag, key[:31]), id.Recipient()), vecSecret, "plaintext", "is 31 bytes, not 32"),
			c("plaintext: 33-byte key", encrypt(withTag(dataKeyTag, append(key[:], 0)), id.Recipient()), vecSecret, "plaintext", "is 33 bytes, not 32"),
			c("plaintext: no version tag", encrypt(key[:], id.Recipient()), vecSecret, "plaintext", "does not start with"),
			c("passphrase file given to UnwrapDataKey", passValid, vecSecret, "age-recipient", "protected by a passphrase"),
			p(c("passphrase: valid", passValid, vecOK, "", ""), pass),
			p(c("passphrase: wrong passphrase", passValid, vecSecret, "age-recipient", "wrong passphrase"), pass+"!"),
			p(c("passphrase: a recipients file", valid, vecSecret, "age-recipient", "not protected by a passphrase"), pass),
		},
	}
}

func TestDataKeyVectors(t *testing.T) {
	if *updateVectors {
		writeVectorFile(t, "datakey.json", genDataKeyVectors(t))
	}
	var v dataKeyVectors
	readVectorFile(t, "datakey.json", &v)
	ids, err := ParseIdentities([]byte(v.Identity), "vector identity")
	if err != nil {
		t.Fatal(err)
	}
	if got := ids.Recipients(); len(got) != 1 || got[0].Key != v.Recipient {
		t.Fatalf("identity's recipient = %v, want %s", got, v.Recipient)
	}
	negative := 0
	for _, c := range v.Cases {
		var dk *DataKey
		var err error
		switch c.UnwrapWith {
		case "identity":
			dk, err = UnwrapDataKey([]byte(c.Armored), ids)
		case "passphrase":
			dk, err = UnwrapDataKeyPassphrase([]byte(c.Armored), c.Passphrase)
		default:
			t.Fatalf("%s: unwrap_with %q", c.Name, c.UnwrapWith)
		}
		if got := vecOutcome(err); got != c.Expect {
			t.Errorf("%s: %v, want %s", c.Name, err, c.Expect)
			continue
		}
		if c.Expect == vecOK {
			if got := hex.EncodeToString(dk.key[:]); got != v.DataKeyHex {
				t.Errorf("%s: data key %s, want %s", c.Name, got, v.DataKeyHex)
			}
			continue
		}
		negative++
		if !strings.Contains(err.Error(), c.ErrorContains) {
			t.Errorf("%s (layer %s): error %q does not contain %q", c.Name, c.Layer, err, c.ErrorContains)
		}
	}
	if negative < len(v.Cases)/2 {
		t.Errorf("only %d of %d cases are negative", negative, len(v.Cases))
	}
}

// --- recipients.json ---

type recipientVectors struct {
	Description string          `json:"description"`
	Cases       []recipientCase `json:"cases"`
}

type recipientCase struct {
	Name          string      `json:"name"`
	Text          string      `json:"text"`
	Keys          []Recipient `json:"keys,omitempty"`
	ErrorLine     int         `json:"error_line,omitempty"`
	ErrorContains string      `json:"error_contains,omitempty"`
}

func genRecipientVectors(t testing.TB) recipientVectors {
	ageID, _ := age.GenerateX25519Identity()
	ageKey := ageID.Recipient().String()
	sshText := func(pub any) string {
		pk, err := ssh.NewPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pk)))
	}
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	ed2Pub, _, _ := ed25519.GenerateKey(rand.Reader)
	ed := sshText(edPub)
	ed2 := sshText(ed2Pub)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaText := sshText(&rsaKey.PublicKey)
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	secret, _ := age.GenerateX25519Identity()
	edBlob := strings.Fields(ed)[1]

	canonical := string(FormatRecipients([]Recipient{{Key: ageKey, Name: "Alice"}, {Key: ed, Name: "deploy@ci"}, {Key: rsaText}}))
	ok := func(name, text string, keys ...Recipient) recipientCase {
		return recipientCase{Name: name, Text: text, Keys: keys}
	}
	bad := func(name, text string, line int, contains string) recipientCase {
		return recipientCase{Name: name, Text: text, ErrorLine: line, ErrorContains: contains}
	}
	return recipientVectors{
		Description: "recipients files (cipher/FORMAT.md §4): ParseRecipients(text) gives keys, or an error naming error_line and containing error_contains.",
		Cases: []recipientCase{
			ok("canonical file with labels", canonical, Recipient{ageKey, "Alice"}, Recipient{ed, "deploy@ci"}, Recipient{rsaText, ""}),
			ok("ssh .pub file: comment becomes the name", ed+" alice@laptop\n", Recipient{ed, "alice@laptop"}),
			ok("GitHub .keys list", ed+"\n"+rsaText+"\n", Recipient{ed, ""}, Recipient{rsaText, ""}),
			ok("label overrides the ssh comment", "# name: Bob\n"+ed+" bob@old\n", Recipient{ed, "Bob"}),
			ok("CRLF, byte-order mark, indentation, tab", "\uFEFF# name:  Carol \r\n  "+ageKey+"\r\n"+strings.Replace(ed, " ", "\t", 1)+"\t c2 \r\n", Recipient{ageKey, "Carol"}, Recipient{ed, "c2"}),
			ok("label dropped by a blank line", "# name: Dan\n\n"+ageKey+"\n", Recipient{ageKey, ""}),
			ok("label dropped by another comment", "# name: Dan\n# laptop\n"+ageKey+"\n", Recipient{ageKey, ""}),
			ok("control characters in a label", "# name: a\x1b[31mb\n"+ageKey+"\n", Recipient{ageKey, "a [31mb"}),
			ok("only comments", "# nobody yet\n\n"),
			bad("age key with trailing text", ageKey+" alice\n", 1, "unexpected text after the age public key"),
			bad("ECDSA key", ed+"\n"+sshText(&ec.PublicKey)+"\n", 2, "ecdsa-sha2-nistp256 keys are not supported"),
			bad("hardware security key", "sk-ssh-ed25519@openssh.com AAAA\n", 1, "hardware security keys"),
			bad("SSH certificate", "ssh-ed25519-cert-v01@openssh.com AAAA\n", 1, "certificates are not supported"),
			bad("age secret key pasted", "\n"+secret.String()+"\n", 2, "age SECRET key"),
			bad("private key file", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE=\n", 1, "private key file"),
			bad("same key twice", ed+"\n"+ageKey+"\n"+ed+" again\n", 3, "the same key as line 1"),
			bad("ssh-rsa of 1024 bits", sshText(&weak.PublicKey)+"\n", 1, "1024 bits is too weak"),
			bad("key data not canonical base64", "ssh-ed25519 "+edBlob+"A\n", 1, "ssh-ed25519 key data: base64"),
			bad("type and key data disagree", "ssh-rsa "+edBlob+"\n", 1, "the line says ssh-rsa but the key data is ssh-ed25519"),
			bad("key data is not a key", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5\n", 1, "not a valid SSH public key"),
			bad("age key with a bad checksum", ageKey[:len(ageKey)-1]+string(otherB64(ageKey[len(ageKey)-1]))+"\n", 1, "malformed age public key"),
			bad("post-quantum age key", "age1pq1qqqq\n", 1, "post-quantum"),
			bad("age plugin key", "age1yubikey1qqqq\n", 1, "plugin"),
			bad("garbage", "# ok\n"+ed2+"\nhello world\n", 3, "not a public key"),
		},
	}
}

func TestRecipientVectors(t *testing.T) {
	if *updateVectors {
		writeVectorFile(t, "recipients.json", genRecipientVectors(t))
	}
	var v recipientVectors
	readVectorFile(t, "recipients.json", &v)
	for _, c := range v.Cases {
		rs, err := ParseRecipients([]byte(c.Text))
		if c.ErrorContains == "" {
			if err != nil {
				t.Errorf("%s: %v", c.Name, err)
				continue
			}
			if fmt.Sprint(rs) != fmt.Sprint(c.Keys) {
				t.Errorf("%s:\n got %v\nwant %v", c.Name, rs, c.Keys)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: parsed, want an error", c.Name)
			continue
		}
		if prefix := fmt.Sprintf("line %d: ", c.ErrorLine); !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), c.ErrorContains) {
			t.Errorf("%s: error %q, want %q...%q", c.Name, err, prefix, c.ErrorContains)
		}
		// No error quotes its input: check every long word of the text
		// except the fixed key type names errors may give.
		for _, w := range strings.Fields(c.Text) {
			if _, isType := unsupportedSSHTypes[w]; !isType && len(w) >= 16 && strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q quotes the input", c.Name, err)
			}
		}
	}
}

// otherB64 is a character other than c that is valid in both base64 and
// Bech32 text, for tampering that keeps a file's syntax.
func otherB64(c byte) byte {
	if c == 'q' {
		return 'p'
	}
	return 'q'
}
