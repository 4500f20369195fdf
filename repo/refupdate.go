package repo

// Ref updates follow git's files backend: take <ref>.lock with O_EXCL, read
// the current value only while holding it (loose file first, then
// packed-refs), compare it with the expected old value, write the new value
// into the lock file, append the reflog entries, and rename the lock file
// over the ref. A reader sees the old or the new value, never a mix, and two
// writers cannot both succeed from the same old value.

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// refLockTimeout is how long a ref update waits for a git process's
// <ref>.lock or packed-refs.lock to go away. A variable so that tests can
// shorten it.
var refLockTimeout = time.Second

// UpdateRef moves the ref name (a full name: "refs/gitseal/pins/prod",
// "refs/heads/main", "HEAD") from oldH to newH with compare-and-swap, as
// `git update-ref name newH oldH` does: oldH zero means the ref must not
// exist, newH zero deletes it (from packed-refs too, and its reflog). When
// the current value differs from oldH nothing changes and the error wraps
// ErrRefChanged. Symbolic refs are followed ("HEAD" updates the checked-out
// branch). A reflog entry "<old> <new> <committer> <time>\t<msg>" is
// appended as git would, also to logs/HEAD when this worktree's HEAD points
// at the ref.
func (r *Repo) UpdateRef(name string, newH, oldH Hash, msg string) error {
	who, err := r.Signature("committer", time.Now())
	if err != nil {
		// Git too writes reflogs with a made-up identity rather than fail.
		who = fallbackIdent(time.Now())
	}
	if j := r.heldJournal(); j != nil {
		j.begin()
		defer j.end(true) // updateRef leaves nothing half done
	}
	return r.updateRef(name, newH, oldH, msg, who, nil)
}

func fallbackIdent(now time.Time) Signature {
	name := os.Getenv("USER")
	if name == "" {
		name = os.Getenv("LOGNAME")
	}
	if name == "" {
		name = "unknown"
	}
	host, _ := os.Hostname()
	if host == "" {
		host = "localhost"
	}
	return Signature{Name: name, Email: name + "@" + host, When: now}
}

// updateRef is UpdateRef with the reflog identity given. beforeRename, when
// not nil, runs once the compare-and-swap has succeeded and the lock file
// holds the new value, before the reflog names the new value and the lock is
// renamed over the ref; it must make
// the lock file durable as it sees fit (CommitChanges links its objects and
// fsyncs them with the lock file in one round). Without it the lock file is
// fsynced per durability.
func (r *Repo) updateRef(name string, newH, oldH Hash, msg string, who Signature, beforeRename func(lock *os.File) error) error {
	if !validRefName(name) || (name != "HEAD" && !strings.HasPrefix(name, "refs/")) {
		return fmt.Errorf("updating ref %q: invalid ref name", clip(name))
	}
	// Follow symbolic refs to the ref that holds the id; each symbolic ref
	// on the way gets a reflog entry too.
	var via []string
	for depth := 0; ; depth++ {
		b, err := os.ReadFile(r.refFile(name))
		if err != nil {
			break
		}
		_, target, err := parseRefFile(b)
		if err != nil || target == "" {
			break
		}
		if depth >= maxSymrefDepth {
			return fmt.Errorf("updating ref %s: symbolic ref loop", name)
		}
		via = append(via, name)
		name = target
	}
	path := r.refFile(name)
	if err := os.MkdirAll(filepath.Dir(path), 0o777); err != nil {
		return fmt.Errorf("updating ref %s: %w", name, err)
	}
	lk, err := r.acquireGitLock(path, refLockTimeout)
	if err != nil {
		return fmt.Errorf("updating ref %s: %w", name, err)
	}
	defer lk.rollback()
	cur, err := r.currentRef(name)
	if err != nil {
		return fmt.Errorf("updating ref %s: %w", name, err)
	}
	if cur != oldH {
		return fmt.Errorf("updating ref %s: %w (expected %s, found %s)", name, ErrRefChanged, describeID(oldH), describeID(cur))
	}
	if newH.IsZero() {
		if cur.IsZero() {
			return nil
		}
		if err := r.deletePackedRef(name); err != nil {
			return fmt.Errorf("deleting ref %s: %w", name, err)
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("deleting ref %s: %w", name, err)
		}
		lk.rollback()
		r.deleteReflog(name)
		if !isPerWorktreeRef(name) {
			removeEmptyParents(filepath.Dir(path), filepath.Join(r.commonDir, "refs"))
		}
		return nil
	}
	if _, err := lk.f.Write([]byte(newH.String() + "\n")); err != nil {
		return fmt.Errorf("updating ref %s: %w", name, err)
	}
	if beforeRename != nil {
		if err := beforeRename(lk.f); err != nil {
			return fmt.Errorf("updating ref %s: %w", name, err)
		}
	} else if r.durability().refs {
		if err := lk.f.Sync(); err != nil {
			return fmt.Errorf("updating ref %s: %w", name, err)
		}
	}
	line := reflogLine(cur, newH, who, msg)
	logs := append(via, name)
	if !containsString(via, "HEAD") && name != "HEAD" {
		if b, err := os.ReadFile(filepath.Join(r.gitDir, "HEAD")); err == nil {
			if _, target, err := parseRefFile(b); err == nil && target == name {
				logs = append(logs, "HEAD")
			}
		}
	}
	for _, n := range logs {
		if err := r.appendReflog(r.gitDir, n, line); err != nil {
			return fmt.Errorf("updating ref %s: %w", name, err)
		}
	}
	if err := lk.rename(); err != nil {
		return fmt.Errorf("updating ref %s: %w", name, err)
	}
	return nil
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func describeID(h Hash) string {
	if h.IsZero() {
		return "no ref"
	}
	return h.short()
}

// currentRef reads a ref's value afresh (the caller holds its lock): the
// loose file, else packed-refs; zero when it does not exist.
func (r *Repo) currentRef(name string) (Hash, error) {
	b, err := os.ReadFile(r.refFile(name))
	switch {
	case err == nil:
		h, target, err := parseRefFile(b)
		if err != nil {
			return ZeroHash, err
		}
		if target != "" {
			return ZeroHash, errors.New("became a symbolic ref")
		}
		return h, nil
	case errors.Is(err, syscall.EISDIR):
		return ZeroHash, errors.New("a directory of refs has this name")
	case !errors.Is(err, fs.ErrNotExist):
		return ZeroHash, err
	}
	if !strings.HasPrefix(name, "refs/") {
		return ZeroHash, nil
	}
	pr, err := r.packedRefs()
	if err != nil {
		return ZeroHash, err
	}
	return pr.refs[name], nil
}

// deletePackedRef rewrites packed-refs without name (and its peeled line),
// through packed-refs.lock.
func (r *Repo) deletePackedRef(name string) error {
	pr, err := r.packedRefs()
	if err != nil {
		return err
	}
	if _, ok := pr.refs[name]; !ok {
		return nil
	}
	path := filepath.Join(r.commonDir, "packed-refs")
	lk, err := r.acquireGitLock(path, refLockTimeout)
	if err != nil {
		return err
	}
	defer lk.rollback()
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	skipPeeled := false
	for _, line := range bytes.SplitAfter(data, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		if line[0] == '^' && skipPeeled {
			continue
		}
		skipPeeled = false
		if line[0] != '#' && line[0] != '^' {
			if _, refName, ok := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(" ")); ok && string(refName) == name {
				skipPeeled = true
				continue
			}
		}
		out.Write(line)
	}
	if _, err := lk.f.Write(out.Bytes()); err != nil {
		return err
	}
	return lk.commit()
}
