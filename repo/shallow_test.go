package repo

// Fetching into a shallow repository, and from a shallow remote, checked
// with git itself (git fsck, git log) in the repository fetched into. The
// scenarios (rmWire*Shallow*) run over every transport.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFetchIntoShallow(t *testing.T)       { rmTransports(t, rmWireFetchIntoShallow) }
func TestFetchFromShallowRemote(t *testing.T) { rmTransports(t, rmWireFetchFromShallow) }

func TestHTTPFetchIntoShallow(t *testing.T) {
	base := t.TempDir()
	bare := rmHTTPBare(t, base, "remote.git")
	rmWireFetchIntoShallow(t, bare, rmHTTPURL(rmHTTP(t, base), rmHTTPUser, rmHTTPPass, "remote.git"))
}

func TestHTTPFetchFromShallowRemote(t *testing.T) {
	base := t.TempDir()
	bare := rmHTTPBare(t, base, "remote.git")
	rmWireFetchFromShallow(t, bare, rmHTTPURL(rmHTTP(t, base), rmHTTPUser, rmHTTPPass, "remote.git"))
}

func TestSSHFetchShallow(t *testing.T) {
	e := rmSSHStart(t)
	t.Run("into-shallow", func(t *testing.T) {
		rmWireFetchIntoShallow(t, e.bare(t, "into.git"), e.url("into.git"))
	})
	t.Run("from-shallow", func(t *testing.T) {
		rmWireFetchFromShallow(t, e.bare(t, "from.git"), e.url("from.git"))
	})
}

// rmShallowFile returns the lines of dir's .git/shallow ("" when there is
// no such file).
func rmShallowFile(t testing.TB, gitDir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(gitDir, "shallow"))
	if errors.Is(err, os.ErrNotExist) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// rmCommitFile commits one file on the checked-out branch of dir.
func rmCommitFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	rmGit(t, dir, "add", name)
	rmGit(t, dir, "commit", "-q", "-m", "add "+name)
	return rmGit(t, dir, "rev-parse", "HEAD")
}

// rmWireFetchIntoShallow: a depth-1 clone of main fetches refs that need
// history behind its shallow commit (a ref at main's first commit, a
// branch forked from it). The remote must be told which commits the clone
// has without parents, or it takes that history for had and leaves it out.
func rmWireFetchIntoShallow(t *testing.T, bare, url string) {
	ctx := context.Background()
	src := rmRepo(t, 4, 0)
	first := rmGit(t, src, "rev-list", "--max-parents=0", "HEAD")
	rmGit(t, src, "update-ref", "refs/gitseal/old", first)
	rmGit(t, src, "checkout", "-q", "-b", "side", first)
	side := rmCommitFile(t, src, "side.txt", "side\n")
	rmGit(t, src, "checkout", "-q", "main")
	rmGit(t, src, "push", "-q", bare, "main", "side", "refs/gitseal/*:refs/gitseal/*")

	local := filepath.Join(t.TempDir(), "shallow")
	rmGit(t, filepath.Dir(local), "clone", "-q", "--depth", "1", "--single-branch", "--branch", "main", "file://"+bare, local)
	mainTip := rmGit(t, local, "rev-parse", "HEAD")
	if got := rmShallowFile(t, filepath.Join(local, ".git")); got != mainTip+"\n" {
		t.Fatalf("the depth-1 clone's shallow file is %q, want main's tip", got)
	}
	r, err := Open(local)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	fr, err := r.Fetch(ctx, url, func(ref string) bool { return ref == "refs/heads/side" || ref == "refs/gitseal/old" })
	if err != nil {
		t.Fatalf("fetch into a shallow clone: %v", err)
	}
	if fr.Refs["refs/heads/side"].String() != side || fr.Refs["refs/gitseal/old"].String() != first {
		t.Fatalf("advertised %v", fr.Refs)
	}
	for _, name := range []string{"refs/heads/side", "refs/gitseal/old"} {
		if err := r.UpdateRef(name, fr.Refs[name], ZeroHash, "test"); err != nil {
			t.Fatal(err)
		}
	}
	// git agrees the repository is whole, and walks the fetched history.
	rmFsck(t, local)
	if got, want := rmGit(t, local, "log", "--format=%H", "refs/heads/side"), rmGit(t, src, "log", "--format=%H", "side"); got != want {
		t.Errorf("git log side in the clone:\n%s\nin the source:\n%s", got, want)
	}
	rmGit(t, local, "log", "-p", "refs/gitseal/old")
	// The clone is as shallow as it was: main's tip still has no parents here.
	if got := rmShallowFile(t, filepath.Join(local, ".git")); got != mainTip+"\n" {
		t.Errorf("after the fetch the shallow file is %q, want %q", got, mainTip+"\n")
	}
	var seen []string
	if err := r.PathLog(rmHash(t, side), "common.txt", func(c *Commit, _ Hash) error {
		seen = append(seen, c.Hash.String())
		return nil
	}); err != nil || len(seen) != 1 || seen[0] != first {
		t.Errorf("PathLog(side, common.txt) = %v, %v; want [%s]", seen, err, first)
	}
}

