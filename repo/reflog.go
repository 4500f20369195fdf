package repo

// Reflogs are written as git's files backend writes them: one line appended
// per update to logs/<ref> (per-worktree refs, like HEAD, under GitDir,
// the rest under CommonDir):
//
//	<old id> <new id> <name> <<email>> <unix seconds> <+hhmm>\t<message>\n
//
// A log is created only where core.logAllRefUpdates asks for one (by
// default: HEAD, refs/heads, refs/remotes and refs/notes in a repository
// with a work tree; nothing in a bare one; "always": every ref); an existing
// log is always appended to.

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// reflogPath returns the file of ref name's reflog, as seen from gitDir.
func (r *Repo) reflogPath(gitDir, name string) string {
	base := r.commonDir
	if isPerWorktreeRef(name) {
		base = gitDir
	}
	return filepath.Join(base, "logs", filepath.FromSlash(name))
}

// autocreateReflog applies core.logAllRefUpdates.
func (r *Repo) autocreateReflog(name string) bool {
	v, ok := r.Config("core.logAllRefUpdates")
	if ok && strings.EqualFold(v, "always") {
		return true
	}
	on := r.workTree != ""
	if ok {
		if b, isBool := parseBool(v); isBool {
			on = b
		}
	}
	return on && (name == "HEAD" || strings.HasPrefix(name, "refs/heads/") ||
		strings.HasPrefix(name, "refs/remotes/") || strings.HasPrefix(name, "refs/notes/"))
}

// reflogLine formats one reflog entry. The message is normalised as git's
// copy_reflog_msg does: runs of whitespace become one space, and leading and
// trailing whitespace is dropped.
func reflogLine(oldH, newH Hash, who Signature, msg string) []byte {
	b := make([]byte, 0, 128+len(msg))
	b = append(b, oldH.String()...)
	b = append(b, ' ')
	b = append(b, newH.String()...)
	b = append(b, ' ')
	b = formatSignature(b, who)
	msg = strings.Join(strings.FieldsFunc(msg, func(c rune) bool {
		return c == ' ' || c == '\t' || c == '\n' || c == '\r' // git's isspace
	}), " ")
	if msg != "" {
		b = append(b, '\t')
		b = append(b, msg...)
	}
	return append(b, '\n')
}

// appendReflog appends an entry to ref name's log, creating the log when
// core.logAllRefUpdates says so.
func (r *Repo) appendReflog(gitDir, name string, line []byte) error {
	path := r.reflogPath(gitDir, name)
	flags := os.O_WRONLY | os.O_APPEND
	if r.autocreateReflog(name) {
		flags |= os.O_CREATE
	}
	f, err := os.OpenFile(path, flags, 0o666)
	if errors.Is(err, fs.ErrNotExist) && flags&os.O_CREATE != 0 {
		if err = os.MkdirAll(filepath.Dir(path), 0o777); err == nil {
			f, err = os.OpenFile(path, flags, 0o666)
		}
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil // no log, and none wanted
	}
	if err != nil {
		return fmt.Errorf("writing reflog of %s: %w", name, err)
	}
	_, err = f.Write(line)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing reflog of %s: %w", name, err)
	}
	return nil
}

// deleteReflog removes a deleted ref's log, and the directories it leaves
// empty, as git does.
func (r *Repo) deleteReflog(name string) {
	path := r.reflogPath(r.gitDir, name)
	if os.Remove(path) == nil {
		removeEmptyParents(filepath.Dir(path), filepath.Join(r.commonDir, "logs", "refs"))
	}
}

// removeEmptyParents removes dir and its parents while they are empty,
// stopping at (and never removing) stop.
func removeEmptyParents(dir, stop string) {
	stop = filepath.Clean(stop)
	for d := filepath.Clean(dir); d != stop && strings.HasPrefix(d, stop+string(filepath.Separator)); d = filepath.Dir(d) {
		if os.Remove(d) != nil {
			return
		}
	}
}
