package repo

// Repository ownership, checked as git checks it (safe.directory, git
// 2.35.2 and later). A repository found by walking up from the working
// directory must belong to the user running gitseal: otherwise someone
// else's .git above a shared directory (/tmp, a mounted volume) would give
// gitseal their config, and with it their gitseal.auditNotify command and
// their hooks' idea of the user's identity. A repository owned by someone
// else is opened only when safe.directory, in the system or global config
// or GIT_CONFIG_* (never the repository's own), names its path or "*".
// An empty value clears the list above it. $GIT_DIR skips the check, as in
// git: the caller named the repository.

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// DubiousOwnershipError names the repository and how to trust it.
type DubiousOwnershipError struct {
	Path string // the work tree, or the git directory of a bare repository
}

func (e *DubiousOwnershipError) Error() string {
	return fmt.Sprintf("detected dubious ownership in repository at %s (it belongs to another user); "+
		"if you trust it, run `git config --global --add safe.directory %s`", e.Path, e.Path)
}

func (e *DubiousOwnershipError) Unwrap() error { return ErrDubiousOwnership }

// checkOwnership applies git's rule to a discovered repository: the .git
// file (if any), the work tree (if any) and the git directory must all be
// the current user's.
func checkOwnership(gitFile, workTree, gitDir string) error {
	if ownedByCaller(gitFile) && ownedByCaller(workTree) && ownedByCaller(gitDir) {
		return nil
	}
	path := workTree
	if path == "" {
		path = gitDir
	}
	if safeDirectory(path) {
		return nil
	}
	return &DubiousOwnershipError{Path: path}
}

// ownedByCaller reports whether path ("" counts as owned) belongs to the
// user running gitseal, as git 2.39 decides it: the effective user; for
// root, a path root owns, or else one owned by the user who ran sudo
// ($SUDO_UID, when it is a number).
func ownedByCaller(path string) bool {
	if path == "" {
		return true
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return false
	}
	uid := uint64(os.Geteuid())
	if uid == 0 {
		if st.Uid == 0 {
			return true
		}
		if n, err := strconv.ParseUint(os.Getenv("SUDO_UID"), 10, 32); err == nil {
			uid = n
		}
	}
	return uint64(st.Uid) == uid
}

// safeDirectory reports whether the protected config's safe.directory list
// names path or "*".
func safeDirectory(path string) bool {
	want := filepath.Clean(path)
	safe := false
	for _, v := range protectedConfig().getAll("safe.directory") {
		switch {
		case v == "":
			safe = false // an empty value resets the list
		case v == "*":
			safe = true
		default:
			// As git: the value with ~ expanded must be the path exactly
			// (so a trailing slash does not match).
			if expanded := expandUserHome(v); expanded != "" && expanded == want {
				safe = true
			}
		}
	}
	return safe
}

// expandUserHome expands a leading ~/ or ~USER/ as git does for a path
// value: the home directory, then the rest as written (not cleaned, so
// ".." stays and does not match).
func expandUserHome(v string) string {
	if !strings.HasPrefix(v, "~") {
		return v
	}
	name, rest, slash := strings.Cut(v[1:], "/")
	var home string
	if name == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		home = h
	} else {
		u, err := user.Lookup(name)
		if err != nil || u.HomeDir == "" {
			return ""
		}
		home = u.HomeDir
	}
	if !slash {
		return home
	}
	return strings.TrimSuffix(home, "/") + "/" + rest
}
