package publish

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitseal/gitseal/cipher"
	"github.com/gitseal/gitseal/repo"
)

// sgKey makes an ed25519 key with ssh-keygen: its signer and public key line.
func sgKey(t *testing.T, name string) (*cipher.Signer, string) {
	t.Helper()
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("ssh-keygen not installed")
	}
	path := filepath.Join(t.TempDir(), name)
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	s, err := cipher.LoadSigner(cipher.SignerSource{File: path, Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := os.ReadFile(path + ".pub")
	return s, strings.TrimSpace(string(pub))
}

func untrusted(err error) bool {
	return errors.Is(err, cipher.ErrUntrusted) && errors.Is(err, cipher.ErrSecret)
}

func TestSignedPublish(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	trusted, trustedPub := sgKey(t, "trusted")
	other, _ := sgKey(t, "other")
	trust := Options{TrustedPublishers: []string{trustedPub}}
	readOK := func(step string, o Options, want string) {
		t.Helper()
		v, _ := f.get(t, o)
		if v != want {
			t.Errorf("%s: read %q, want %q", step, v, want)
		}
	}
	refused := func(step string, o Options, says string) {
		t.Helper()
		s, err := f.open(t, o)
		if err == nil {
			s.Close()
			t.Fatalf("%s: a pin no trusted key signed was read", step)
		}
		if !untrusted(err) || !strings.Contains(err.Error(), says) {
			t.Fatalf("%s: err = %v; want ErrUntrusted saying %q", step, err, says)
		}
	}

	refused("trust set, nothing published", trust, "no publish history")
	if _, err := Publish(ctx, f.r, "default", f.c1.String()); err != nil {
		t.Fatal(err)
	}
	readOK("unsigned, no trust", Options{}, "v1")
	refused("unsigned publish", trust, "is not signed")

	res, err := PublishSigned(ctx, f.r, "default", f.c1.String(), trusted)
	if err != nil {
		t.Fatal(err)
	}
	if res.Signature == nil {
		t.Fatal("PublishSigned returned no signature")
	}
	readOK("signed by a trusted key", trust, "v1")
	f.vars["GITSEAL_TRUST"] = trustedPub
	readOK("GITSEAL_TRUST as key text", Options{}, "v1")
	trustFile := filepath.Join(t.TempDir(), "allowed_signers")
	os.WriteFile(trustFile, []byte("# release team\nrel@example.com "+trustedPub+"\n"), 0o644)
	f.vars["GITSEAL_TRUST"] = trustFile
	readOK("GITSEAL_TRUST as a file", Options{}, "v1")
	delete(f.vars, "GITSEAL_TRUST")

	// Real ssh-keygen verifies the stored signature over the spec's message.
	sigText := syGit(t, f.dir, "show", HistoryRef("default")+":signature")
	recText := syGit(t, f.dir, "show", HistoryRef("default")+":record") + "\n"
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "sig"), []byte(sigText+"\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "allowed"), []byte("rel "+trustedPub+"\n"), 0o644)
	verify := exec.Command("ssh-keygen", "-Y", "verify", "-f", filepath.Join(dir, "allowed"), "-I", "rel", "-n", "gitseal-publish", "-s", filepath.Join(dir, "sig"))
	verify.Stdin = bytes.NewReader(signedMessage(res.StoreID, []byte(recText)))
	if out, err := verify.CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen -Y verify of a stored publish signature: %v\n%s", err, out)
	}

	// A publish signed by a key that is not trusted.
	if _, err := PublishSigned(ctx, f.r, "default", f.c2.String(), other); err != nil {
		t.Fatal(err)
	}
	readOK("untrusted signer, no trust", Options{}, "v2")
	refused("signed by an untrusted key", trust, "not a trusted publisher key")
	// An explicit ref to the commit a trusted key did sign is still read;
	// HEAD, which only the untrusted key signed, is not.
	readOK("explicit ref to a signed publish", Options{Ref: f.c1.String(), TrustedPublishers: trust.TrustedPublishers}, "v1")
	refused("explicit ref to an untrusted publish", Options{Ref: "HEAD", TrustedPublishers: trust.TrustedPublishers}, "not a trusted publisher key")

	// Back to a trusted publish; then tamper: a record commit with the same
	// signature but another commit in the record.
	good, err := PublishSigned(ctx, f.r, "default", f.c1.String(), trusted)
	if err != nil {
		t.Fatal(err)
	}
	readOK("trusted again", trust, "v1")
	// An unsigned publish after a signed one does not inherit its signature.
	if _, err := Publish(ctx, f.r, "default", f.c1.String()); err != nil {
		t.Fatal(err)
	}
	refused("unsigned after signed", trust, "is not signed")
	if good, err = PublishSigned(ctx, f.r, "default", f.c1.String(), trusted); err != nil {
		t.Fatal(err)
	}
	forged := good.Record
	forged.Commit = f.c2
	forgedCommit, err := f.r.CommitOnRef(ctx, HistoryRef("default"), []repo.Change{
		{Path: recordFile, Data: forged.Marshal()}, {Path: signatureFile, Data: good.Signature}}, "forged")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.r.UpdateRef(PinRef("default"), f.c2, f.c1, "forged"); err != nil {
		t.Fatal(err)
	}
	refused("tampered record", trust, "does not match the signed content")
	// The pin moved by hand, the history left at the trusted record.
	if err := f.r.UpdateRef(HistoryRef("default"), good.RecordCommit, forgedCommit, "undo"); err != nil {
		t.Fatal(err)
	}
	refused("pin moved without a record", trust, "not this commit")
	if err := f.r.UpdateRef(PinRef("default"), f.c1, f.c2, "undo"); err != nil {
		t.Fatal(err)
	}
	readOK("restored", trust, "v1")

	// A signature does not carry over to another store.
	if err := checkRecord(good.Record, "default", strings.Repeat("0", 32), f.c1, mustKeys(t, trustedPub)); !untrusted(err) {
		t.Errorf("record verified for another store: %v", err)
	}

	// Bundles carry the record: a signed one opens under trust.
	bundle := filepath.Join(t.TempDir(), "b")
	var buf bytes.Buffer
	if _, err := WriteBundle(&buf, f.r, BundleOptions{Env: "default", Identity: f.ids}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(bundle, buf.Bytes(), 0o644)
	readOK("signed bundle", Options{Bundle: bundle, TrustedPublishers: trust.TrustedPublishers}, "v1")
	buf.Reset()
	if _, err := WriteBundle(&buf, f.r, BundleOptions{Env: "default", Rev: f.c2.String(), Identity: f.ids}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(bundle, buf.Bytes(), 0o644)
	readOK("bundle of an untrusted publish, no trust", Options{Bundle: bundle}, "v2")
	refused("bundle of an untrusted publish", Options{Bundle: bundle, TrustedPublishers: trust.TrustedPublishers}, "not a trusted publisher key")
	if _, err := Unpublish(ctx, f.r, "default"); err != nil {
		t.Fatal(err)
	}
	// HEAD is c2, which only the untrusted key published.
	refused("unpublished: HEAD", trust, "not a trusted publisher key")
	refused("a commit never published", Options{Ref: "HEAD~2", TrustedPublishers: trust.TrustedPublishers}, "no publish record of default pins this commit")
}

func mustKeys(t *testing.T, lines ...string) *cipher.TrustedKeys {
	t.Helper()
	k, err := cipher.LoadTrustedKeys(lines, "")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSignedPublishRemote(t *testing.T) {
	for _, daemon := range []bool{false, true} {
		name := map[bool]string{false: "file", true: "daemon"}[daemon]
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t)
			_, url := syRemote(t, f, daemon)
			trusted, trustedPub := sgKey(t, "trusted")
			o := Options{Remote: url, Identity: f.ids, Getenv: f.getenv, TrustedPublishers: []string{trustedPub}}
			if _, err := PublishSigned(ctx, f.r, "default", f.c1.String(), trusted); err != nil {
				t.Fatal(err)
			}
			if _, err := Push(ctx, f.r, url); err != nil {
				t.Fatal(err)
			}
			s, err := Open(ctx, o)
			if err != nil {
				t.Fatalf("signed pin on a remote: %v", err)
			}
			if v, _ := s.Get("DB"); string(v) != "v1" {
				t.Fatalf("read %q", v)
			}
			// Someone with push access moves the pin and history unsigned.
			if _, err := Publish(ctx, f.r, "default", f.c2.String()); err != nil {
				t.Fatal(err)
			}
			if _, err := Push(ctx, f.r, url); err != nil {
				t.Fatal(err)
			}
			if _, err := Open(ctx, o); !untrusted(err) {
				t.Fatalf("unsigned pin on a remote: %v", err)
			}
			o.Env = "default"
			if _, err := Open(ctx, o); !untrusted(err) {
				t.Fatalf("unsigned pin on a remote, env named: %v", err)
			}
		})
	}
}
