package main

// `gitseal run` as a real process: it becomes the child, so signals reach
// the child and run's status is the child's.

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
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
			sc := startReady(t, cmd, "ready")
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			var rest []string
			for sc.Scan() {
				rest = append(rest, sc.Text())
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			var err error
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
	if !ok {
		t.Fatalf("gitseal run: %v, want death by SIGKILL", err)
	}
	ws := ee.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("gitseal run exited with %v, want death by SIGKILL (run becomes its command)", err)
	}
}

// TestRunBecomesCommand: run execs CMD, which keeps run's process id, so a
// service manager or a container runtime sees and signals CMD itself.
func TestRunBecomesCommand(t *testing.T) {
	p := newProcEnv(t)
	p.gitseal("", "set", "TOKEN", "--value", "pid-secret")
	cmd := p.command("", "run", "--", "sh", "-c", `echo "$$ $TOKEN"`)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	want := strconv.Itoa(cmd.Process.Pid) + " pid-secret"
	if got := strings.TrimSpace(string(out)); got != want {
		t.Fatalf("child printed %q, want %q (its pid is gitseal run's)", got, want)
	}
}

// TestRunKeepsIgnoredInterrupt: a SIGINT ignored when gitseal started (nohup,
// `cmd &` in a script) is still ignored by CMD; gitseal's own handler for it
// does not become CMD's default.
func TestRunKeepsIgnoredInterrupt(t *testing.T) {
	p := newProcEnv(t)
	// sh ignores INT, then becomes gitseal run, which becomes the script.
	cmd := p.command("", "run", "--", "sh", "-c", `echo ready; i=0; while [ $i -lt 20 ]; do sleep 0.05; i=$((i+1)); done; echo survived`)
	cmd.Args = append([]string{"sh", "-c", `trap "" INT; exec "$0" "$@"`, cmd.Path}, cmd.Args[1:]...)
	cmd.Path = "/bin/sh"
	sc := startReady(t, cmd, "ready")
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	var rest []string
	for sc.Scan() {
		rest = append(rest, sc.Text())
	}
	if err := cmd.Wait(); err != nil || strings.Join(rest, "\n") != "survived" {
		t.Fatalf("with SIGINT ignored, the child got it: %v, printed %q", err, rest)
	}
}

// TestRunAsInitPassesSignals: as PID 1 (a container's entrypoint), run does
// not become CMD, since the kernel drops signals PID 1 has no handler for;
// it stays as CMD's parent and passes SIGTERM on, so `docker stop` works.
func TestRunAsInitPassesSignals(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("a new PID namespace (unshare -p) needs root")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("unshare (util-linux) is not installed")
	}
	if out, err := exec.Command(unshare, "-fp", "--mount-proc", "true").CombinedOutput(); err != nil {
		t.Skipf("this machine does not allow a new PID namespace (a container without CAP_SYS_ADMIN?): %v: %s", err, out)
	}
	p := newProcEnv(t)
	p.gitseal("", "set", "TOKEN", "--value", "init-secret")
	cmd := p.command("", "run", "--", "sh", "-c", `echo "ready $$ $TOKEN"; sleep 30`)
	cmd.Args = append([]string{"unshare", "-fp", "--mount-proc", cmd.Path}, cmd.Args[1:]...)
	cmd.Path = unshare
	sc := startReady(t, cmd, "")
	defer cmd.Process.Kill()
	// gitseal is PID 1 in the namespace, so its child sh is not.
	if f := strings.Fields(sc.Text()); len(f) != 3 || f[0] != "ready" || f[1] == "1" || f[2] != "init-secret" {
		t.Fatalf("child printed %q, want ready, a pid other than 1, and the secret", sc.Text())
	}
	// The namespace's init is unshare's child: signal it from outside.
	kids, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", cmd.Process.Pid, cmd.Process.Pid))
	if err != nil {
		t.Skipf("cannot find unshare's child: %v", err)
	}
	initPid, err := strconv.Atoi(strings.TrimSpace(string(kids)))
	if err != nil {
		t.Fatalf("unshare's children: %q", kids)
	}
	if err := syscall.Kill(initPid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || (ee.ExitCode() != 128+15 && !ee.Sys().(syscall.WaitStatus).Signaled()) {
			t.Fatalf("gitseal run as PID 1 ended with %v, want status 143 after SIGTERM", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("SIGTERM to gitseal run as PID 1 did not end it: the signal was dropped")
	}
}

// startReady starts cmd and reads its first line of stdout, which the child
// prints once it runs; it must be want unless want is "". The scanner,
// still on that line, reads the rest.
func startReady(t *testing.T, cmd *exec.Cmd, want string) *bufio.Scanner {
	t.Helper()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	if !sc.Scan() || (want != "" && sc.Text() != want) {
		cmd.Process.Kill()
		t.Fatalf("child did not start: %q, %v", sc.Text(), sc.Err())
	}
	return sc
}
