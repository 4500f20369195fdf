package repo

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// gitConfig asks git for a key in dir with the current process environment.
func gitConfig(t *testing.T, dir string, args ...string) (string, bool) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"config"}, args...)...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 1 {
			return "", false
		}
		t.Fatalf("git config %v: %v", args, err)
	}
	return strings.TrimSuffix(string(out), "\n"), true
}

func TestConfigAgreesWithGit(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, "xdg"))
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	t.Setenv("GIT_CONFIG_GLOBAL", "") // restored after the test
	os.Unsetenv("GIT_CONFIG_GLOBAL")
	t.Setenv("GIT_CONFIG_COUNT", "1")
	t.Setenv("GIT_CONFIG_KEY_0", "gitseal.fromEnv")
	t.Setenv("GIT_CONFIG_VALUE_0", "env value")

	dir := rdInit(t)
	rdWrite(t, home, "xdg/git/config", "[user]\n\tname = XDG Name\n\temail = xdg@example.com\n[core]\n\teditor = xdg-editor\n")
	rdWrite(t, home, ".gitconfig", "[user]\n\tname = Home Name\n[gitseal \"Sub.Section\"]\n\tkey = global\n[include]\n\tpath = ~/inc/more.cfg\n")
	rdWrite(t, home, "inc/more.cfg", "[gitseal]\n\tincluded = from include\n\tmulti = one\n")
	local := `[core]
	repositoryformatversion = 0
	bare = false
[user]
	name = "Quoted  Name " ; trailing comment
[gitseal]
	auditNotify = notify-send "a b" \
continued # comment
	flag
	off = no
	num = 0
	numOn = 7
	empty =
	multi = two
	escaped = tab\there\\ "quote\"d"
	spaced =   inner   spaces   
[remote "origin"]
	url = https://example.com/x.git
	fetch = +refs/heads/*:refs/remotes/origin/*
	fetch = +refs/tags/*:refs/tags/*
[Remote "Origin"]
	url = other case subsection
[GITSEAL.Lower]
	Key = old-style subsection
[includeIf "gitdir:` + filepath.Base(dir) + `/"]
	path = cond.cfg
[includeIf "gitdir:/nowhere/"]
	path = never.cfg
[includeIf "onbranch:main"]
	path = branch.cfg
`
	rdWrite(t, dir, ".git/config", local)
	rdWrite(t, dir, ".git/cond.cfg", "[gitseal]\n\tconditional = yes\n")
	rdWrite(t, dir, ".git/never.cfg", "[gitseal]\n\tnever = yes\n")
	rdWrite(t, dir, ".git/branch.cfg", "[gitseal]\n\tonbranch = yes\n")
	r := rdOpen(t, dir)

	keys := []string{
		"user.name", "user.email", "core.editor", "core.bare", "gitseal.auditNotify", "gitseal.auditnotify",
		"GITSEAL.AUDITNOTIFY", "gitseal.flag", "gitseal.off", "gitseal.num", "gitseal.numOn", "gitseal.empty",
		"gitseal.multi", "gitseal.escaped", "gitseal.spaced", "remote.origin.url", "remote.Origin.url",
		"remote.ORIGIN.url", "remote.origin.fetch", "gitseal.Sub.Section.key", "gitseal.sub.section.key",
		"gitseal.lower.key", "gitseal.Lower.key", "gitseal.included", "gitseal.conditional", "gitseal.never",
		"gitseal.onbranch", "gitseal.fromEnv", "gitseal.missing", "nodot",
	}
	for _, key := range keys {
		want, wantOK := gitConfig(t, dir, "--get", key)
		got, ok := r.Config(key)
		if got != want || ok != wantOK {
			t.Errorf("Config(%q) = %q %v; git says %q %v", key, got, ok, want, wantOK)
		}
		wantAll, _ := gitConfig(t, dir, "--get-all", key)
		if gotAll := strings.Join(r.ConfigAll(key), "\n"); gotAll != wantAll {
			t.Errorf("ConfigAll(%q) = %q; git says %q", key, gotAll, wantAll)
		}
		wantBool, wantBoolOK := gitConfigBool(t, dir, key)
		gotBool, gotBoolOK := r.ConfigBool(key)
		if gotBool != wantBool || gotBoolOK != wantBoolOK {
			t.Errorf("ConfigBool(%q) = %v %v; git says %v %v", key, gotBool, gotBoolOK, wantBool, wantBoolOK)
		}
	}
	if v, _ := r.Config("user.name"); v != "Quoted  Name " {
		t.Errorf("local config should win: %q", v)
	}

	// A change on disk is seen by the next lookup.
	rdGit(t, dir, "config", "gitseal.auditNotify", "changed")
	if v, _ := r.Config("gitseal.auditNotify"); v != "changed" {
		t.Errorf("after git config: %q", v)
	}

	// GIT_CONFIG_GLOBAL replaces both global files.
	t.Setenv("GIT_CONFIG_GLOBAL", filepath.Join(home, "inc", "more.cfg"))
	r2 := rdOpen(t, dir)
	if _, ok := r2.Config("core.editor"); ok {
		t.Error("GIT_CONFIG_GLOBAL did not replace the XDG file")
	}
	if v, _ := r2.Config("gitseal.included"); v != "from include" {
		t.Errorf("GIT_CONFIG_GLOBAL file not read: %q", v)
	}
}

