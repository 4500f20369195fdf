package repo

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// wrIndexFiles surround the changed paths with neighbours that stress the
// sort order and v4 prefix compression.
func wrIndexFiles() map[string]string {
	files := wrBaseFiles()
	for _, name := range []string{
		".git-blame-ignore-revs", ".github/workflows/ci.yml", ".gitseal-notes", ".gitseal.txt",
		".gitseal/a", ".gitseal/default/secrets/W", ".gitseal/default/secretsZ", ".gitseal/default/secrets.d/x",
		".gitseal0/x", "A", "a/very/deep/path/to/a/file.txt", "zz",
	} {
		files[name] = name + "\n"
	}
	return files
}

func wrIndexChanges() []Change {
	return []Change{
		wrSet(wrX, "x-new\n"),
		wrSet(".gitseal/default/secrets/A", "a\n"), // before W
		wrDel(wrZ),
		wrSet(".gitseal/zz/last", "last\n"), // new directory at the end of .gitseal
		wrSet("!first", "first entry of the index\n"),
		wrSet("zzz", "last entry of the index\n"),
	}
}

func wrIndexHeader(t testing.TB, dir string) (version uint32, exts []string) {
	t.Helper()
	s, err := scanIndex(filepath.Join(dir, ".git", "index"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	b, _ := os.ReadFile(filepath.Join(dir, ".git", "index"))
	for off := s.entriesEnd; off < int64(len(b))-20; {
		exts = append(exts, string(b[off:off+4]))
		off += 8 + int64(binary.BigEndian.Uint32(b[off+4:]))
	}
	return s.version, exts
}

// wrDebugEntries maps each index path to its `git ls-files -s --debug`
// record (stat data included).
func wrDebugEntries(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := wrGit(t, dir, "ls-files", "-s", "--debug")
	m := map[string]string{}
	var cur string
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "  ") {
			_, cur, _ = strings.Cut(line, "\t")
		}
		m[cur] += line + "\n"
	}
	return m
}

func TestCommitChangesIndexVersions(t *testing.T) {
	for _, version := range []int{2, 3, 4} {
		t.Run("v"+string(rune('0'+version)), func(t *testing.T) {
			dir := wrInitWithFiles(t, wrIndexFiles())
			wrGit(t, dir, "update-index", "--index-version", string(rune('0'+version)))
			// A long path (over the 12-bit name length) in the index only.
			long := strings.Repeat("long/", 900) + "name"
			blob := wrGitIn(t, dir, "long\n", "hash-object", "-w", "--stdin")
			wrGit(t, dir, "update-index", "--add", "--cacheinfo", "100644,"+blob+","+long)
			wrGit(t, dir, "commit", "-q", "-m", "long path")
			if version == 3 {
				// Intent-to-add needs extended flags: git keeps v3 for them.
				wrWrite(t, dir, "src/intent.go", "package src\n")
				wrGit(t, dir, "add", "-N", "src/intent.go")
			}
			wrWrite(t, dir, "src/a.go", "package a // staged\n")
			wrGit(t, dir, "add", "src/a.go")
			wrWrite(t, dir, "README.md", "unstaged\n")
			if v, _ := wrIndexHeader(t, dir); v != uint32(version) {
				t.Fatalf("fixture index is v%d", v)
			}
			before := wrDebugEntries(t, dir)
			state := wrUserState(t, dir)
			if _, err := wrCommit(t, dir, CommitRequest{Changes: wrIndexChanges()}); err != nil {
				t.Fatal(err)
			}
			if v, _ := wrIndexHeader(t, dir); v != uint32(version) {
				t.Errorf("index is now v%d", v)
			}
			after := wrDebugEntries(t, dir)
			changed := map[string]bool{}
			for _, c := range wrIndexChanges() {
				changed[c.Path] = true
				if _, ok := after[c.Path]; ok == c.Delete {
					t.Errorf("%s: in index = %v after the commit", c.Path, ok)
				}
			}
			for path, rec := range before {
				if !changed[path] && after[path] != rec {
					t.Errorf("entry %s changed:\n%s->\n%s", path, rec, after[path])
				}
			}
			if len(after) != len(before)+4-1 {
				t.Errorf("%d entries, want %d", len(after), len(before)+3)
			}
			var paths []string
			for p := range changed {
				paths = append(paths, p)
			}
			wrCheckClean(t, dir, paths...)
			if got := wrUserState(t, dir); got != state {
				t.Errorf("user state changed:\n%+v\n%+v", state, got)
			}
			// With the user's staged change committed too, the index is
			// exactly HEAD's tree.
			wrGit(t, dir, "commit", "-q", "-m", "user")
			wrCheckTreeMatchesHead(t, dir)
			if version == 3 {
				if got := wrGit(t, dir, "diff", "--name-only"); got != "README.md\nsrc/intent.go" {
					t.Errorf("unstaged after commit: %q", got)
				}
			}
			wrFsck(t, dir)
		})
	}
}

