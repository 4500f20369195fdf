package repo

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A commit of many paths goes into one pack, which git reads and verifies,
// and which our own reader reads back.
func TestCommitOfManyPathsWritesOnePack(t *testing.T) {
	dir := wrInit(t)
	packs := func() []string {
		m, _ := filepath.Glob(filepath.Join(dir, ".git", "objects", "pack", "pack-*.pack"))
		return m
	}
	before := len(packs())
	var changes []Change
	for i := 0; i < 100; i++ {
		changes = append(changes, wrSet(fmt.Sprintf(".gitseal/default/secrets/S%03d", i), fmt.Sprintf("sealed-%d\n", i)))
	}
	res, err := wrCommit(t, dir, CommitRequest{Changes: changes, Message: "many\n"})
	if err != nil {
		t.Fatal(err)
	}
	after := packs()
	if len(after) != before+1 {
		t.Fatalf("%d packs after the commit, want %d", len(after), before+1)
	}
	idx := strings.TrimSuffix(after[len(after)-1], ".pack") + ".idx"
	out := wrGit(t, dir, "verify-pack", "-v", idx)
	// 100 blobs, the trees along the path (4) and the commit.
	if n := strings.Count(out, " blob "); n != 100 {
		t.Errorf("verify-pack lists %d blobs, want 100:\n%s", n, out)
	}
	if !strings.Contains(out, " commit ") {
		t.Errorf("the commit is not in the pack:\n%s", out)
	}
	wrFsck(t, dir)
	wrCheckTreeMatchesHead(t, dir)
	loose, _ := filepath.Glob(filepath.Join(dir, ".git", "objects", "??", "*"))
	if len(loose) != 0 {
		t.Errorf("%d loose objects written beside the pack: %v", len(loose), loose)
	}
	r := wrOpen(t, dir)
	for i := 0; i < 100; i++ {
		p := fmt.Sprintf(".gitseal/default/secrets/S%03d", i)
		data, _, err := r.FileAt(res.Commit, p)
		if err != nil || string(data) != fmt.Sprintf("sealed-%d\n", i) {
			t.Fatalf("%s: %q, %v", p, data, err)
		}
		if got := wrGit(t, dir, "show", "HEAD:"+p); got != strings.TrimSpace(string(data)) {
			t.Fatalf("git show %s = %q, want %q", p, got, data)
		}
	}
	// No temporary pack or index is left behind.
	tmp, _ := filepath.Glob(filepath.Join(dir, ".git", "objects", "pack", "tmp_*"))
	if len(tmp) != 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
}

// encodePack's output is what git's own index-pack makes of the same pack.
func TestEncodePackIndexMatchesGit(t *testing.T) {
	dir := wrInit(t)
	var objs []packObject
	for i := 0; i < 40; i++ {
		data := []byte(strings.Repeat(fmt.Sprintf("object %d ", i), i*7+1))
		objs = append(objs, packObject{id: hashObject(BlobObject, data), t: BlobObject, data: data})
	}
	pack, idx, _, err := encodePack(objs)
	if err != nil {
		t.Fatal(err)
	}
	pf := filepath.Join(t.TempDir(), "x.pack")
	if err := os.WriteFile(pf, pack, 0o644); err != nil {
		t.Fatal(err)
	}
	wrGit(t, dir, "index-pack", pf)
	gitIdx, err := os.ReadFile(strings.TrimSuffix(pf, ".pack") + ".idx")
	if err != nil {
		t.Fatal(err)
	}
	if string(gitIdx) != string(idx) {
		t.Fatalf("our index (%d bytes) differs from git index-pack's (%d bytes)", len(idx), len(gitIdx))
	}
}
