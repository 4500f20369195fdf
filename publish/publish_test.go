package publish

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gitseal/gitseal/cipher"
	"github.com/gitseal/gitseal/repo"
	"github.com/gitseal/gitseal/versioning"
)

// fixture is a real repository with a store whose default environment has
// DB at "v1" in commit c1 and "v2" in c2 (HEAD), and a named key.
type fixture struct {
	dir    string
	ids    cipher.IdentitySource
	getenv func(string) string
	vars   map[string]string
	c1, c2 repo.Hash
	r      *repo.Repo
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{dir: dir, vars: map[string]string{
		"GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "a@example.com",
		"GIT_COMMITTER_NAME": "Publisher", "GIT_COMMITTER_EMAIL": "pub@example.com",
	}}
	for k, v := range f.vars {
		t.Setenv(k, v)
	}
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	t.Setenv("GIT_CONFIG_GLOBAL", filepath.Join(dir, "gitconfig"))
	f.getenv = func(k string) string { return f.vars[k] }
	if _, err := repo.Init(dir, repo.InitOptions{}); err != nil {
		t.Fatal(err)
	}
	idFile, pub, err := cipher.GenerateIdentity(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(t.TempDir(), "id.key")
	if err := os.WriteFile(keyPath, idFile, 0o600); err != nil {
		t.Fatal(err)
	}
	f.ids = cipher.IdentitySource{File: keyPath, Getenv: f.getenv}
	s, err := versioning.Open(dir, versioning.Options{Identity: f.ids})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if _, err := s.Init(ctx, versioning.InitOptions{Recipients: []cipher.Recipient{pub}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.KeyCreate(ctx, "", "app_key", 128, versioning.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err := s.Set(ctx, "", "DB", []byte("v1"), versioning.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f.c1 = res.Commit
	if res, err = s.Set(ctx, "", "DB", []byte("v2"), versioning.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	f.c2 = res.Commit
	if f.r, err = repo.Open(dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.r.Close() })
	return f
}

func (f *fixture) open(t *testing.T, o Options) (*Secrets, error) {
	t.Helper()
	o.Dir, o.Identity, o.Getenv = f.dir, f.ids, f.getenv
	return Open(context.Background(), o)
}

func (f *fixture) get(t *testing.T, o Options) (string, string) {
	t.Helper()
	s, err := f.open(t, o)
	if err != nil {
		t.Fatalf("Open(%+v): %v", o, err)
	}
	defer s.Close()
	v, err := s.Get("DB")
	if err != nil {
		t.Fatal(err)
	}
	return string(v), s.From()
}

func TestResolutionOrder(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	check := func(step string, o Options, want, from string) {
		t.Helper()
		v, got := f.get(t, o)
		if v != want || got != from {
			t.Errorf("%s: read %q from %s, want %q from %s", step, v, got, want, from)
		}
	}
	check("nothing pinned", Options{}, "v2", FromHead)
	if _, err := Publish(ctx, f.r, "default", f.c1.String()); err != nil {
		t.Fatal(err)
	}
	check("pin", Options{}, "v1", FromPin)
	pinFile := filepath.Join(t.TempDir(), "pin")
	res, err := Publish(ctx, f.r, "default", "HEAD")
	if err != nil {
		t.Fatal(err)
	}
	if err := WritePinFile(pinFile, PinFile{Env: "default", Commit: res.Commit, StoreID: res.StoreID}); err != nil {
		t.Fatal(err)
	}
	if _, err := Publish(ctx, f.r, "default", f.c1.String()); err != nil {
		t.Fatal(err)
	}
	check("pin again", Options{}, "v1", FromPin)
	check("Options.PinFile over the pin", Options{PinFile: pinFile}, "v2", FromPinFile)
	f.vars["GITSEAL_PIN_FILE"] = pinFile
	check("GITSEAL_PIN_FILE over the pin", Options{}, "v2", FromPinFile)
	f.vars["GITSEAL_REF"] = f.c1.String()
	check("GITSEAL_REF over the pin file", Options{}, "v1", FromEnvRef)
	check("Options.Ref over GITSEAL_REF", Options{Ref: "HEAD"}, "v2", FromRef)
	delete(f.vars, "GITSEAL_REF")
	delete(f.vars, "GITSEAL_PIN_FILE")
	if _, err := Unpublish(ctx, f.r, "default"); err != nil {
		t.Fatal(err)
	}
	check("unpublished", Options{}, "v2", FromHead)

	// Uncommitted edits are never read.
	os.WriteFile(filepath.Join(f.dir, ".gitseal/default/secrets/DB"), []byte("garbage\n"), 0o644)
	check("dirty work tree", Options{}, "v2", FromHead)
}

func TestPublishHistory(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := Publish(ctx, f.r, "default", "no-such-rev"); !errors.Is(err, repo.ErrRevisionNotFound) {
		t.Fatalf("publish at a bad rev: %v", err)
	}
	if _, err := Publish(ctx, f.r, "nope", ""); !errors.Is(err, versioning.ErrEnvNotFound) {
		t.Fatalf("publish of a missing env: %v", err)
	}
	if refs, _ := f.r.Refs("refs/gitseal/"); len(refs) != 0 {
		t.Fatalf("failed publishes wrote refs: %v", refs)
	}
	r1, err := Publish(ctx, f.r, "default", f.c1.String())
	if err != nil {
		t.Fatal(err)
	}
	r2, err := Publish(ctx, f.r, "default", "")
	if err != nil {
		t.Fatal(err)
	}
	// the same commit again is recorded too
	r3, err := Publish(ctx, f.r, "default", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Unpublish(ctx, f.r, "default"); err != nil {
		t.Fatal(err)
	}
	if _, err := Unpublish(ctx, f.r, "default"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second unpublish: %v", err)
	}
	hist, err := History(f.r, "default")
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 4 {
		t.Fatalf("history has %d records, want 4", len(hist))
	}
	want := []struct {
		action         string
		commit, before repo.Hash
	}{
		{ActionUnpublish, repo.ZeroHash, f.c2},
		{ActionPublish, f.c2, f.c2},
		{ActionPublish, f.c2, f.c1},
		{ActionPublish, f.c1, repo.ZeroHash},
	}
	for i, w := range want {
		h := hist[i]
		if h.Action != w.action || h.Commit != w.commit || h.Previous != w.before || h.Seq != 4-i {
			t.Errorf("record %d: %+v, want %+v", i, h, w)
		}
		if h.Publisher != "Publisher <pub@example.com>" {
			t.Errorf("record %d: publisher %q", i, h.Publisher)
		}
	}
	if r1.Seq != 1 || r2.Seq != 2 || r3.Seq != 3 {
		t.Errorf("seqs %d %d %d", r1.Seq, r2.Seq, r3.Seq)
	}
	// git agrees the history is a sound chain
	out, err := exec.Command("git", "-C", f.dir, "rev-list", "--count", HistoryRef("default")).Output()
	if err != nil || strings.TrimSpace(string(out)) != "4" {
		t.Fatalf("git rev-list: %q %v", out, err)
	}
	if out, err := exec.Command("git", "-C", f.dir, "fsck", "--strict", "--no-progress").CombinedOutput(); err != nil {
		t.Fatalf("git fsck: %v\n%s", err, out)
	}
}

func TestRecordAndPinFileFormats(t *testing.T) {
	h, _ := repo.ParseHash(strings.Repeat("ab", 20))
	rec := Record{Env: "production", Action: ActionPublish, Commit: h, Publisher: "P <p@x>",
		Time: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC), Seq: 7}
	data := rec.Marshal()
	want := "gitseal-publish v1\nenv production\naction publish\ncommit " + h.String() +
		"\nprevious -\npublisher P <p@x>\ntime 2024-05-01T12:00:00Z\nseq 7\n"
	if string(data) != want {
		t.Fatalf("record:\n%s\nwant:\n%s", data, want)
	}
	got, err := ParseRecord(data)
	if err != nil || !reflect.DeepEqual(got, rec) {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	for _, bad := range []string{
		"",
		strings.Replace(want, "v1", "v2", 1),
		strings.Replace(want, "seq 7", "seq 07", 1),
		strings.Replace(want, "seq 7", "seq 0", 1),
		strings.Replace(want, "action publish", "action delete", 1),
		strings.Replace(want, "env production", "env ../x", 1),
		strings.Replace(want, "commit "+h.String(), "commit -", 1),
		strings.TrimSuffix(want, "\n"),
		want + "extra x\n",
	} {
		if _, err := ParseRecord([]byte(bad)); err == nil {
			t.Errorf("ParseRecord accepted %q", bad)
		}
	}
	p := PinFile{Env: "production", Commit: h, StoreID: strings.Repeat("0f", 16)}
	pp, err := ParsePinFile(p.Marshal())
	if err != nil || pp != p {
		t.Fatalf("pin file round trip: %+v %v", pp, err)
	}
	if _, err := ParsePinFile([]byte("gitseal-pin v9\n")); err == nil || !strings.Contains(err.Error(), "upgrade") {
		t.Errorf("unknown pin file version: %v", err)
	}
}

func TestBundle(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var buf bytes.Buffer
	if _, err := WriteBundle(&buf, f.r, BundleOptions{Env: "default", Identity: f.ids}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("bundle of an unpublished env: %v", err)
	}
	if _, err := Publish(ctx, f.r, "default", f.c1.String()); err != nil {
		t.Fatal(err)
	}
	info, err := WriteBundle(&buf, f.r, BundleOptions{Env: "default", Identity: f.ids})
	if err != nil {
		t.Fatal(err)
	}
	if info.Commit != f.c1 {
		t.Fatalf("bundled %s, want the pin %s", info.Commit, f.c1)
	}
	file := filepath.Join(t.TempDir(), "b")
	os.WriteFile(file, buf.Bytes(), 0o644)
	s, err := Open(ctx, Options{Bundle: file, Identity: f.ids})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s.Get("DB"); err != nil || string(v) != "v1" {
		t.Fatalf("Get from bundle: %q %v", v, err)
	}
	if s.Commit() != f.c1 || s.From() != FromBundle {
		t.Fatalf("commit %s from %s", s.Commit(), s.From())
	}
	ct, err := s.EncryptWithKey("app_key", []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := s.DecryptWithKey("app_key", ct); err != nil || string(pt) != "hello" {
		t.Fatalf("DecryptWithKey: %q %v", pt, err)
	}
	// Every single-byte change is refused as cipher.ErrSecret (or as not a
	// bundle when the tag itself changes).
	data := buf.Bytes()
	for i := len(bundleTag) + 1; i < len(data); i += 7 {
		bad := append([]byte(nil), data...)
		bad[i] ^= 0x01
		os.WriteFile(file, bad, 0o644)
		if _, err := Open(ctx, Options{Bundle: file, Identity: f.ids}); !errors.Is(err, cipher.ErrSecret) {
			t.Fatalf("byte %d flipped: %v", i, err)
		}
	}
}

func TestGetErrors(t *testing.T) {
	f := newFixture(t)
	s, err := f.open(t, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Get("NOPE"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(NOPE): %v", err)
	}
	if _, err := s.DecryptWithKey("app_key", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"); !errors.Is(err, cipher.ErrSecret) {
		t.Errorf("DecryptWithKey of junk: %v", err)
	}
	if _, err := s.EncryptWithKey("nokey", []byte("x")); !errors.Is(err, ErrNotFound) {
		t.Errorf("EncryptWithKey(nokey): %v", err)
	}
	if got := s.Names(); len(got) != 1 || got[0] != "DB" {
		t.Errorf("Names: %v", got)
	}
	if _, err := f.open(t, Options{Env: "production"}); !errors.Is(err, ErrEnvNotFound) {
		t.Errorf("missing env: %v", err)
	}
	if _, err := f.open(t, Options{Ref: "no-such"}); !errors.Is(err, repo.ErrRevisionNotFound) {
		t.Errorf("bad ref: %v", err)
	}
	// A stranger's identity: cipher.ErrSecret.
	idFile, _, _ := cipher.GenerateIdentity(time.Now())
	other := filepath.Join(t.TempDir(), "other.key")
	os.WriteFile(other, idFile, 0o600)
	s2, err := Open(context.Background(), Options{Dir: f.dir, Identity: cipher.IdentitySource{File: other, Getenv: f.getenv}, Getenv: f.getenv})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if _, err := s2.Get("DB"); !errors.Is(err, cipher.ErrSecret) {
		t.Errorf("stranger: %v", err)
	}
}
