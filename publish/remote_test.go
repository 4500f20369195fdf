package publish

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/gitseal/gitseal/repo"
)

func TestOpenRemote(t *testing.T) {
	for _, daemon := range []bool{false, true} {
		name := map[bool]string{false: "file", true: "daemon"}[daemon]
		t.Run(name, func(t *testing.T) { testOpenRemote(t, daemon) })
	}
}

func testOpenRemote(t *testing.T, daemon bool) {
	ctx := context.Background()
	f := newFixture(t)
	bare, url := syRemote(t, f, daemon)
	syGit(t, bare, "symbolic-ref", "HEAD", "refs/heads/main")
	// The runtime runs where there is no repository at all.
	nowhere := t.TempDir()
	read := func(step string, o Options, want, from string) *Secrets {
		t.Helper()
		o.Remote, o.Dir, o.Identity, o.Getenv = url, nowhere, f.ids, f.getenv
		s, err := Open(ctx, o)
		if err != nil {
			t.Fatalf("%s: Open: %v", step, err)
		}
		v, err := s.Get("DB")
		if err != nil {
			t.Fatalf("%s: Get: %v", step, err)
		}
		if string(v) != want || s.From() != from {
			t.Errorf("%s: read %q from %s, want %q from %s", step, v, s.From(), want, from)
		}
		return s
	}
	read("nothing published: the remote's HEAD", Options{}, "v2", FromHead)
	if _, err := Publish(ctx, f.r, "default", f.c1.String()); err != nil {
		t.Fatal(err)
	}
	read("published locally, not pushed", Options{}, "v2", FromHead)
	if _, err := Push(ctx, f.r, url); err != nil {
		t.Fatal(err)
	}
	s := read("the remote's pin", Options{}, "v1", FromPin)
	if s.Commit() != f.c1 || s.Env() != "default" {
		t.Errorf("commit %s env %s", s.Commit(), s.Env())
	}
	ct, err := s.EncryptWithKey("app_key", []byte("row"))
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := s.DecryptWithKey("app_key", ct); err != nil || string(pt) != "row" {
		t.Fatalf("DecryptWithKey = %q, %v", pt, err)
	}
	if names := s.Names(); len(names) != 1 || names[0] != "DB" {
		t.Errorf("Names = %v", names)
	}
	read("named environment", Options{Env: "default"}, "v1", FromPin)
	read("explicit ref name", Options{Ref: "main"}, "v2", FromRef)
	read("explicit full ref", Options{Ref: "refs/heads/main"}, "v2", FromRef)
	read("explicit commit at a ref", Options{Ref: f.c1.String()}, "v1", FromRef)
	f.vars["GITSEAL_REF"] = "main"
	read("GITSEAL_REF", Options{}, "v2", FromEnvRef)
	delete(f.vars, "GITSEAL_REF")

	pinFile := filepath.Join(t.TempDir(), "pin")
	res, err := Publish(ctx, f.r, "default", f.c2.String())
	if err != nil {
		t.Fatal(err)
	}
	WritePinFile(pinFile, PinFile{Env: "default", Commit: res.Commit, StoreID: res.StoreID})
	// c2 is the remote's main: advertised, so it can be fetched.
	read("pin file", Options{PinFile: pinFile}, "v2", FromPinFile)

	// A commit no remote ref points at: refused by a default git server.
	if _, err := Publish(ctx, f.r, "default", f.c1.String()); err != nil {
		t.Fatal(err)
	}
	syGit(t, f.dir, "push", "-q", "-f", bare, f.c1.String()+":refs/heads/main")
	if _, err := Push(ctx, f.r, url); err != nil {
		t.Fatal(err)
	}
	_, err = Open(ctx, Options{Remote: url, Ref: f.c2.String(), Identity: f.ids, Getenv: f.getenv})
	if !errors.Is(err, repo.ErrNotAdvertised) {
		t.Fatalf("unadvertised commit: %v", err)
	}
	syGit(t, bare, "config", "uploadpack.allowAnySHA1InWant", "true")
	read("unadvertised commit, allowed", Options{Ref: f.c2.String()}, "v2", FromRef)

	// Errors: an unknown ref, an environment that is not there, no
	// repository at the URL.
	if _, err := Open(ctx, Options{Remote: url, Ref: "nope", Identity: f.ids, Getenv: f.getenv}); !errors.Is(err, repo.ErrRevisionNotFound) {
		t.Errorf("unknown ref: %v", err)
	}
	if _, err := Open(ctx, Options{Remote: url, Env: "prod", Identity: f.ids, Getenv: f.getenv}); !errors.Is(err, ErrEnvNotFound) {
		t.Errorf("missing environment: %v", err)
	}
	if _, err := Open(ctx, Options{Remote: "file://" + filepath.Join(nowhere, "x.git"), Identity: f.ids, Getenv: f.getenv}); err == nil {
		t.Error("open of a missing remote succeeded")
	}
	if _, err := Open(ctx, Options{Remote: url, Bundle: pinFile}); err == nil {
		t.Error("Remote and Bundle together were accepted")
	}
	// Nothing was written where the runtime ran.
	if ents, _ := os.ReadDir(nowhere); len(ents) != 0 {
		t.Errorf("loading from a remote wrote %v", ents)
	}
}
