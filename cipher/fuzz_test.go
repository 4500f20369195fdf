package cipher

// Fuzz targets for every parser this part of the package has. Their seeds
// (the vectors, plus a few hand-picked inputs) run as ordinary tests; run one
// for real with, for example:
//
//	go test ./cipher -run '^$' -fuzz '^FuzzOpen$' -fuzztime 60s

import (
	"bytes"
	"crypto/ed25519"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/ssh"
)

func FuzzOpen(f *testing.F) {
	var v sealedVectors
	readVectorFile(f, "sealed.json", &v)
	for _, c := range v.Cases {
		f.Add([]byte(c.Sealed))
	}
	f.Add([]byte("gitseal:v999999999:"))
	f.Add([]byte("gitseal:v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r"))
	dk := katKey(f)
	f.Fuzz(func(t *testing.T, sealed []byte) {
		pt, openErr := Open(dk, katBinding, sealed)
		checkErr := CheckSealed(sealed)
		// CheckSealed passes exactly the files Open gets to authenticate.
		reachedAEAD := openErr == nil || strings.Contains(openErr.Error(), "authentication failed")
		if reachedAEAD != (checkErr == nil) {
			t.Fatalf("Open = %v, CheckSealed = %v", openErr, checkErr)
		}
		if errors.Is(openErr, ErrUnknownVersion) != errors.Is(checkErr, ErrUnknownVersion) {
			t.Fatalf("Open = %v, CheckSealed = %v", openErr, checkErr)
		}
		if openErr != nil {
			if !errors.Is(openErr, ErrSecret) && !errors.Is(openErr, ErrUnknownVersion) {
				t.Fatalf("Open failed with neither ErrSecret nor ErrUnknownVersion: %v", openErr)
			}
			return
		}
		// A file that opens is the canonical file of its nonce and value,
		// up to the accepted terminators.
		raw, err := parseSealed(sealed)
		if err != nil {
			t.Fatal(err)
		}
		canon, err := sealWithNonce(dk, katBinding, raw[:sealNonceSize], pt)
		if err != nil {
			t.Fatal(err)
		}
		line := bytes.TrimSuffix(canon, []byte("\n"))
		if !bytes.Equal(sealed, canon) && !bytes.Equal(sealed, line) && !bytes.Equal(sealed, append(line, '\r', '\n')) {
			t.Fatalf("%q opens but is not canonical (%q)", sealed, canon)
		}
	})
}

// errorQuotesInput reports whether err's text contains a line of input long
// enough to be key material.
func errorQuotesInput(err error, input []byte) bool {
	for _, line := range strings.Split(string(input), "\n") {
		if line = strings.TrimSpace(line); len(line) >= 40 && strings.Contains(err.Error(), line) {
			return true
		}
	}
	return false
}

func checkRecipient(t *testing.T, r Recipient) {
	t.Helper()
	switch r.Type() {
	case "age", "ssh-ed25519", "ssh-rsa":
	default:
		t.Fatalf("recipient of type %q", r.Type())
	}
	if r.Fingerprint() == "" {
		t.Fatalf("recipient %q has no fingerprint", r.Key)
	}
	again, err := ParseRecipient(r.Key)
	if err != nil || again.Key != r.Key || again.Name != "" {
		t.Fatalf("ParseRecipient(Key %q) = %+v, %v", r.Key, again, err)
	}
	if r.Name != cleanName(r.Name) {
		t.Fatalf("Name %q is not clean", r.Name)
	}
}

func FuzzParseRecipients(f *testing.F) {
	var v recipientVectors
	readVectorFile(f, "recipients.json", &v)
	for _, c := range v.Cases {
		f.Add([]byte(c.Text))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := ParseRecipients(data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "line ") {
				t.Fatalf("error without a line number: %v", err)
			}
			if errorQuotesInput(err, data) {
				t.Fatalf("error quotes its input: %v", err)
			}
			return
		}
		for _, r := range rs {
			checkRecipient(t, r)
		}
		again, err := ParseRecipients(FormatRecipients(rs))
		if err != nil || fmt.Sprint(again) != fmt.Sprint(rs) {
			t.Fatalf("FormatRecipients does not round-trip: %v\n got %q\nwant %q", err, again, rs)
		}
	})
}

