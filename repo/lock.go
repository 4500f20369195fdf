package repo

// Two kinds of lock live here.
//
// The gitseal lock (Repo.Lock) serialises gitseal processes on one
// repository, across all its worktrees: it is an flock(2) on the file
// gitseal.lock in CommonDir. The kernel releases an flock when its holder
// exits, however it exits, so a killed holder never leaves the lock held and
// no pid-liveness or host/age heuristics are needed (on NFS the kernel maps
// flock to lockd's byte-range locks, which the server recovers when a client
// host dies). The file itself is never deleted (deleting a lock file that
// another process has open and is waiting on lets two processes hold "the"
// lock at once); it holds the holder's pid, host and start time, read only
// to name the holder in ErrLocked errors. Acquiring the lock also completes
// or rolls back whatever a killed holder left half done (journal.go).
//
// Git lock files (<file>.lock: index.lock, refs/heads/main.lock,
// packed-refs.lock) are created with O_EXCL as git creates them, and
// renamed over <file> to commit. While the gitseal lock is held, each git
// lock file gitseal creates is first registered in the journal by inode
// (it is created under a temporary name, registered, then hard-linked to
// its .lock name), so that one left by a killed gitseal is told apart from
// one a live git process holds, and removed on recovery.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Lock is a held gitseal repository lock.
type Lock struct {
	r   *Repo
	f   *os.File
	key string
	j   *journal
}

// heldLocks maps the CommonDir of each repository whose gitseal lock this
// process holds to its Lock, so that code running under the lock (UpdateRef,
// CommitChanges) finds the journal without threading it through the API.
var heldLocks = struct {
	sync.Mutex
	m map[string]*Lock
}{m: map[string]*Lock{}}

// Lock takes the repository's gitseal lock, waiting (polling) while another
// process holds it, until ctx is done; then it returns an error wrapping
// ErrLocked that names the holder's pid. A lock whose holder died is free
// at once. Once held, Lock finishes any mutation a killed gitseal left half
// done (see CommitChanges). Several goroutines of one process serialise on
// the lock as processes do.
func (r *Repo) Lock(ctx context.Context) (*Lock, error) {
	path := filepath.Join(r.commonDir, "gitseal.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("locking repository: %w", err)
	}
	fd := int(f.Fd())
	delay := 2 * time.Millisecond
	for {
		err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if err != syscall.EWOULDBLOCK && err != syscall.EINTR {
			f.Close()
			return nil, fmt.Errorf("locking repository: %s: %w", path, err)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			holder := describeHolder(path)
			f.Close()
			return nil, fmt.Errorf("locking repository: %w (%s; waited until %v)", ErrLocked, holder, context.Cause(ctx))
		case <-t.C:
		}
		delay = min(delay*2, 50*time.Millisecond)
	}
	host, _ := os.Hostname()
	info := fmt.Sprintf("pid %d\nhost %s\nsince %s\n", os.Getpid(), host, time.Now().UTC().Format(time.RFC3339))
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(info), 0)
	}
	l := &Lock{r: r, f: f, key: r.commonDir, j: &journal{path: filepath.Join(r.commonDir, journalName)}}
	heldLocks.Lock()
	heldLocks.m[l.key] = l
	heldLocks.Unlock()
	if err := r.recoverJournal(l.j); err != nil {
		l.Unlock()
		return nil, fmt.Errorf("locking repository: %w", err)
	}
	return l, nil
}

// Unlock releases the lock. A journal that an interrupted mutation left is
// kept for the next Lock to finish.
func (l *Lock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	heldLocks.Lock()
	if heldLocks.m[l.key] == l {
		delete(heldLocks.m, l.key)
	}
	heldLocks.Unlock()
	l.j.close()
	l.f.Truncate(0)
	err := l.f.Close() // releases the flock
	l.f = nil
	if err != nil {
		return fmt.Errorf("unlocking repository: %w", err)
	}
	return nil
}

