package publish

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/gitseal/gitseal/cipher"
	"github.com/gitseal/gitseal/versioning"
)

// TestAllMany: All with enough secrets to read and decrypt them on several
// goroutines returns every value, from loose objects, from a pack and from
// a bundle; and a damaged secret fails it with the first damaged name.
func TestAllMany(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	want := map[string][]byte{"DB": []byte("v2")}
	for i := 0; i < 300; i++ {
		want[fmt.Sprintf("S_%03d", i)] = []byte(fmt.Sprintf("value %d of the many", i))
	}
	s, err := versioning.Open(f.dir, versioning.Options{Identity: f.ids})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Import(ctx, "", want, versioning.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	// One more, set alone: a loose object among the pack gitseal wrote.
	want["LOOSE"] = []byte("a loose one")
	if _, err := s.Set(ctx, "", "LOOSE", want["LOOSE"], versioning.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	git := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("git", append([]string{"-C", f.dir}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	check := func(step string, o Options) {
		t.Helper()
		sec, err := f.open(t, o)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		defer sec.Close()
		got, err := sec.All()
		if err != nil {
			t.Fatalf("%s: All: %v", step, err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: All returned %d values, want %d", step, len(got), len(want))
		}
		for n, v := range want {
			if !bytes.Equal(got[n], v) {
				t.Fatalf("%s: %s = %q, want %q", step, n, got[n], v)
			}
		}
	}
	check("as written", Options{})
	git("repack", "-a", "-d", "-f", "-q")
	check("packed", Options{})
	if _, err := Publish(ctx, f.r, "default", "HEAD"); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := WriteBundle(&buf, f.r, BundleOptions{Env: "default", Identity: f.ids}); err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(t.TempDir(), "b")
	if err := os.WriteFile(bundle, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	check("bundle", Options{Bundle: bundle})

	// Two secrets carry another's sealed file: All names the first.
	dir := filepath.Join(f.dir, versioning.SecretsDir("default"))
	other, err := os.ReadFile(filepath.Join(dir, "S_000"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"S_250", "S_100"} {
		if err := os.WriteFile(filepath.Join(dir, n), other, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git("commit", "-q", "-a", "-m", "copy sealed files")
	sec, err := f.open(t, Options{Ref: "HEAD"})
	if err != nil {
		t.Fatal(err)
	}
	defer sec.Close()
	_, err = sec.All()
	var se *versioning.SecretError
	if !errors.Is(err, cipher.ErrSecret) || !errors.As(err, &se) || se.Name != "S_100" {
		t.Fatalf("All with S_100 and S_250 damaged = %v, want cipher.ErrSecret naming S_100", err)
	}
}
