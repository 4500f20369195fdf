package repo

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestReadBlobs: many blobs at once, whole packed entries, deltified ones
// and loose ones mixed, read with one worker and with several, match what
// git prints; a tree among them or a missing id fails as ReadBlob does.
func TestReadBlobs(t *testing.T) {
	files := map[string]string{}
	base := strings.Repeat("shared line of a file that git will deltify\n", 60)
	for i := 0; i < 150; i++ {
		files[fmt.Sprintf("whole/%03d", i)] = fmt.Sprintf("blob %d %x\n", i, i*7919)
		files[fmt.Sprintf("delta/%03d", i)] = base + fmt.Sprintf("tail %d\n", i)
	}
	dir := wrInitWithFiles(t, files)
	wrGit(t, dir, "repack", "-a", "-d", "-f", "-q")
	wrWrite(t, dir, "loose.txt", "a loose blob\n")
	wrGit(t, dir, "add", "loose.txt")
	wrGit(t, dir, "commit", "-q", "-m", "loose")

	r := wrOpen(t, dir)
	var ids []Hash
	var paths []string
	for _, line := range strings.Split(strings.TrimSpace(wrGit(t, dir, "ls-tree", "-r", "HEAD")), "\n") {
		f := strings.Fields(line) // mode type id\tpath
		h, err := ParseHash(f[2])
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, h)
		paths = append(paths, f[3])
	}
	db, err := r.objects()
	if err != nil {
		t.Fatal(err)
	}
	wholeN := 0
	for _, h := range ids {
		if _, ok, err := db.findWhole(h); err != nil {
			t.Fatal(err)
		} else if ok {
			wholeN++
		}
	}
	if wholeN == 0 || wholeN == len(ids) {
		t.Fatalf("%d of %d blobs are whole pack entries; the test needs both kinds", wholeN, len(ids))
	}
	for _, workers := range []int{1, 4} {
		got, err := db.readBlobs(ids, workers)
		if err != nil {
			t.Fatalf("workers=%d: %v", workers, err)
		}
		for i, h := range ids {
			if want := wrGit(t, dir, "cat-file", "blob", h.String()); string(got[i]) != want+"\n" && string(got[i]) != want {
				t.Fatalf("workers=%d: %s (%s) = %q, git says %q", workers, paths[i], h.short(), got[i], want)
			}
		}
	}
	// The caller owns the slices: scribbling on every one changes nothing
	// a later read returns (deltified blobs are read through the cache of
	// delta bases, whole ones by the workers).
	for i := 0; i < 2; i++ {
		got, err := r.ReadBlobs(ids)
		if err != nil || len(got) != len(ids) {
			t.Fatalf("ReadBlobs: %d, %v", len(got), err)
		}
		for j, b := range got {
			if want := wrGit(t, dir, "cat-file", "blob", ids[j].String()); strings.TrimSuffix(string(b), "\n") != want {
				t.Fatalf("read %d: %s = %q after the caller changed an earlier result, git says %q", i, paths[j], b, want)
			}
			for k := range b {
				b[k] = 'X'
			}
		}
	}

	hd, _ := r.Head()
	c, _ := r.ReadCommit(hd.Commit)
	if _, err := r.ReadBlobs(append(ids[:len(ids):len(ids)], c.Tree)); err == nil || !strings.Contains(err.Error(), "object is a tree") {
		t.Fatalf("ReadBlobs with a tree = %v, want an error naming the tree", err)
	}
	missing := Hash{0xde, 0xad}
	if _, err := r.ReadBlobs(append(ids[:len(ids):len(ids)], missing)); !errors.Is(err, ErrObjectNotFound) {
		t.Fatalf("ReadBlobs with a missing id = %v, want ErrObjectNotFound", err)
	}
}