// rmWireFetchFromShallow: bare becomes a depth-2 clone of a repository
// (branches main and records, each cut short). Fetching from it brings
// commits without their parents: the repository fetched into must record
// them in its shallow file (merging what is there, sorted), or git log and
// git fsck fail there. A repository that has the parents already records
// nothing.
func rmWireFetchFromShallow(t *testing.T, bare, url string) {
	ctx := context.Background()
	src := rmRepo(t, 3, 3)
	rmGit(t, src, "branch", "records", "refs/gitseal/publish/prod")
	full := filepath.Join(t.TempDir(), "full")
	rmGit(t, filepath.Dir(full), "clone", "-q", "file://"+src, full)
	rmCommitFile(t, src, "four.txt", "4\n")
	rmCommitFile(t, src, "five.txt", "5\n")
	if err := os.RemoveAll(bare); err != nil {
		t.Fatal(err)
	}
	rmGit(t, filepath.Dir(bare), "clone", "-q", "--bare", "--no-single-branch", "--depth", "2", "file://"+src, bare)
	mainCut := rmGit(t, bare, "rev-parse", "main~1")
	recordsCut := rmGit(t, bare, "rev-parse", "records~1")
	if got := strings.Fields(rmShallowFile(t, bare)); len(got) != 2 {
		t.Fatalf("the remote's shallow file lists %v, want main~1 and records~1", got)
	}

	other, o := rmEmptyRepo(t)
	gitDir := filepath.Join(other, ".git")
	fetch := func(ref string) FetchResult {
		t.Helper()
		fr, err := o.Fetch(ctx, url, func(name string) bool { return name == ref })
		if err != nil {
			t.Fatalf("fetching %s from a shallow remote: %v", ref, err)
		}
		if err := o.UpdateRef(ref, fr.Refs[ref], ZeroHash, "test"); err != nil {
			t.Fatal(err)
		}
		return fr
	}

	// main alone: its cut commit is recorded, records' is not (not here).
	fetch("refs/heads/main")
	if got := rmShallowFile(t, gitDir); got != mainCut+"\n" {
		t.Errorf("after fetching main the shallow file is %q, want %q", got, mainCut+"\n")
	}
	rmFsck(t, other)
	if got, want := rmGit(t, other, "log", "--format=%H", "main"), rmGit(t, bare, "log", "--format=%H", "main"); got != want {
		t.Errorf("git log main after the fetch:\n%s\nin the remote:\n%s", got, want)
	}
	n := 0
	if err := o.PathLog(rmHash(t, rmGit(t, bare, "rev-parse", "main")), "common.txt", func(*Commit, Hash) error {
		n++
		return nil
	}); err != nil || n != 1 {
		t.Errorf("PathLog(main, common.txt): %d commits, %v; want 1 (the cut commit, as a root)", n, err)
	}

	// Then records: merged in, sorted, once each, through git's lock file.
	fetch("refs/heads/records")
	want := []string{mainCut, recordsCut}
	if want[0] > want[1] {
		want[0], want[1] = want[1], want[0]
	}
	if got := rmShallowFile(t, gitDir); got != want[0]+"\n"+want[1]+"\n" {
		t.Errorf("after fetching records the shallow file is %q, want %q sorted", got, want)
	}
	if _, err := os.Stat(filepath.Join(gitDir, "shallow.lock")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("shallow.lock left behind (stat: %v)", err)
	}
	rmFsck(t, other)
	rmGit(t, other, "log", "--oneline", "records")
	// Fetching again changes nothing.
	fetchAgain, err := o.Fetch(ctx, url, func(string) bool { return true })
	if err != nil || fetchAgain.Objects != 0 {
		t.Errorf("fetching again: %+v, %v", fetchAgain, err)
	}
	if got := rmShallowFile(t, gitDir); got != want[0]+"\n"+want[1]+"\n" {
		t.Errorf("fetching again rewrote the shallow file: %q", got)
	}

	// A repository with the whole history: the remote's cut commit has its
	// parents here, so nothing is shallow.
	f, err := Open(full)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fr, err := f.Fetch(ctx, url, func(name string) bool { return name == "refs/heads/main" })
	if err != nil || fr.Objects == 0 {
		t.Fatalf("fetch into the full clone: %+v, %v", fr, err)
	}
	if got := rmShallowFile(t, filepath.Join(full, ".git")); got != "" {
		t.Errorf("a complete repository got a shallow file: %q", got)
	}
	if err := f.UpdateRef("refs/remotes/origin/main", fr.Refs["refs/heads/main"], rmHash(t, rmGit(t, full, "rev-parse", "refs/remotes/origin/main")), "test"); err != nil {
		t.Fatal(err)
	}
	rmFsck(t, full)
	if got := strings.Count(rmGit(t, full, "log", "--format=%H", "refs/remotes/origin/main"), "\n") + 1; got != 5 {
		t.Errorf("git log in the full clone lists %d commits, want all 5", got)
	}
}

