package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestCommandTable: the name each top-level command is listed under is the
// name cobra dispatches on, so building only the command being run finds
// the right one.
func TestCommandTable(t *testing.T) {
	a := &app{}
	seen := map[string]bool{}
	for _, c := range a.commands() {
		if got := c.build().Name(); got != c.name {
			t.Errorf("command listed as %q builds %q", c.name, got)
		}
		if seen[c.name] {
			t.Errorf("command %q listed twice", c.name)
		}
		seen[c.name] = true
	}
}

func TestCommandWord(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"get", "X"}, "get"},
		{[]string{"-C", "dir", "get", "X"}, "get"},
		{[]string{"-Cdir", "set", "X"}, "set"},
		{[]string{"--directory", "d", "--env", "prod", "run", "--", "true"}, "run"},
		{[]string{"--directory=d", "--env=prod", "--identity=f", "--no-sign", "ls"}, "ls"},
		{[]string{"--identity", "get", "ls"}, "ls"}, // "get" is the flag's value
		{[]string{"--help", "get"}, ""},
		{[]string{"--verbose", "get"}, ""},
		{[]string{}, ""},
		{[]string{"help", "get"}, "help"},
	} {
		if got := commandWord(tc.args); got != tc.want {
			t.Errorf("commandWord(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}

// TestRootHelpListsEveryCommand: help for gitseal itself, and an unknown
// command, still see every command though a known one builds only itself.
func TestRootHelpListsEveryCommand(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"help"}, {"-C", ".", "--help"}} {
		var out bytes.Buffer
		a := &app{stdin: strings.NewReader(""), stdout: &out, stderr: &out, getenv: func(string) string { return "" }}
		if code := a.run(args); code != 0 {
			t.Fatalf("gitseal %q exited %d:\n%s", args, code, out.String())
		}
		for _, c := range a.commands() {
			if !strings.Contains(out.String(), "\n  "+c.name+" ") {
				t.Errorf("gitseal %q does not list %q:\n%s", args, c.name, out.String())
			}
		}
	}
	var out bytes.Buffer
	a := &app{stdin: strings.NewReader(""), stdout: &out, stderr: &out, getenv: func(string) string { return "" }}
	if code := a.run([]string{"gte"}); code != 2 {
		t.Errorf("gitseal gte exited %d, want 2 (usage)", code)
	}
	if !strings.Contains(out.String(), "get") {
		t.Errorf("gitseal gte does not suggest get:\n%s", out.String())
	}
}
