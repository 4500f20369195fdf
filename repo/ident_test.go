package repo

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// wrIsolateIdentity clears every identity source outside the repository.
func wrIsolateIdentity(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	t.Setenv("GIT_CONFIG_GLOBAL", filepath.Join(home, "global.cfg"))
	for _, v := range []string{"GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_AUTHOR_DATE",
		"GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "GIT_COMMITTER_DATE", "EMAIL"} {
		t.Setenv(v, "")
		unsetenv(t, v)
	}
}

func TestSignatureOrder(t *testing.T) {
	wrIsolateIdentity(t)
	dir, _ := filepath.EvalSymlinks(t.TempDir())
	wrGit(t, dir, "init", "-q", "-b", "main")
	r := wrOpen(t, dir)
	now := time.Unix(1700000000, 0).In(time.FixedZone("", 3600))

	_, err := r.Signature("committer", now)
	if !errors.Is(err, ErrNoIdentity) {
		t.Fatalf("no identity: err = %v", err)
	}
	for _, want := range []string{`git config --global user.name "Your Name"`, `git config --global user.email`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks the fix %q", err, want)
		}
	}

	global := os.Getenv("GIT_CONFIG_GLOBAL") // created now, after the first lookup
	wrRun(dir, append(wrEnv(dir), "GIT_CONFIG_GLOBAL="+global), "", "config", "--global", "user.name", "Global Name")
	wrRun(dir, append(wrEnv(dir), "GIT_CONFIG_GLOBAL="+global), "", "config", "--global", "user.email", "global@example.com")
	check := func(role, name, email string) {
		t.Helper()
		s, err := r.Signature(role, now)
		if err != nil {
			t.Fatalf("%s: %v", role, err)
		}
		if s.Name != name || s.Email != email || !s.When.Equal(now) {
			t.Errorf("%s = %+v, want %s <%s>", role, s, name, email)
		}
	}
	check("author", "Global Name", "global@example.com")
	wrGit(t, dir, "config", "user.name", "Repo Name")
	check("author", "Repo Name", "global@example.com")
	wrGit(t, dir, "config", "author.name", "Author Name")
	wrGit(t, dir, "config", "committer.email", "committer@example.com")
	check("author", "Author Name", "global@example.com")
	check("committer", "Repo Name", "committer@example.com")
	t.Setenv("GIT_AUTHOR_NAME", "  Env <Name>.  ")
	t.Setenv("GIT_AUTHOR_EMAIL", "<env@example.com>")
	check("author", "Env Name", "env@example.com")
	check("committer", "Repo Name", "committer@example.com")

	t.Setenv("GIT_COMMITTER_DATE", "@1600000000 -0230")
	s, err := r.Signature("committer", now)
	if err != nil {
		t.Fatal(err)
	}
	if _, off := s.When.Zone(); s.When.Unix() != 1600000000 || off != -(2*3600+30*60) {
		t.Errorf("GIT_COMMITTER_DATE: %v", s.When)
	}
	t.Setenv("GIT_COMMITTER_DATE", "yesterday-ish")
	if _, err := r.Signature("committer", now); err == nil || !strings.Contains(err.Error(), "GIT_COMMITTER_DATE") {
		t.Errorf("bad date: err = %v", err)
	}
	if _, err := r.Signature("tagger", now); err == nil {
		t.Error("unknown role accepted")
	}
}

func TestParseGitDateAgreesWithGit(t *testing.T) {
	dir := wrInit(t)
	for _, in := range []string{
		"1700000000 +0100", "@1700000000 -0700",
		"Tue, 14 Nov 2023 22:13:20 +0100", "Tue, 4 Nov 2023 22:13:20 +0100",
		"2023-11-14T22:13:20+01:00", "2023-11-14T22:13:20Z", "2023-11-14 22:13:20 -0500",
	} {
		got, err := parseGitDate(in)
		if err != nil {
			t.Errorf("parseGitDate(%q): %v", in, err)
			continue
		}
		// git's own reading of the same text, via a commit object.
		env := append(wrEnv(dir), "GIT_COMMITTER_DATE="+in)
		tree := wrGit(t, dir, "write-tree")
		id, err := wrRun(dir, env, "x", "commit-tree", tree)
		if err != nil {
			t.Fatal(err)
		}
		raw := wrGit(t, dir, "cat-file", "commit", id)
		var line string
		for _, l := range strings.Split(raw, "\n") {
			if strings.HasPrefix(l, "committer ") {
				line = l
			}
		}
		f := strings.Fields(line)
		want := strings.Join(f[len(f)-2:], " ")
		if g := string(formatSignature(nil, Signature{When: got})); !strings.HasSuffix(g, want) {
			t.Errorf("%q: gitseal %q, git %q", in, g, want)
		}
	}
}

func TestIdentClean(t *testing.T) {
	for in, want := range map[string]string{
		"  Jane Doe  ":       "Jane Doe",
		"<jane@example.com>": "jane@example.com",
		"Jane\n<Doe>":        "JaneDoe",
		`"'.,:;Jane;:,.'"`:   "Jane",
		"O'Brien":            "O'Brien",
		"\t\x01":             "",
		"Jöhn Dœ":            "Jöhn Dœ",
	} {
		if got := identClean(in); got != want {
			t.Errorf("identClean(%q) = %q, want %q", in, got, want)
		}
	}
}
