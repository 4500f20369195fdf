package repo

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// rdAllObjects lists every object in the repository as git sees it.
func rdAllObjects(t testing.TB, dir string) map[Hash]ObjectType {
	t.Helper()
	out := rdGit(t, dir, "cat-file", "--batch-all-objects", "--batch-check=%(objectname) %(objecttype)")
	objs := map[Hash]ObjectType{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		id, typ, _ := strings.Cut(sc.Text(), " ")
		h, err := ParseHash(id)
		if err != nil {
			t.Fatal(err)
		}
		ot, ok := parseObjectType(typ)
		if !ok {
			t.Fatalf("type %q", typ)
		}
		objs[h] = ot
	}
	return objs
}

// rdCatFile returns an object's content as git prints it.
func rdCatFile(t testing.TB, dir string, h Hash, typ ObjectType) []byte {
	t.Helper()
	return []byte(rdGit(t, dir, "cat-file", typ.String(), h.String()) + "\n")
}

func TestReadObjectsMatchGit(t *testing.T) {
	t.Parallel()
	dir := rdInit(t)
	rdCommit(t, dir, 1, "one", map[string]string{"a.txt": "alpha\n", "d/b.txt": "beta\n"})
	rdCommit(t, dir, 2, "two\n\nbody line\n", map[string]string{"d/b.txt": "beta 2\n", "e/f/g": "deep\n"})
	rdGit(t, dir, "tag", "-a", "-m", "release", "v1")
	r := rdOpen(t, dir)
	objs := rdAllObjects(t, dir)
	if len(objs) < 8 {
		t.Fatalf("only %d objects", len(objs))
	}
	for h, typ := range objs {
		gotType, data, err := r.readObject(h)
		if err != nil {
			t.Fatalf("readObject(%s): %v", h, err)
		}
		if gotType != typ {
			t.Errorf("%s: type %v, want %v", h, gotType, typ)
		}
		if typ == TreeObject {
			continue // cat-file tree prints binary; compared via ReadTree below
		}
		if want := rdCatFile(t, dir, h, typ); typ == BlobObject && !bytes.Equal(data, want) {
			t.Errorf("%s: content %q, want %q", h, data, want)
		}
	}

	head := mustResolve(t, r, "HEAD")
	c, err := r.ReadCommit(head)
	if err != nil {
		t.Fatal(err)
	}
	if c.Hash != head || c.Tree.String() != rdGit(t, dir, "rev-parse", "HEAD^{tree}") ||
		len(c.Parents) != 1 || c.Parents[0].String() != rdGit(t, dir, "rev-parse", "HEAD~") {
		t.Errorf("commit = %+v", c)
	}
	if c.Message != "two\n\nbody line\n" {
		t.Errorf("message %q", c.Message)
	}
	if c.Author.Name != "A U Thor" || c.Author.Email != "author@example.com" ||
		c.Committer.Name != "C O Mitter" {
		t.Errorf("signatures %+v %+v", c.Author, c.Committer)
	}
	if _, off := c.Committer.When.Zone(); off != 3600 || c.Committer.When.Unix() != 1577836802 {
		t.Errorf("committer time %v", c.Committer.When)
	}
	if !bytes.HasPrefix(c.Raw, []byte("tree ")) || !bytes.HasSuffix(c.Raw, []byte("body line\n")) {
		t.Errorf("raw %q", c.Raw)
	}

	entries, err := r.ReadTree(c.Tree)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name+":"+modeString(e.Mode)+":"+e.Hash.String())
	}
	want := rdGit(t, dir, "ls-tree", "HEAD")
	var wantNames []string
	for _, l := range strings.Split(want, "\n") {
		meta, name, _ := strings.Cut(l, "\t")
		f := strings.Fields(meta)
		wantNames = append(wantNames, name+":"+f[0]+":"+f[2])
	}
	if strings.Join(names, ",") != strings.Join(wantNames, ",") {
		t.Errorf("tree\n got %v\nwant %v", names, wantNames)
	}

	if _, err := r.ReadBlob(head); err == nil || !strings.Contains(err.Error(), "is a commit") {
		t.Errorf("ReadBlob(commit) err = %v", err)
	}
	missing, _ := ParseHash("3f2a1c9000000000000000000000000000000000")
	_, _, err = r.readObject(missing)
	if !errors.Is(err, ErrObjectNotFound) || err.Error() != "reading object 3f2a1c9: object not found" {
		t.Errorf("missing object err = %v", err)
	}
}

func modeString(m Mode) string { return fmt.Sprintf("%06o", uint32(m)) }

func TestParseSignature(t *testing.T) {
	for _, tc := range []struct {
		in          string
		name, email string
		unix        int64
		off         int
	}{
		{"A B <a@b> 1700000000 -0730", "A B", "a@b", 1700000000, -(7*3600 + 30*60)},
		{"<a@b> 5 +0000", "", "a@b", 5, 0},
		{"Weird <x<y>> 7 +0200", "Weird", "x<y>", 7, 7200},
	} {
		s := parseSignature([]byte(tc.in))
		_, off := s.When.Zone()
		if s.Name != tc.name || s.Email != tc.email || s.When.Unix() != tc.unix || off != tc.off {
			t.Errorf("parseSignature(%q) = %+v (off %d)", tc.in, s, off)
		}
	}
	if s := parseSignature([]byte("No Time <a@b>")); !s.When.Equal(time.Time{}) || s.Email != "a@b" {
		t.Errorf("no time: %+v", s)
	}
}

// TestLooseCache: a loose tree or commit read once is kept for the life of
// the Repo (a second read does not touch the file); a loose blob is not.
func TestLooseCache(t *testing.T) {
	dir := wrInitWithFiles(t, map[string]string{"a/b.txt": "blob content"})
	r := wrOpen(t, dir)
	hd, err := r.Head()
	if err != nil {
		t.Fatal(err)
	}
	head := hd.Commit
	c, err := r.ReadCommit(head)
	if err != nil {
		t.Fatal(err)
	}
	blob, err := r.TreeEntryAt(head, "a/b.txt")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadBlob(blob.Hash); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadTree(c.Tree); err != nil {
		t.Fatal(err)
	}
	for _, h := range []Hash{head, c.Tree, blob.Hash} {
		p := filepath.Join(dir, ".git", "objects", h.String()[:2], h.String()[2:])
		if err := os.Remove(p); err != nil {
			t.Fatalf("object %s is not loose: %v", h, err)
		}
	}
	if _, err := r.ReadCommit(head); err != nil {
		t.Errorf("commit read again after its file went: %v (not cached)", err)
	}
	if _, err := r.ReadTree(c.Tree); err != nil {
		t.Errorf("tree read again after its file went: %v (not cached)", err)
	}
	if _, err := r.ReadBlob(blob.Hash); !errors.Is(err, ErrObjectNotFound) {
		t.Errorf("blob read after its file went: %v, want ErrObjectNotFound (blobs are not cached)", err)
	}
}