// TestFetchShallowLocked: while a git process holds shallow.lock, a fetch
// that must record a boundary fails saying so and leaves the shallow file
// alone; the next fetch, with nothing left to fetch, still records it.
func TestFetchShallowLocked(t *testing.T) {
	defer func(d time.Duration) { refLockTimeout = d }(refLockTimeout)
	refLockTimeout = 50 * time.Millisecond
	ctx := context.Background()
	src := rmRepo(t, 3, 0)
	bare := filepath.Join(t.TempDir(), "remote.git")
	rmGit(t, filepath.Dir(bare), "clone", "-q", "--bare", "--depth", "1", "file://"+src, bare)
	tip := rmGit(t, bare, "rev-parse", "main")
	other, o := rmEmptyRepo(t)
	gitDir := filepath.Join(other, ".git")
	lock := filepath.Join(gitDir, "shallow.lock")
	if err := os.WriteFile(lock, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := o.Fetch(ctx, bare, func(string) bool { return true })
	if !errors.Is(err, ErrGitLocked) || !strings.Contains(err.Error(), "shallow.lock") {
		t.Fatalf("fetch with shallow.lock held: %v, want ErrGitLocked naming the file", err)
	}
	if got := rmShallowFile(t, gitDir); got != "" {
		t.Errorf("the shallow file was written under a held lock: %q", got)
	}
	os.Remove(lock)
	fr, err := o.Fetch(ctx, bare, func(string) bool { return true })
	if err != nil || fr.Objects != 0 {
		t.Fatalf("second fetch: %+v, %v; want nothing to fetch", fr, err)
	}
	if got := rmShallowFile(t, gitDir); got != tip+"\n" {
		t.Errorf("shallow file %q, want %q", got, fmt.Sprintln(tip))
	}
	if err := o.UpdateRef("refs/heads/main", rmHash(t, tip), ZeroHash, "test"); err != nil {
		t.Fatal(err)
	}
	rmFsck(t, other)
}