func FuzzParseRecipient(f *testing.F) {
	var v recipientVectors
	readVectorFile(f, "recipients.json", &v)
	for _, c := range v.Cases {
		for _, line := range strings.Split(c.Text, "\n") {
			f.Add(line)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRecipient(s)
		if err != nil {
			if errorQuotesInput(err, []byte(s)) {
				t.Fatalf("error quotes its input: %v", err)
			}
			return
		}
		checkRecipient(t, r)
	})
}

func FuzzParseIdentities(f *testing.F) {
	file, _, err := GenerateIdentity(time.Unix(0, 0))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(file)
	f.Add(append(append([]byte("# two\r\n"), file...), file...))
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	block, err := ssh.MarshalPrivateKey(priv, "fuzz")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(pem.EncodeToMemory(block))
	locked, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "fuzz", []byte("pw"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(pem.EncodeToMemory(locked))
	f.Add([]byte("AGE-SECRET-KEY-PQ-1X\n"))
	f.Add([]byte("-----BEGIN AGE ENCRYPTED FILE-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ids, err := ParseIdentities(data, "fuzz")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "reading identity fuzz: ") {
				t.Fatalf("error does not name the source: %v", err)
			}
			if errorQuotesInput(err, data) {
				t.Fatalf("error quotes its input: %v", err)
			}
			return
		}
		if len(ids.Recipients()) == 0 || len(ids.ids) == 0 || strings.Join(ids.Sources(), ",") != "fuzz" {
			t.Fatalf("parsed without identities: %d recipients, sources %v", len(ids.Recipients()), ids.Sources())
		}
		for _, r := range ids.Recipients() {
			checkRecipient(t, r)
		}
	})
}

func FuzzUnwrapDataKey(f *testing.F) {
	var v dataKeyVectors
	readVectorFile(f, "datakey.json", &v)
	for _, c := range v.Cases {
		f.Add([]byte(c.Armored))
	}
	ids, err := ParseIdentities([]byte(v.Identity), "vector identity")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, wrapped []byte) {
		checkErr := CheckWrappedDataKey(wrapped, ids.Recipients())
		if checkErr != nil && errors.Is(checkErr, ErrSecret) {
			t.Fatalf("a keyless check failed with ErrSecret: %v", checkErr)
		}
		dk, err := UnwrapDataKey(wrapped, ids)
		if err != nil {
			if !errors.Is(err, ErrSecret) && !errors.Is(err, ErrUnknownVersion) {
				t.Fatalf("failed with neither ErrSecret nor ErrUnknownVersion: %v", err)
			}
			return
		}
		if dk.aead(KindSecret) == nil || dk.aead(KindKeyring) == nil {
			t.Fatal("unwrapped a data key without its subkeys")
		}
	})
}

func FuzzParseWrappedPlaintext(f *testing.F) {
	f.Add([]byte(dataKeyTag + strings.Repeat("k", dataKeySize)))
	f.Add([]byte("gitseal-datakey:v2:" + strings.Repeat("k", dataKeySize)))
	f.Add([]byte(dataKeyTag))
	f.Fuzz(func(t *testing.T, p []byte) {
		dk, err := parseWrappedPlaintext(p)
		valid := len(p) == len(dataKeyTag)+dataKeySize && bytes.HasPrefix(p, []byte(dataKeyTag))
		if (err == nil) != valid {
			t.Fatalf("parseWrappedPlaintext(%q) = %v", p, err)
		}
		if err == nil && !bytes.Equal(dk.wrappedPlaintext(), p) {
			t.Fatal("wrappedPlaintext does not give the input back")
		}
	})
}

func FuzzValidName(f *testing.F) {
	for _, s := range []string{"DB_PASSWORD", "", "../x", "a\x00b", "naïve", strings.Repeat("x", 129), "a\u202eb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		err := ValidName(name)
		if (err == nil) != validNameRE.MatchString(name) {
			t.Fatalf("ValidName(%q) = %v, disagrees with the regexp", name, err)
		}
		if err != nil && (!utf8.ValidString(err.Error()) || strings.ContainsFunc(err.Error(), func(r rune) bool { return !unicode.IsPrint(r) })) {
			t.Fatalf("ValidName(%q) error has a non-printable character: %q", name, err)
		}
	})
}
