package versioning

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gitseal/gitseal/cipher"
	"github.com/gitseal/gitseal/repo"
)

// person is one identity of a team test: its identity file text and public key.
type person struct {
	idFile []byte
	pub    cipher.Recipient
}

func newPerson(t testing.TB, name string) person {
	t.Helper()
	f, pub, err := cipher.GenerateIdentity(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pub.Name = name
	return person{f, pub}
}

// teamRepo is a fresh repository with a store whose default environment is
// readable by owner.
func teamRepo(t testing.TB, owner person) string {
	t.Helper()
	t.Setenv("GIT_AUTHOR_NAME", "T")
	t.Setenv("GIT_AUTHOR_EMAIL", "t@example.com")
	t.Setenv("GIT_COMMITTER_NAME", "T")
	t.Setenv("GIT_COMMITTER_EMAIL", "t@example.com")
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	t.Setenv("GIT_CONFIG_GLOBAL", "/dev/null")
	dir := t.TempDir()
	r, err := repo.Init(dir, repo.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	s := openAs(t, dir, owner)
	if _, err := s.Init(context.Background(), InitOptions{Recipients: []cipher.Recipient{owner.pub}}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// openAs opens the store in dir with p's identity only.
func openAs(t testing.TB, dir string, p person) *Store {
	t.Helper()
	s, err := Open(dir, Options{Identity: cipher.IdentitySource{
		Getenv:  func(k string) string { return map[string]string{"GITSEAL_IDENTITY": string(p.idFile)}[k] },
		HomeDir: t.TempDir(),
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustSet(t testing.TB, s *Store, name, value string) repo.Hash {
	t.Helper()
	res, err := s.Set(context.Background(), "", name, []byte(value), WriteOptions{})
	if err != nil {
		t.Fatalf("set %s: %v", name, err)
	}
	return res.Commit
}

func mustGet(t testing.TB, s *Store, rev, name string) string {
	t.Helper()
	sn, err := s.Snapshot(rev)
	if err != nil {
		t.Fatal(err)
	}
	e, err := sn.Env("")
	if err != nil {
		t.Fatal(err)
	}
	v, err := e.Get(name)
	if err != nil {
		t.Fatalf("get %s at %q: %v", name, rev, err)
	}
	return string(v)
}

func tipEnv(t testing.TB, s *Store, rev string) *Env {
	t.Helper()
	sn, err := s.Snapshot(rev)
	if err != nil {
		t.Fatal(err)
	}
	e, err := sn.Env("")
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestRotate(t *testing.T) {
	alice := newPerson(t, "alice")
	dir := teamRepo(t, alice)
	s := openAs(t, dir, alice)
	ctx := context.Background()
	values := map[string]string{"A": "value-a", "B": "value-b", "C": ""}
	for n, v := range values {
		mustSet(t, s, n, v)
	}
	if _, err := s.KeyCreate(ctx, "", "app_key", 128, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	before := tipEnv(t, s, "")
	ct, _ := before.Keyring("app_key")
	payload, err := ct.Encrypt([]byte("data"))
	if err != nil {
		t.Fatal(err)
	}
	oldCommit := before.Snapshot().Commit()
	calls := 0
	res, err := s.Rotate(ctx, "", RekeyOptions{Progress: func(done, total int) { calls++ }})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Changed || res.Commit.IsZero() || calls != 4 {
		t.Fatalf("rotate: %+v, %d progress calls", res, calls)
	}
	after := tipEnv(t, s, "")
	c, _ := s.repo.ReadCommit(res.Commit)
	if len(c.Parents) != 1 || c.Parents[0] != oldCommit {
		t.Fatalf("rotate made more than one commit")
	}
	dkOld, _ := before.DataKey()
	dkNew, err := after.DataKey()
	if err != nil || dkOld.Equal(dkNew) {
		t.Fatalf("data key not changed: %v", err)
	}
	for n, v := range values {
		if got := mustGet(t, s, "", n); got != v {
			t.Errorf("%s after rotate = %q, want %q", n, got, v)
		}
		a, _ := before.Sealed(n)
		b, _ := after.Sealed(n)
		if bytes.Equal(a, b) {
			t.Errorf("%s: ciphertext unchanged by rotate", n)
		}
		if got := mustGet(t, s, oldCommit.String(), n); got != v {
			t.Errorf("%s at the old commit = %q", n, got)
		}
	}
	k, err := after.Keyring("app_key")
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := k.Decrypt(payload); err != nil || string(pt) != "data" {
		t.Fatalf("named key after rotate: %q, %v", pt, err)
	}
	// The old data key opens nothing of the new commit.
	a, _ := after.Sealed("A")
	if _, err := cipher.Open(dkOld, after.binding(cipher.KindSecret, "A"), a); !errors.Is(err, cipher.ErrSecret) {
		t.Fatalf("old data key opened a rotated secret: %v", err)
	}
	// A rollback across the rotation re-seals under the new key.
	mustSet(t, s, "A", "value-a2")
	if _, err := s.Rollback(ctx, "", "A", oldCommit.String(), WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, s, "", "A"); got != "value-a" {
		t.Fatalf("rollback across a rotation: %q", got)
	}
}

func TestRevocation(t *testing.T) {
	alice, bob, carol := newPerson(t, "alice"), newPerson(t, "bob"), newPerson(t, "carol")
	dir := teamRepo(t, alice)
	s := openAs(t, dir, alice)
	ctx := context.Background()
	// OLD_ONLY lives and dies under a data key bob never gets.
	mustSet(t, s, "OLD_ONLY", "old-only")
	if _, err := s.Remove(ctx, "", "OLD_ONLY", WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Rotate(ctx, "", RekeyOptions{}); err != nil {
		t.Fatal(err)
	}
	// GONE is removed before bob is added, but under the same data key:
	// adding bob re-wraps that key, so he can read it in history.
	first := mustSet(t, s, "S1", "s1-v1")
	goneAt := mustSet(t, s, "GONE", "gone")
	if _, err := s.Remove(ctx, "", "GONE", WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, added, err := s.RecipientAdd(ctx, "", []cipher.Recipient{bob.pub, carol.pub}, WriteOptions{}); err != nil || len(added) != 2 {
		t.Fatalf("add: %v %v", added, err)
	}
	if res, added, err := s.RecipientAdd(ctx, "", []cipher.Recipient{bob.pub}, WriteOptions{}); err != nil || res.Changed || len(added) != 0 {
		t.Fatalf("adding bob again: %+v %v", res, err)
	}
	// Bob's copy of the data key opens what was sealed before he was added.
	bobDK, err := tipEnv(t, openAs(t, dir, bob), "").DataKey()
	if err != nil {
		t.Fatal(err)
	}
	oldEnv := tipEnv(t, s, first.String())
	sealed, _ := oldEnv.Sealed("S1")
	if v, err := cipher.Open(bobDK, oldEnv.binding(cipher.KindSecret, "S1"), sealed); err != nil || string(v) != "s1-v1" {
		t.Fatalf("bob's data key on history from before he was added: %q, %v", v, err)
	}
	mustSet(t, s, "S4", "s4")
	mustSet(t, s, "S1", "s1-v2")
	if _, err := s.KeyCreate(ctx, "", "app_key", 128, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	lastBob := tipEnv(t, s, "").Snapshot().Commit()

	_, rep, err := s.RecipientRemove(ctx, "", "bob", RekeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, x := range rep.Exposed {
		got = append(got, fmt.Sprintf("%s %s %s", x.Kind, x.Name, x.Status))
		wantLast := lastBob
		if x.Name == "GONE" {
			wantLast = goneAt
		}
		if x.Last != wantLast {
			t.Errorf("%s: last readable at %s, want %s", x.Name, x.Last, wantLast)
		}
	}
	want := []string{"secret GONE removed", "secret S1 unchanged", "secret S4 unchanged", "key app_key unchanged"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("report:\n got %v\nwant %v", got, want)
	}
	for _, x := range rep.Exposed {
		if x.Name == "S1" && (x.First != first || x.Versions != 2) {
			t.Errorf("S1: first %s (want %s), %d versions", x.First, first, x.Versions)
		}
	}
	if rep.Recipient.Key != bob.pub.Key || rep.Unverified != 0 {
		t.Fatalf("report: %+v", rep)
	}
	// Bob cannot read anything committed from now on; carol and alice can.
	mustSet(t, s, "NEW", "new")
	sb2 := openAs(t, dir, bob)
	e := tipEnv(t, sb2, "")
	for _, n := range []string{"NEW", "S1", "S4"} {
		if _, err := e.Get(n); !errors.Is(err, cipher.ErrSecret) {
			t.Fatalf("bob reads %s after removal: %v", n, err)
		}
	}
	if got := mustGet(t, openAs(t, dir, carol), "", "NEW"); got != "new" {
		t.Fatalf("carol: %q", got)
	}
	// What he could read before stays readable to him: removal does not undo it.
	if got := mustGet(t, sb2, lastBob.String(), "S1"); got != "s1-v2" {
		t.Fatalf("bob at an old commit: %q", got)
	}
	// Errors: unknown recipient, last recipient.
	if _, _, err := s.RecipientRemove(ctx, "", "bob", RekeyOptions{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("removing bob twice: %v", err)
	}
	if _, _, err := s.RecipientRemove(ctx, "", carol.pub.Fingerprint(), RekeyOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.RecipientRemove(ctx, "", alice.pub.Key, RekeyOptions{}); !errors.Is(err, ErrRefused) {
		t.Fatalf("removing the last recipient: %v", err)
	}
}

func TestPassphraseRecipient(t *testing.T) {
	defer cipher.SetScryptWorkFactorForTesting(10)()
	alice := newPerson(t, "alice")
	dir := teamRepo(t, alice)
	s := openAs(t, dir, alice)
	ctx := context.Background()
	mustSet(t, s, "A", "value-a")
	if _, err := s.RecipientAddPassphrase(ctx, "", "correct horse", WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	nobody := newPerson(t, "nobody")
	open := func(pass string) *Store {
		st, err := Open(dir, Options{Passphrase: pass, Identity: cipher.IdentitySource{
			Getenv:  func(k string) string { return map[string]string{"GITSEAL_IDENTITY": string(nobody.idFile)}[k] },
			HomeDir: t.TempDir(),
		}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	if got := mustGet(t, open("correct horse"), "", "A"); got != "value-a" {
		t.Fatalf("with the passphrase: %q", got)
	}
	if _, err := tipEnv(t, open("wrong"), "").Get("A"); !errors.Is(err, cipher.ErrSecret) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	// Re-keying needs the passphrase to wrap the new key for it too.
	if _, err := s.Rotate(ctx, "", RekeyOptions{}); !errors.Is(err, ErrPassphraseNeeded) {
		t.Fatalf("rotate without the passphrase: %v", err)
	}
	withPass, err := Open(dir, Options{Passphrase: "correct horse", Identity: s.opts.Identity})
	if err != nil {
		t.Fatal(err)
	}
	defer withPass.Close()
	if _, err := withPass.Rotate(ctx, "", RekeyOptions{}); err != nil {
		t.Fatal(err)
	}
	mustSet(t, s, "B", "value-b")
	if got := mustGet(t, open("correct horse"), "", "B"); got != "value-b" {
		t.Fatalf("passphrase after rotate: %q", got)
	}
	// Removing the passphrase re-keys: it opens nothing new.
	_, rep, err := s.RecipientRemovePassphrase(ctx, "", RekeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Passphrase || len(rep.Exposed) != 2 {
		t.Fatalf("report: %+v", rep)
	}
	if tipEnv(t, s, "").HasPassphrase() {
		t.Fatal("passphrase file still there")
	}
	mustSet(t, s, "C", "value-c")
	if _, err := tipEnv(t, open("correct horse"), "").Get("C"); err == nil {
		t.Fatal("removed passphrase still reads new secrets")
	}
}

// BenchmarkRotate1000 re-keys an environment of 1000 secrets: one commit.
func BenchmarkRotate1000(b *testing.B) {
	alice := newPerson(b, "alice")
	dir := teamRepo(b, alice)
	s := openAs(b, dir, alice)
	values := map[string][]byte{}
	for i := 0; i < 1000; i++ {
		values[fmt.Sprintf("SECRET_%04d", i)] = []byte(fmt.Sprintf("value-%d-%x", i, i*7919))
	}
	if _, err := s.Import(context.Background(), "", values, WriteOptions{}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		st := openAs(b, dir, alice)
		if _, err := st.Rotate(context.Background(), "", RekeyOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
