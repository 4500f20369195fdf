package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/gitseal/gitseal/cipher"
	"github.com/gitseal/gitseal/publish"
)

// The runtime loader reads secrets and named keys without writing to the
// audit log (DESIGN §7); a person's get does write to it.
func TestRuntimeLoaderDoesNotAudit(t *testing.T) {
	p := newProcEnv(t)
	p.gitseal("", "set", "DB_URL", "--value", "loader-value")
	p.gitseal("", "key", "create", "app_key")
	p.gitseal("", "publish", "default")
	hasLog := func() bool {
		cmd := exec.Command("git", "rev-parse", "-q", "--verify", "refs/gitseal/audit")
		cmd.Dir, cmd.Env = p.dir, p.env
		return cmd.Run() == nil
	}
	for _, o := range []publish.Options{{}, {Ref: "HEAD"}} {
		o.Dir = p.dir
		o.Identity = cipher.IdentitySource{File: filepath.Join(filepath.Dir(p.dir), "id.key")}
		s, err := publish.Open(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		if v, err := s.Get("DB_URL"); err != nil || string(v) != "loader-value" {
			t.Fatalf("Get = %q, %v", v, err)
		}
		if _, err := s.All(); err != nil {
			t.Fatal(err)
		}
		ct, err := s.EncryptWithKey("app_key", []byte("x"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.DecryptWithKey("app_key", ct); err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	p.gitseal("", "run", "--", "true") // not from a terminal: a service
	if hasLog() {
		t.Fatal("the runtime loader wrote to the audit log")
	}
	p.gitseal("", "get", "DB_URL")
	if !hasLog() {
		t.Fatal("get did not write to the audit log")
	}
}
