package versioning

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitseal/gitseal/cipher"
)

// TestFrozenV1Store opens a store written by gitseal at format v1 and kept in
// testdata/v1 unchanged: every later gitseal must read it.
func TestFrozenV1Store(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store.git")
	if out, err := exec.Command("git", "clone", "-q", "--mirror", filepath.Join("testdata", "v1", "store.bundle"), dir).CombinedOutput(); err != nil {
		t.Fatalf("git clone of the frozen bundle: %v\n%s", err, out)
	}
	key, err := os.ReadFile(filepath.Join("testdata", "v1", "identity.txt"))
	if err != nil {
		t.Fatal(err)
	}
	idFile := filepath.Join(t.TempDir(), "identity")
	if err := os.WriteFile(idFile, key, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir, Options{Identity: cipher.IdentitySource{File: idFile, Getenv: func(string) string { return "" }}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sn, err := s.Snapshot("")
	if err != nil {
		t.Fatal(err)
	}
	envs, err := sn.Envs()
	if err != nil || strings.Join(envs, ",") != "default,production" {
		t.Fatalf("environments %v, %v", envs, err)
	}
	def, err := sn.Env("")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"DB_PASSWORD": "frozen-db-password", "MULTILINE": "line one\nline two\n", "EMPTY": ""} {
		got, err := def.Get(name)
		if err != nil || string(got) != want {
			t.Errorf("default/%s = %q, %v; want %q", name, got, err, want)
		}
	}
	payload, err := os.ReadFile(filepath.Join("testdata", "v1", "payload.txt"))
	if err != nil {
		t.Fatal(err)
	}
	pt, err := def.DecryptWithKey("app_key", string(cipher.TrimOneNewline(payload)))
	if err != nil || string(pt) != "frozen payload" {
		t.Errorf("app_key payload = %q, %v", pt, err)
	}
	pin, err := s.Repo().Ref(PinRef("production"))
	if err != nil {
		t.Fatalf("production's pin: %v", err)
	}
	psn, err := s.SnapshotAt(pin)
	if err != nil {
		t.Fatal(err)
	}
	prod, err := psn.Env("production")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"API_TOKEN": "prod-token", "DB_PASSWORD": "frozen-db-password"} {
		got, err := prod.Get(name)
		if err != nil || string(got) != want {
			t.Errorf("production/%s = %q, %v; want %q", name, got, err, want)
		}
	}
	// Every file of the store passes the keyless check.
	problems, err := sn.Check()
	if err != nil || len(problems) != 0 {
		t.Errorf("check: %v, %v", problems, err)
	}
}
