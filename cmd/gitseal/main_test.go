package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the test binary be gitseal itself: testscript runs it as the
// "gitseal" command, and Go tests that need real processes run it with
// GITSEAL_TEST_AS_MAIN=1.
func TestMain(m *testing.M) {
	if os.Getenv("GITSEAL_TEST_AS_MAIN") == "1" {
		main()
		return
	}
	testscript.Main(m, map[string]func(){"gitseal": main})
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		Setup:               setupScriptEnv,
		Cmds:                scriptCmds,
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
	})
}

// setupScriptEnv gives every script a home of its own, a git identity, no
// system or global git config from the machine, and no identity of the
// person running the tests.
func setupScriptEnv(e *testscript.Env) error {
	home := filepath.Join(e.WorkDir, "home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		return err
	}
	for k, v := range map[string]string{
		"HOME":                home,
		"XDG_CONFIG_HOME":     filepath.Join(home, ".config"),
		"GIT_CONFIG_NOSYSTEM": "1",
		"GIT_CONFIG_GLOBAL":   filepath.Join(home, ".gitconfig"),
		"GIT_AUTHOR_NAME":     "Test Author",
		"GIT_AUTHOR_EMAIL":    "author@example.com",
		"GIT_COMMITTER_NAME":  "Test Committer",
		"GIT_COMMITTER_EMAIL": "committer@example.com",
		"GITSEAL_ENV":         "",
		"GITSEAL_REF":         "",
		"GITSEAL_IDENTITY":    "",
	} {
		e.Setenv(k, v)
	}
	return nil
}

var scriptCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	"noplaintext": cmdNoPlaintext,
	"cleanstatus": cmdCleanStatus,
	"commits":     cmdCommits,
	"bigfile":     cmdBigFile,
	"exits":       cmdExits,
}

// noplaintext DIR VALUE...: no git object of the repository in DIR (every
// object, reachable or not, loose or packed) contains any VALUE.
func cmdNoPlaintext(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: noplaintext DIR VALUE...")
	}
	out := gitOutput(ts, args[0], "cat-file", "--batch-all-objects", "--batch", "--unordered")
	if len(out) == 0 {
		ts.Fatalf("no git objects in %s", args[0])
	}
	for _, v := range args[1:] {
		if bytes.Contains(out, []byte(v)) {
			ts.Fatalf("a git object in %s contains the plaintext %q", args[0], v)
		}
	}
	// Also gitseal's files in the working tree, and the .git files that are
	// not objects (index, logs, locks, journals).
	for _, sub := range []string{".gitseal", ".git"} {
		scanTree(ts, filepath.Join(ts.MkAbs(args[0]), sub), args[1:])
	}
}

func scanTree(ts *testscript.TestScript, root string, values []string) {
	filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		for _, v := range values {
			if bytes.Contains(data, []byte(v)) {
				ts.Fatalf("%s contains the plaintext %q", p, v)
			}
		}
		return nil
	})
}

// cleanstatus DIR: `git status --porcelain` shows nothing under .gitseal and
// `git write-tree` equals HEAD^{tree}.
func cmdCleanStatus(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: cleanstatus DIR")
	}
	status := string(gitOutput(ts, args[0], "status", "--porcelain", "--untracked-files=all", "--", ".gitseal"))
	tree := strings.TrimSpace(string(gitOutput(ts, args[0], "write-tree")))
	head := strings.TrimSpace(string(gitOutput(ts, args[0], "rev-parse", "HEAD^{tree}")))
	clean := status == "" && tree == head
	if clean == neg {
		ts.Fatalf("cleanstatus: status %q, write-tree %s, HEAD^{tree} %s", status, tree, head)
	}
	fsck := exec.Command("git", "fsck", "--strict", "--no-progress")
	fsck.Dir = ts.MkAbs(args[0])
	fsck.Env = scriptEnv(ts)
	if out, err := fsck.CombinedOutput(); err != nil && !neg {
		ts.Fatalf("git fsck --strict: %v\n%s", err, out)
	}
}

// commits DIR N: the branch tip has exactly N commits.
func cmdCommits(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: commits DIR N")
	}
	got := strings.TrimSpace(string(gitOutput(ts, args[0], "rev-list", "--count", "HEAD")))
	if (got == args[1]) == neg {
		ts.Fatalf("commits: HEAD has %s commits, want %s%s", got, map[bool]string{true: "not ", false: ""}[neg], args[1])
	}
}

// exits CODE COMMAND ARGS...: run COMMAND, which must exit with CODE; its
// stdout and stderr are kept for the next stdout/stderr checks.
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE COMMAND ARGS...")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("%s: %v", args[1], err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with %d, want %d", args[1], got, want)
	}
}

// bigfile FILE N: write N bytes of 'x' to FILE.
func cmdBigFile(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: bigfile FILE N")
	}
	var n int
	fmt.Sscanf(args[1], "%d", &n)
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), bytes.Repeat([]byte("x"), n), 0o644))
}

func gitOutput(ts *testscript.TestScript, dir string, args ...string) []byte {
	cmd := exec.Command("git", args...)
	cmd.Dir = ts.MkAbs(dir)
	cmd.Env = scriptEnv(ts)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		ts.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// lines splits output into non-empty lines.
func lines(b []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if l := sc.Text(); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// scriptEnv is the script's environment for commands run from Go.
func scriptEnv(ts *testscript.TestScript) []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "XDG_CONFIG_HOME", "GIT_CONFIG_NOSYSTEM", "GIT_CONFIG_GLOBAL",
		"GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"} {
		env = append(env, k+"="+ts.Getenv(k))
	}
	return env
}
