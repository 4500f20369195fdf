package main

// `gitseal run` as a real process: signals reach the child, and run exits
// with the child's status.

import (
	"bufio"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRunPassesSignals(t *testing.T) {
	p := newProcEnv(t)
	p.gitseal("", "set", "TOKEN", "--value", "sig-secret")
	for _, tc := range []struct {
		sig  syscall.Signal
		name string
	}{{syscall.SIGTERM, "TERM"}, {syscall.SIGINT, "INT"}, {syscall.SIGHUP, "HUP"}} {
		t.Run(tc.name, func(t *testing.T) {
			script := `trap 'echo "got-` + tc.name + ` $TOKEN"; exit 42' ` + tc.name + `; echo ready; while :; do sleep 0.05; done`
			cmd := p.command("", "run", "--", "sh", "-c", script)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(out)
			if !sc.Scan() || sc.Text() != "ready" {
				cmd.Process.Kill()
				t.Fatalf("child did not start: %q", sc.Text())
			}
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			var rest []string
			for sc.Scan() {
				rest = append(rest, sc.Text())
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				t.Fatal("gitseal run did not exit after the child did")
			}
			ee, ok := err.(*exec.ExitError)
			if !ok || ee.ExitCode() != 42 {
				t.Fatalf("gitseal run exited with %v, want status 42", err)
			}
			if got := strings.Join(rest, "\n"); got != "got-"+tc.name+" sig-secret" {
				t.Fatalf("child printed %q", got)
			}
		})
	}
}

func TestRunChildKilledBySignal(t *testing.T) {
	p := newProcEnv(t)
	cmd := p.command("", "run", "--", "sh", "-c", "kill -KILL $$")
	err := cmd.Run()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 128+9 {
		t.Fatalf("gitseal run exited with %v, want status 137", err)
	}
}
