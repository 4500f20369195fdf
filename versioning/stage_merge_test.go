package versioning

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/gitseal/gitseal/cipher"
)

// TestStageDuringMergeUsesMergedKey: in a merge that brings a re-keyed
// environment (a recipient removed on the other branch), `set --stage`
// seals under the data key being merged in, not HEAD's old one: the
// committed merge then opens for the remaining team and not for the person
// removed. A data key left in conflict is refused with the fix.
func TestStageDuringMergeUsesMergedKey(t *testing.T) {
	ctx := context.Background()
	alice, bob := newPerson(t, "alice"), newPerson(t, "bob")
	dir := teamRepo(t, alice)
	git := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	s := openAs(t, dir, alice)
	if _, _, err := s.RecipientAdd(ctx, "", []cipher.Recipient{bob.pub}, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Set(ctx, "", "DB", []byte("before"), WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	git("branch", "-M", "main")
	git("checkout", "-q", "-b", "rekey")
	if _, _, err := s.RecipientRemove(ctx, "", "bob", RekeyOptions{}); err != nil {
		t.Fatal(err)
	}
	git("checkout", "-q", "main")
	s.Close()

	// main merges rekey without committing: the index has the new key.
	git("merge", "-q", "--no-ff", "--no-commit", "rekey")
	s = openAs(t, dir, alice)
	if _, err := s.Set(ctx, "", "DB", []byte("during-merge-7q"), WriteOptions{Stage: true}); err != nil {
		t.Fatalf("set --stage during the merge: %v", err)
	}
	s.Close()
	git("commit", "-q", "-m", "merge rekey")

	s = openAs(t, dir, alice)
	defer s.Close()
	if v, err := tipEnv(t, s, "HEAD").Get("DB"); err != nil || string(v) != "during-merge-7q" {
		t.Fatalf("alice reads DB after the merge: %q, %v; want the staged value", v, err)
	}
	sb := openAs(t, dir, bob)
	defer sb.Close()
	if _, err := tipEnv(t, sb, "HEAD").Get("DB"); !errors.Is(err, cipher.ErrSecret) {
		t.Fatalf("bob, removed on the merged branch, reads DB: %v; want cipher.ErrSecret", err)
	}

	// Both branches re-key: the data key itself is in conflict.
	git("checkout", "-q", "-b", "side")
	carol := newPerson(t, "carol")
	if _, _, err := s.RecipientAdd(ctx, "", []cipher.Recipient{carol.pub}, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Rotate(ctx, "", RekeyOptions{}); err != nil {
		t.Fatal(err)
	}
	git("checkout", "-q", "main")
	if _, err := s.Rotate(ctx, "", RekeyOptions{}); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("git", "-C", dir, "merge", "-q", "--no-commit", "side").CombinedOutput(); err == nil {
		t.Fatalf("merging two re-keys did not conflict:\n%s", out)
	}
	before := git("rev-parse", "HEAD")
	_, err := s.Set(ctx, "", "DB", []byte("in-conflict-2w"), WriteOptions{Stage: true})
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "datakey.age") {
		t.Fatalf("set --stage with the data key in conflict: %v; want ErrConflict naming the data key", err)
	}
	if git("rev-parse", "HEAD") != before {
		t.Fatal("a refused set committed")
	}
}
