package repo

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// IndexEntries reads every index version as `git ls-files --stage` does,
// and StagedFiles lists what `git diff --cached` would add or change.
func TestIndexEntriesAndStagedFilesAgreeWithGit(t *testing.T) {
	for _, version := range []string{"2", "3", "4"} {
		t.Run("v"+version, func(t *testing.T) {
			dir := wrInitWithFiles(t, map[string]string{
				"a.txt": "a", "dir/b.txt": "b", "dir/sub/c.txt": "c", "gone.txt": "g", "same.txt": "s",
			})
			wrWrite(t, dir, "a.txt", "changed")
			wrWrite(t, dir, "new/d.txt", "new")
			wrWrite(t, dir, "dir/sub/c.txt", "changed c")
			wrWrite(t, dir, "unstaged.txt", "not added")
			wrGit(t, dir, "add", "a.txt", "new/d.txt", "dir/sub/c.txt")
			wrGit(t, dir, "rm", "-q", "--cached", "gone.txt")
			wrWrite(t, dir, "exec.sh", "#!/bin/sh\n")
			wrGit(t, dir, "add", "--chmod=+x", "exec.sh")
			if version == "3" {
				wrWrite(t, dir, "later.txt", "intent")
				wrGit(t, dir, "add", "-N", "later.txt")
				wrGit(t, dir, "update-index", "--skip-worktree", "same.txt")
			}
			wrGit(t, dir, "update-index", "--index-version", version)
			r := wrOpen(t, dir)

			entries, err := r.IndexEntries(filepath.Join(dir, ".git", "index"))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range entries {
				got = append(got, fmt.Sprintf("%06o %s %d\t%s", e.Mode, e.Hash, e.Stage, e.Path))
			}
			if want := wrGit(t, dir, "ls-files", "--stage"); strings.Join(got, "\n") != want {
				t.Fatalf("IndexEntries:\n%s\ngit ls-files --stage:\n%s", strings.Join(got, "\n"), want)
			}

			staged, err := r.StagedFiles(r.IndexPath())
			if err != nil {
				t.Fatal(err)
			}
			got = got[:0]
			for _, e := range staged {
				got = append(got, e.Path)
			}
			want := strings.Fields(wrGit(t, dir, "diff", "--cached", "--name-only", "--diff-filter=d"))
			sort.Strings(want)
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Fatalf("StagedFiles = %v, git diff --cached = %v", got, want)
			}
		})
	}
}

func TestStagedFilesUnbornAndConflicts(t *testing.T) {
	dir := wrInit(t)
	wrWrite(t, dir, "first.txt", "1")
	wrGit(t, dir, "add", "first.txt")
	r := wrOpen(t, dir)
	staged, err := r.StagedFiles(r.IndexPath())
	if err != nil || len(staged) != 1 || staged[0].Path != "first.txt" {
		t.Fatalf("unborn branch: %v, %v", staged, err)
	}
	wrGit(t, dir, "commit", "-q", "-m", "1")
	wrGit(t, dir, "checkout", "-q", "-b", "side")
	wrWrite(t, dir, "first.txt", "theirs")
	wrGit(t, dir, "commit", "-q", "-am", "t")
	wrGit(t, dir, "checkout", "-q", "main")
	wrWrite(t, dir, "first.txt", "ours")
	wrGit(t, dir, "commit", "-q", "-am", "o")
	wrGitErr(dir, "", "merge", "side") // a conflict: stages 1, 2, 3
	staged, err = r.StagedFiles(r.IndexPath())
	if err != nil {
		t.Fatal(err)
	}
	var stages []int
	for _, e := range staged {
		stages = append(stages, e.Stage)
	}
	if fmt.Sprint(stages) != "[2 3]" {
		t.Fatalf("a conflicted path lists stages %v, want ours and theirs", stages)
	}
	if _, err := r.IndexEntries(filepath.Join(dir, "no-such-index")); err != nil {
		t.Fatalf("a missing index: %v", err)
	}
}

func TestIndexEntriesRefusesSplitIndex(t *testing.T) {
	dir := wrInitWithFiles(t, map[string]string{"a": "1"})
	wrGit(t, dir, "update-index", "--split-index")
	r := wrOpen(t, dir)
	if _, err := r.IndexEntries(filepath.Join(dir, ".git", "index")); err == nil {
		t.Fatal("read a split index as if it were whole")
	}
}