func gitConfigBool(t *testing.T, dir, key string) (bool, bool) {
	cmd := exec.Command("git", "config", "--type=bool", "--get", key)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return false, false
	}
	return strings.TrimSpace(string(out)) == "true", true
}

func TestWorktreeConfig(t *testing.T) {
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	t.Setenv("GIT_CONFIG_GLOBAL", "/dev/null")
	dir := rdInit(t)
	rdCommit(t, dir, 1, "one", map[string]string{"a": "1\n"})
	wt := filepath.Join(t.TempDir(), "wt")
	rdGit(t, dir, "worktree", "add", "-q", "--detach", wt)
	rdGit(t, dir, "config", "gitseal.where", "common")
	r := rdOpen(t, wt)
	if v, _ := r.Config("gitseal.where"); v != "common" {
		t.Fatalf("before worktree config: %q", v)
	}
	rdGit(t, dir, "config", "extensions.worktreeConfig", "true")
	rdGit(t, wt, "config", "--worktree", "gitseal.where", "worktree")
	if v, _ := r.Config("gitseal.where"); v != "worktree" {
		t.Errorf("with worktree config: %q", v)
	}
	if v, _ := rdOpen(t, dir).Config("gitseal.where"); v != "common" {
		t.Errorf("main worktree sees %q", v)
	}
}

func TestConfigSyntaxErrors(t *testing.T) {
	for _, bad := range []string{
		"key = outside section\n",
		"[section\n",
		"[sec \"unterminated]\n",
		"[s]\n\tk = \"open quote\n",
		"[s]\n\tk = bad \\q escape\n",
		"[s]\n\t9key = x\n",
	} {
		p := &configParser{out: &config{}}
		if err := p.parse([]byte(bad), "x", 0); err == nil {
			t.Errorf("parse(%q) succeeded", bad)
		}
	}
}

func TestWildmatch(t *testing.T) {
	for _, tc := range []struct {
		pat, s string
		fold   bool
		want   bool
	}{
		{"**/repo/**", "/home/u/repo/.git", false, true},
		{"**/repo/**", "/home/u/other/.git", false, false},
		{"/home/*/repo/.git", "/home/u/repo/.git", false, true},
		{"/home/*/repo/.git", "/home/u/x/repo/.git", false, false},
		{"**/REPO/**", "/a/repo/.git", true, true},
		{"feature/**", "feature/a/b", false, true},
		{"ma?n", "main", false, true},
		{"m[a-c]in", "main", false, true},
		{"m[!a]in", "main", false, false},
	} {
		if got := wildmatch(tc.pat, tc.s, tc.fold); got != tc.want {
			t.Errorf("wildmatch(%q, %q) = %v", tc.pat, tc.s, got)
		}
	}
}
