package repo

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// unsetenv removes an environment variable for the rest of the test (after
// t.Setenv has recorded its value for restoring).
func unsetenv(t *testing.T, key string) {
	t.Helper()
	if err := os.Unsetenv(key); err != nil {
		t.Fatal(err)
	}
}

func TestLockExcludesAndReportsHolder(t *testing.T) {
	dir := wrInit(t)
	r := wrOpen(t, dir)
	l, err := r.Lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// A second Repo (as another goroutine or process would have) waits,
	// then gives up naming the holder.
	r2 := wrOpen(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = r2.Lock(ctx)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "pid "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("second Lock: %v", err)
	}
	if waited := time.Since(start); waited < 90*time.Millisecond {
		t.Errorf("gave up after %v, before the context's deadline", waited)
	}
	// Released, it is free at once; a waiter gets it when it is released.
	got := make(chan error, 1)
	go func() {
		l2, err := r2.Lock(context.Background())
		if err == nil {
			err = l2.Unlock()
		}
		got <- err
	}()
	time.Sleep(30 * time.Millisecond)
	select {
	case err := <-got:
		t.Fatalf("waiter got the lock while it was held: %v", err)
	default:
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("waiter did not get the released lock")
	}
}

// TestLockHelperProcess is not a test: it is the child process of
// TestLockOfKilledProcessIsFree (and of the crash and concurrency tests),
// selected by GITSEAL_WR_HELPER.
func TestLockHelperProcess(t *testing.T) {
	mode := os.Getenv("GITSEAL_WR_HELPER")
	if mode == "" {
		return // run as a test: nothing to do
	}
	os.Exit(wrHelperMain(mode))
}

func wrHelperCmd(t testing.TB, mode string, env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), append([]string{"GITSEAL_WR_HELPER=" + mode}, env...)...)
	cmd.Stderr = os.Stderr
	return cmd
}

func TestLockOfKilledProcessIsFree(t *testing.T) {
	dir := wrInit(t)
	cmd := wrHelperCmd(t, "hold-lock", "GITSEAL_WR_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 6)
	if n, err := out.Read(buf); err != nil || string(buf[:n]) != "locked" {
		t.Fatalf("helper: %q %v", buf[:n], err)
	}
	r := wrOpen(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	_, err = r.Lock(ctx)
	cancel()
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "pid "+strconv.Itoa(cmd.Process.Pid)) {
		t.Fatalf("Lock while the helper holds it: %v", err)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	ctx, cancel = context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	l, err := r.Lock(ctx)
	if err != nil {
		t.Fatalf("Lock after the holder was killed: %v", err)
	}
	l.Unlock()
	if _, err := os.Stat(filepath.Join(dir, ".git", "gitseal.lock")); err != nil {
		t.Errorf("lock file: %v", err)
	}
}
