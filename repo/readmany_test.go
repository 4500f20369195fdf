package repo

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// collectBlobs is EachBlob (or eachBlob with workers) into copies, checking
// that every index comes exactly once.
func collectBlobs(t *testing.T, ids []Hash, each func(fn func(int, []byte) error) error) ([][]byte, error) {
	t.Helper()
	got := make([][]byte, len(ids))
	calls := make([]int, len(ids))
	var mu sync.Mutex
	err := each(func(i int, data []byte) error {
		mu.Lock()
		defer mu.Unlock()
		calls[i]++
		got[i] = bytes.Clone(data)
		return nil
	})
	if err == nil {
		for i, n := range calls {
			if n != 1 {
				t.Fatalf("blob %d (%s) handed over %d times, want once", i, ids[i].short(), n)
			}
		}
	}
	return got, err
}

// TestEachBlob: many blobs at once, whole packed entries, deltified ones
// and loose ones mixed, read with one worker and with several, match what
// git prints; a tree among them or a missing id fails as ReadBlob does; an
// error from the callback stops the reading and is returned.
func TestEachBlob(t *testing.T) {
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
		if _, ok, err := db.findWhole(h, nil); err != nil {
			t.Fatal(err)
		} else if ok {
			wholeN++
		}
	}
	if wholeN == 0 || wholeN == len(ids) {
		t.Fatalf("%d of %d blobs are whole pack entries; the test needs both kinds", wholeN, len(ids))
	}
	want := make([]string, len(ids))
	for i, h := range ids {
		want[i] = wrGit(t, dir, "cat-file", "blob", h.String())
	}
	for _, workers := range []int{1, 4} {
		got, err := collectBlobs(t, ids, func(fn func(int, []byte) error) error { return db.eachBlob(ids, workers, fn) })
		if err != nil {
			t.Fatalf("workers=%d: %v", workers, err)
		}
		for i := range ids {
			if strings.TrimSuffix(string(got[i]), "\n") != want[i] {
				t.Fatalf("workers=%d: %s (%s) = %q, git says %q", workers, paths[i], ids[i].short(), got[i], want[i])
			}
		}
	}
	got, err := collectBlobs(t, ids, func(fn func(int, []byte) error) error { return r.EachBlob(ids, fn) })
	if err != nil {
		t.Fatalf("EachBlob: %v", err)
	}
	for i := range ids {
		if strings.TrimSuffix(string(got[i]), "\n") != want[i] {
			t.Fatalf("EachBlob: %s = %q, git says %q", paths[i], got[i], want[i])
		}
	}

	// An error from fn is returned, and stops what has not started: with
	// one worker, nothing after the failing blob is handed over.
	stopErr := errors.New("stop here")
	for _, workers := range []int{1, 4} {
		var mu sync.Mutex
		calls := 0
		err := db.eachBlob(ids, workers, func(i int, data []byte) error {
			mu.Lock()
			defer mu.Unlock()
			calls++
			if calls == 3 {
				return stopErr
			}
			return nil
		})
		if !errors.Is(err, stopErr) {
			t.Fatalf("workers=%d: eachBlob with a failing fn = %v, want its error", workers, err)
		}
		if workers == 1 && calls != 3 {
			t.Fatalf("workers=1: fn called %d times after failing on the 3rd, want 3", calls)
		}
		if calls >= len(ids) {
			t.Fatalf("workers=%d: fn called for all %d blobs after failing; the rest were not stopped", workers, calls)
		}
	}

	hd, _ := r.Head()
	c, _ := r.ReadCommit(hd.Commit)
	noop := func(int, []byte) error { return nil }
	if err := r.EachBlob(append(ids[:len(ids):len(ids)], c.Tree), noop); err == nil || !strings.Contains(err.Error(), "object is a tree") {
		t.Fatalf("EachBlob with a tree = %v, want an error naming the tree", err)
	}
	missing := Hash{0xde, 0xad}
	if err := r.EachBlob(append(ids[:len(ids):len(ids)], missing), noop); !errors.Is(err, ErrObjectNotFound) {
		t.Fatalf("EachBlob with a missing id = %v, want ErrObjectNotFound", err)
	}
}