// describeHolder names the process holding the gitseal lock, from the
// lock file's content.
func describeHolder(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "held by another process"
	}
	var pid, host, since string
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, " ")
		switch k {
		case "pid":
			pid = v
		case "host":
			host = v
		case "since":
			since = v
		}
	}
	if pid == "" {
		return "held by another process"
	}
	s := "held by pid " + pid
	if host != "" {
		s += " on " + host
	}
	if since != "" {
		s += " since " + since
	}
	return s
}

// heldJournal returns the journal of this process's gitseal lock on r, or
// nil when the lock is not held.
func (r *Repo) heldJournal() *journal {
	heldLocks.Lock()
	defer heldLocks.Unlock()
	if l := heldLocks.m[r.commonDir]; l != nil {
		return l.j
	}
	return nil
}

// gitLock is a git lock file (<path>.lock) that gitseal holds.
type gitLock struct {
	path string // the file being replaced
	lock string // path + ".lock"
	f    *os.File
}

// acquireGitLock creates path+".lock" exclusively, retrying for up to
// timeout while a git process holds it. Under the gitseal lock the file is
// registered in the journal (by inode, before it takes the .lock name) so a
// killed gitseal's lock file can be recognised and removed.
func (r *Repo) acquireGitLock(path string, timeout time.Duration) (*gitLock, error) {
	lock := path + ".lock"
	j := r.heldJournal()
	deadline := time.Now().Add(timeout)
	delay := 5 * time.Millisecond
	for {
		f, err := createLockFile(lock, j)
		if err == nil {
			return &gitLock{path: path, lock: lock, f: f}, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%w: %s exists; another git process seems to be running in this repository (if none is, remove the file and retry)", ErrGitLocked, lock)
		}
		time.Sleep(delay)
		delay = min(delay*2, 100*time.Millisecond)
	}
}

func createLockFile(lock string, j *journal) (*os.File, error) {
	if j == nil {
		return os.OpenFile(lock, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	tmp := strings.TrimSuffix(lock, ".lock") + ".gitseal-" + hex.EncodeToString(rnd[:]) + ".lock"
	if err := j.add("tmp " + strconv.Quote(tmp)); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		os.Remove(tmp)
		return nil, err
	}
	dev, ino := fileID(fi)
	if err := j.add(fmt.Sprintf("lock %d %d %s", dev, ino, strconv.Quote(lock))); err != nil {
		f.Close()
		os.Remove(tmp)
		return nil, err
	}
	err = os.Link(tmp, lock)
	os.Remove(tmp)
	if err == nil {
		return f, nil
	}
	f.Close()
	if errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	// No hard links on this file system: create the lock directly. A kill
	// between creating and registering it would leave it for the user to
	// remove, as git's own lock files are.
	f, err = os.OpenFile(lock, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err == nil {
		dev, ino := fileID(fi)
		j.add(fmt.Sprintf("lock %d %d %s", dev, ino, strconv.Quote(lock)))
	}
	return f, nil
}

// fileID returns a file's device and inode numbers.
func fileID(fi os.FileInfo) (uint64, uint64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev), uint64(st.Ino)
	}
	return 0, 0
}

// commit fsyncs the lock file and renames it over the locked file.
func (l *gitLock) commit() error {
	if fsyncWrites {
		if err := l.f.Sync(); err != nil {
			l.rollback()
			return err
		}
	}
	return l.rename()
}

// rename renames the lock file over the locked file, without an fsync.
func (l *gitLock) rename() error {
	if err := l.f.Close(); err != nil {
		l.f = nil
		os.Remove(l.lock)
		return err
	}
	l.f = nil
	if err := os.Rename(l.lock, l.path); err != nil {
		os.Remove(l.lock)
		return err
	}
	return nil
}

// rollback drops the lock file, leaving the locked file as it was.
func (l *gitLock) rollback() {
	if l == nil {
		return
	}
	if l.f != nil {
		l.f.Close()
		l.f = nil
		os.Remove(l.lock)
	}
}