func TestIndexSpliceWithoutChangesIsIdentity(t *testing.T) {
	for _, version := range []string{"2", "3", "4"} {
		dir := wrInitWithFiles(t, wrIndexFiles())
		wrGit(t, dir, "update-index", "--index-version", version)
		if version == "3" {
			wrWrite(t, dir, "src/intent.go", "package src\n")
			wrGit(t, dir, "add", "-N", "src/intent.go")
		}
		wrGit(t, dir, "write-tree")
		path := filepath.Join(dir, ".git", "index")
		in, _ := os.ReadFile(path)
		s, err := scanIndex(path, []string{wrX}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := writeIndex(&out, s, nil); err != nil {
			t.Fatal(err)
		}
		s.close()
		if !bytes.Equal(out.Bytes(), in) {
			t.Errorf("v%s: splice without changes differs from the input (%d vs %d bytes)", version, out.Len(), len(in))
		}
		// Replacing an entry by itself is the identity too.
		s, _ = scanIndex(path, []string{wrX}, nil)
		e := s.spot(wrX).entries[0]
		out.Reset()
		if err := writeIndex(&out, s, []indexChange{{path: wrX, entry: &e}}); err != nil {
			t.Fatal(err)
		}
		s.close()
		// Except for the TREE extension, which is invalidated along the path.
		if n := bytes.Index(in, []byte("TREE")); n < 0 || !bytes.Equal(out.Bytes()[:n], in[:n]) {
			t.Errorf("v%s: entries differ after replacing one by itself", version)
		}
	}
}

func TestCommitChangesCachedTreeInvalidated(t *testing.T) {
	dir := wrInitWithFiles(t, wrIndexFiles())
	wrGit(t, dir, "write-tree") // every directory valid in TREE
	srcTree := wrGit(t, dir, "rev-parse", "HEAD:src")
	if _, err := wrCommit(t, dir, CommitRequest{Changes: []Change{wrSet(wrX, "new\n")}}); err != nil {
		t.Fatal(err)
	}
	s, err := scanIndex(filepath.Join(dir, ".git", "index"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.close()
	find := func(path string) *cacheTree {
		n := s.tree
		for _, c := range strings.Split(path, "/") {
			if c == "" {
				continue
			}
			var next *cacheTree
			for _, ch := range n.children {
				if ch.name == c {
					next = ch
				}
			}
			if next == nil {
				return nil
			}
			n = next
		}
		return n
	}
	for _, p := range []string{"", ".gitseal", ".gitseal/default", ".gitseal/default/secrets"} {
		if n := find(p); n == nil || n.count != -1 {
			t.Errorf("cached tree %q not invalidated: %+v", p, n)
		}
	}
	if n := find("src"); n == nil || n.count < 0 || n.hash.String() != srcTree {
		t.Errorf("cached tree src lost: %+v", n)
	}
	wrCheckTreeMatchesHead(t, dir)
	wrFsck(t, dir)
}

func TestCommitChangesIndexExtensions(t *testing.T) {
	dir := wrInitWithFiles(t, wrIndexFiles())
	wrGit(t, dir, "config", "core.untrackedCache", "true")
	wrWrite(t, dir, ".gitseal/default/secrets/untracked-here", "u\n")
	wrWrite(t, dir, "other/untracked", "u\n")
	wrGit(t, dir, "update-index", "--untracked-cache")
	wrGit(t, dir, "status", "--porcelain")
	wrGit(t, dir, "-c", "index.recordEndOfIndexEntries=true", "update-index", "--force-write-index", "--refresh")
	_, exts := wrIndexHeader(t, dir)
	if strings.Join(exts, " ") != "TREE UNTR EOIE" {
		t.Fatalf("fixture extensions %v", exts)
	}
	state := wrUserState(t, dir)
	if _, err := wrCommit(t, dir, CommitRequest{Changes: []Change{wrSet(wrX, "n\n"), wrSet(wrY, "y\n"), wrDel(wrZ)}}); err != nil {
		t.Fatal(err)
	}
	if _, exts := wrIndexHeader(t, dir); strings.Join(exts, " ") != "TREE UNTR" {
		t.Errorf("extensions after commit: %v", exts)
	}
	// The untracked cache still gives the right answer: the new file is
	// tracked, the untracked neighbour still listed.
	if got := wrUserState(t, dir); got != state {
		t.Errorf("status with the untracked cache:\n%+v\n%+v", state, got)
	}
	wrCheckClean(t, dir, wrX, wrY, wrZ)
	wrFsck(t, dir)
}

func TestCommitChangesRefusesSplitIndex(t *testing.T) {
	dir := wrInitWithFiles(t, wrBaseFiles())
	wrGit(t, dir, "update-index", "--split-index")
	head := wrGit(t, dir, "rev-parse", "HEAD")
	_, err := wrCommit(t, dir, CommitRequest{Changes: []Change{wrSet(wrX, "n\n")}})
	if !errors.Is(err, ErrIndexUnsupported) || !strings.Contains(err.Error(), "git update-index --no-split-index") {
		t.Fatalf("err = %v", err)
	}
	if wrGit(t, dir, "rev-parse", "HEAD") != head {
		t.Error("HEAD moved")
	}
	if _, err := os.Stat(filepath.Join(dir, ".git", "index.lock")); !os.IsNotExist(err) {
		t.Error("index.lock left")
	}
	wrGit(t, dir, "update-index", "--no-split-index")
	if _, err := wrCommit(t, dir, CommitRequest{Changes: []Change{wrSet(wrX, "n\n")}}); err != nil {
		t.Fatalf("after --no-split-index: %v", err)
	}
	wrCheckClean(t, dir)
}

func TestCommitChangesWaitsForGitIndexLock(t *testing.T) {
	dir := wrInitWithFiles(t, wrBaseFiles())
	defer func(d time.Duration) { indexLockTimeout = d }(indexLockTimeout)
	indexLockTimeout = 200 * time.Millisecond
	lock := filepath.Join(dir, ".git", "index.lock")
	os.WriteFile(lock, nil, 0o644)
	head := wrGit(t, dir, "rev-parse", "HEAD")
	_, err := wrCommit(t, dir, CommitRequest{Changes: []Change{wrSet(wrX, "n\n")}})
	if !errors.Is(err, ErrGitLocked) || !strings.Contains(err.Error(), lock) {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(lock); err != nil {
		t.Error("git's index.lock was removed")
	}
	if wrGit(t, dir, "rev-parse", "HEAD") != head {
		t.Error("HEAD moved")
	}
}

func FuzzScanIndex(f *testing.F) {
	dir := wrInitWithFiles(f, wrIndexFiles())
	for _, v := range []string{"2", "4"} {
		wrGit(f, dir, "update-index", "--index-version", v)
		wrGit(f, dir, "write-tree")
		b, _ := os.ReadFile(filepath.Join(dir, ".git", "index"))
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "index")
		os.WriteFile(path, data, 0o644)
		s, err := scanIndex(path, []string{wrX, "a"}, []string{"a"})
		if err != nil {
			return
		}
		defer s.close()
		var out bytes.Buffer
		if err := writeIndex(&out, s, nil); err != nil {
			return
		}
		// A scan that succeeded reproduces its input, apart from dropped
		// extensions (the output is then shorter) and a zero checksum.
		if out.Len() == len(data) && !bytes.Equal(out.Bytes()[:len(data)-20], data[:len(data)-20]) {
			t.Errorf("splice without changes altered the entries")
		}
	})
}

func TestCommitChangesSparseCheckout(t *testing.T) {
	dir := wrInitWithFiles(t, wrBaseFiles())
	// Non-cone sparse checkout without a sparse index: .gitseal's entries
	// are skip-worktree, its files absent; they stay so.
	wrGit(t, dir, "sparse-checkout", "set", "--no-cone", "/src/")
	if _, err := os.Stat(filepath.Join(dir, wrX)); !os.IsNotExist(err) {
		t.Fatalf("fixture: %s checked out", wrX)
	}
	if _, err := wrCommit(t, dir, CommitRequest{Changes: []Change{wrSet(wrX, "sparse\n"), wrSet(wrY, "new\n")}}); err != nil {
		t.Fatal(err)
	}
	if got := wrGit(t, dir, "show", "HEAD:"+wrX); got != "sparse" {
		t.Errorf("committed %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, wrX)); !os.IsNotExist(err) {
		t.Errorf("skip-worktree file written: %v", err)
	}
	if got := wrGit(t, dir, "ls-files", "-t", "--", wrX); got != "S "+wrX {
		t.Errorf("ls-files -t: %q", got)
	}
	if got := wrGit(t, dir, "status", "--porcelain"); got != "" {
		t.Errorf("status: %q", got)
	}
	wrCheckTreeMatchesHead(t, dir)

	// A sparse index (directories collapsed) is refused with a hint.
	wrGit(t, dir, "sparse-checkout", "init", "--cone", "--sparse-index")
	wrGit(t, dir, "sparse-checkout", "set", "src")
	if b, _ := os.ReadFile(filepath.Join(dir, ".git", "index")); !bytes.Contains(b, []byte("sdir")) {
		t.Fatal("fixture: git wrote no sparse index")
	}
	_, err := wrCommit(t, dir, CommitRequest{Changes: []Change{wrSet(wrX, "n\n")}})
	if !errors.Is(err, ErrIndexUnsupported) || !strings.Contains(err.Error(), "git sparse-checkout init --no-sparse-index") {
		t.Fatalf("sparse index: %v", err)
	}
	// The command in the hint works.
	wrGit(t, dir, "sparse-checkout", "init", "--no-sparse-index")
	if _, err := wrCommit(t, dir, CommitRequest{Changes: []Change{wrSet(wrX, "n\n")}}); err != nil {
		t.Fatalf("after the hint: %v", err)
	}
	if got := wrGit(t, dir, "status", "--porcelain"); got != "" {
		t.Errorf("status: %q", got)
	}
}
