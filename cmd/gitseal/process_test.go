package main

// Tests with real gitseal processes: concurrent sets and sets killed with
// SIGKILL at random instants. The test binary is gitseal itself when run with
// GITSEAL_TEST_AS_MAIN=1 (see TestMain).

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

type procEnv struct {
	t    *testing.T
	dir  string
	env  []string
	self string
}

func newProcEnv(t *testing.T) *procEnv {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatalf("these tests need the git binary: %v", err)
	}
	work := t.TempDir()
	home := filepath.Join(work, "home")
	os.MkdirAll(home, 0o755)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := &procEnv{t: t, dir: filepath.Join(work, "app"), self: self}
	p.env = append(os.Environ(),
		"HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+filepath.Join(home, ".gitconfig"),
		"GIT_AUTHOR_NAME=Proc Test", "GIT_AUTHOR_EMAIL=proc@example.com",
		"GIT_COMMITTER_NAME=Proc Test", "GIT_COMMITTER_EMAIL=proc@example.com",
		"GITSEAL_IDENTITY_FILE="+filepath.Join(work, "id.key"),
		"GITSEAL_IDENTITY=", "GITSEAL_ENV=", "GITSEAL_REF=",
		"GITSEAL_TEST_AS_MAIN=1",
	)
	p.git("init", "-q", "-b", "main", p.dir)
	p.gitseal("", "keygen", "-o", filepath.Join(work, "id.key"))
	p.gitseal("", "init")
	return p
}

func (p *procEnv) command(stdin string, args ...string) *exec.Cmd {
	cmd := exec.Command(p.self, append([]string{"-C", p.dir}, args...)...)
	cmd.Env = p.env
	cmd.Stdin = strings.NewReader(stdin)
	return cmd
}

func (p *procEnv) gitseal(stdin string, args ...string) string {
	p.t.Helper()
	var so, se bytes.Buffer
	cmd := p.command(stdin, args...)
	cmd.Stdout, cmd.Stderr = &so, &se
	if err := cmd.Run(); err != nil {
		p.t.Fatalf("gitseal %s: %v\n%s", strings.Join(args, " "), err, se.String())
	}
	return so.String()
}

func (p *procEnv) git(args ...string) string {
	p.t.Helper()
	cmd := exec.Command("git", args...)
	if len(args) > 0 && args[0] != "init" {
		cmd.Dir = p.dir
	}
	cmd.Env = p.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		p.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (p *procEnv) checkRepo() {
	p.t.Helper()
	p.git("fsck", "--strict", "--no-progress")
	if st := p.git("status", "--porcelain", "--untracked-files=all"); st != "" {
		p.t.Fatalf("git status not clean:\n%s", st)
	}
	if a, b := p.git("write-tree"), p.git("rev-parse", "HEAD^{tree}"); a != b {
		p.t.Fatalf("git write-tree %s != HEAD^{tree} %s", a, b)
	}
}

func TestConcurrentSets(t *testing.T) {
	p := newProcEnv(t)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	outs := make([][]byte, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			cmd := p.command(fmt.Sprintf("value-%d\n", i), "set", fmt.Sprintf("S%d", i))
			outs[i], errs[i] = cmd.CombinedOutput()
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("set S%d: %v\n%s", i, err, outs[i])
		}
	}
	if got := strings.TrimSpace(p.git("rev-list", "--count", "HEAD")); got != fmt.Sprint(n+1) {
		t.Fatalf("HEAD has %s commits, want %d (init + one per set)", got, n+1)
	}
	for i := 0; i < n; i++ {
		if v := p.gitseal("", "get", fmt.Sprintf("S%d", i)); v != fmt.Sprintf("value-%d", i) {
			t.Fatalf("S%d = %q", i, v)
		}
	}
	p.checkRepo()
}

func TestSetKilledAtRandomInstants(t *testing.T) {
	p := newProcEnv(t)
	p.gitseal("old\n", "set", "A")
	p.gitseal("old\n", "set", "B")
	rng := rand.New(rand.NewPCG(1, 2))
	iterations := 30
	if testing.Short() {
		iterations = 10
	}
	killed := 0
	last := map[string]string{"A": "old", "B": "old"}
	for i := 0; i < iterations; i++ {
		name := []string{"A", "B"}[i%2]
		val := fmt.Sprintf("new-%d", i)
		cmd := p.command(val+"\n", "set", name)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		delay := time.Duration(rng.IntN(40000)) * time.Microsecond
		time.Sleep(delay)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			killed++
		}
		p.git("fsck", "--strict", "--no-progress")
		// The secret reads either an earlier value or the new one.
		got := p.gitseal("", "get", name)
		if got != val && got != last[name] {
			t.Fatalf("iteration %d: %s = %q, want the old value %q or the new %q", i, name, got, last[name], val)
		}
		// The next set succeeds without any manual cleanup.
		p.gitseal(fmt.Sprintf("after-%d\n", i), "set", name)
		if got := p.gitseal("", "get", name); got != fmt.Sprintf("after-%d", i) {
			t.Fatalf("iteration %d: after the next set %s = %q", i, name, got)
		}
		last[name] = fmt.Sprintf("after-%d", i)
		p.checkRepo()
	}
	t.Logf("%d of %d runs killed before they finished", killed, iterations)
	if killed == 0 {
		t.Fatalf("no run was killed before it finished: the test proved nothing; shorten the delays")
	}
}
