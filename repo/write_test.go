package repo

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWriteBlobMatchesGit(t *testing.T) {
	dir := wrInit(t)
	r := wrOpen(t, dir)
	for _, data := range []string{"", "hello\n", strings.Repeat("x", 100000), "\x00binary\xff"} {
		h, err := r.WriteBlob([]byte(data))
		if err != nil {
			t.Fatal(err)
		}
		if want := wrGitIn(t, dir, data, "hash-object", "--stdin"); h.String() != want {
			t.Errorf("WriteBlob id %s, git hash-object %s", h, want)
		}
		if got := wrGit(t, dir, "cat-file", "blob", h.String()); got != strings.TrimRight(data, "\n") {
			t.Errorf("git cat-file of %s differs", h)
		}
		// Writing again finds it present and changes nothing.
		p := filepath.Join(dir, ".git", "objects", h.String()[:2], h.String()[2:])
		before, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.WriteBlob([]byte(data)); err != nil {
			t.Fatal(err)
		}
		after, _ := os.Stat(p)
		if !os.SameFile(before, after) || before.Mode().Perm() != 0o444 {
			t.Errorf("object %s rewritten or mode %v", h, after.Mode())
		}
	}
	matches, _ := filepath.Glob(filepath.Join(dir, ".git", "objects", "*", "tmp_obj_*"))
	if len(matches) != 0 {
		t.Errorf("temporary object files left: %v", matches)
	}
	wrFsck(t, dir)
}

func TestWriteTreeSortsAsGit(t *testing.T) {
	dir := wrInit(t)
	r := wrOpen(t, dir)
	blob, _ := r.WriteBlob([]byte("x\n"))
	sub, err := r.WriteTree([]TreeEntry{{Name: "f", Mode: ModeFile, Hash: blob}})
	if err != nil {
		t.Fatal(err)
	}
	// "a" as a directory sorts as "a/", after "a.b" and "a-b"; "b" as a
	// file sorts before "b.c".
	entries := []TreeEntry{
		{Name: "a", Mode: ModeDir, Hash: sub},
		{Name: "b.c", Mode: ModeFile, Hash: blob},
		{Name: "a.b", Mode: ModeExec, Hash: blob},
		{Name: "b", Mode: ModeFile, Hash: blob},
		{Name: "a-b", Mode: ModeSymlink, Hash: blob},
		{Name: "a0", Mode: ModeFile, Hash: blob},
	}
	h, err := r.WriteTree(entries)
	if err != nil {
		t.Fatal(err)
	}
	var mk strings.Builder
	for _, e := range entries {
		typ := "blob"
		if e.Mode.IsDir() {
			typ = "tree"
		}
		mk.WriteString(modeString(e.Mode) + " " + typ + " " + e.Hash.String() + "\t" + e.Name + "\n")
	}
	if want := wrGitIn(t, dir, mk.String(), "mktree"); h.String() != want {
		t.Errorf("WriteTree %s, git mktree %s", h, want)
	}
	got, err := r.ReadTree(h)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range got {
		names = append(names, e.Name)
	}
	if strings.Join(names, " ") != "a-b a.b a a0 b b.c" {
		t.Errorf("order %v", names)
	}
	for _, bad := range [][]TreeEntry{
		{{Name: "a/b", Mode: ModeFile, Hash: blob}},
		{{Name: "", Mode: ModeFile, Hash: blob}},
		{{Name: "x", Mode: ModeFile, Hash: blob}, {Name: "x", Mode: ModeFile, Hash: blob}},
		{{Name: "x", Mode: 0o100600, Hash: blob}},
	} {
		if _, err := r.WriteTree(bad); err == nil {
			t.Errorf("WriteTree(%v) succeeded", bad)
		}
	}
	wrFsck(t, dir)
}

func TestWriteCommitMatchesGit(t *testing.T) {
	dir := wrInit(t)
	r := wrOpen(t, dir)
	tree, _ := r.WriteTree(nil)
	zone := time.FixedZone("", -(3*3600 + 30*60))
	author := Signature{Name: "A U Thor", Email: "author@example.com", When: time.Unix(1700000000, 0).In(zone)}
	committer := Signature{Name: "C O Mitter", Email: "committer@example.com", When: time.Unix(1700000100, 0).UTC()}
	first, err := r.WriteCommit(CommitSpec{Tree: tree, Author: author, Committer: committer, Message: "first"})
	if err != nil {
		t.Fatal(err)
	}
	second, err := r.WriteCommit(CommitSpec{Tree: tree, Parents: []Hash{first}, Author: author, Committer: committer,
		Message: "second\n\nGitseal-Action: set\n"})
	if err != nil {
		t.Fatal(err)
	}
	cmd := []string{"commit-tree", tree.String(), "-p", first.String()}
	env := []string{"GIT_AUTHOR_DATE=1700000000 -0330", "GIT_COMMITTER_DATE=1700000100 +0000"}
	out, err := wrGitEnvErr(dir, env, "second\n\nGitseal-Action: set\n", append(cmd, "-F", "-")...)
	if err != nil {
		t.Fatal(err)
	}
	if out != second.String() {
		t.Errorf("WriteCommit %s, git commit-tree %s\n%s", second, out, wrGit(t, dir, "cat-file", "-p", second.String()))
	}
	c, err := r.ReadCommit(second)
	if err != nil {
		t.Fatal(err)
	}
	if _, off := c.Author.When.Zone(); off != -(3*3600+30*60) || c.Parents[0] != first {
		t.Errorf("read back %+v", c)
	}
	wrGit(t, dir, "update-ref", "refs/heads/main", second.String())
	wrFsck(t, dir)
}

func wrGitEnvErr(dir string, env []string, stdin string, args ...string) (string, error) {
	return wrRun(dir, append(wrEnv(dir), env...), stdin, args...)
}

func TestDurabilityFollowsCoreFsync(t *testing.T) {
	dir := wrInit(t)
	r := wrOpen(t, dir)
	for _, tc := range []struct {
		set  []string
		want durability
	}{
		{nil, durability{}}, // unset: git's default, no fsync of loose objects, refs or the index
		{[]string{"core.fsyncObjectFiles", "true"}, durability{objects: true}},
		{[]string{"core.fsync", "none"}, durability{}},
		{[]string{"core.fsync", "committed"}, durability{objects: true, refs: true}},
		{[]string{"core.fsync", "committed,-reference,index"}, durability{objects: true, index: true}},
		{[]string{"core.fsync", "loose-object"}, durability{objects: true}},
		{[]string{"core.fsync", "all,-index"}, durability{objects: true, refs: true}},
	} {
		if tc.set != nil {
			wrGit(t, dir, append([]string{"config"}, tc.set...)...)
		}
		if got := r.durability(); got != tc.want {
			t.Errorf("%v: %+v, want %+v", tc.set, got, tc.want)
		}
	}
}
