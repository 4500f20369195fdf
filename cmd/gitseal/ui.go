package main

// ui.go is the only printer. Its rules:
//
//   - stdout carries data only: values, JSON, ids, names. Nothing else.
//   - everything else goes to stderr, one line each, as
//     "gitseal: error: …", "gitseal: warning: …", "gitseal: hint: …" or
//     plain progress text.
//   - no message ever contains a secret value, a key or a passphrase; library
//     errors are built never to carry them, and nothing here adds them.

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gitseal/gitseal/cipher"
	"github.com/gitseal/gitseal/repo"
	"github.com/gitseal/gitseal/versioning"
)

// Exit codes, DESIGN §6.
const (
	exitOK        = 0
	exitError     = 1
	exitUsage     = 2
	exitNotFound  = 3
	exitNoDecrypt = 4
)

// usageError marks a command line that cannot be run as written.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// hintError carries the command that fixes the problem.
type hintError struct {
	err  error
	hint string
}

func (e hintError) Error() string { return e.err.Error() }
func (e hintError) Unwrap() error { return e.err }

func withHint(err error, hint string) error {
	if err == nil {
		return nil
	}
	return hintError{err, hint}
}

func exitCode(err error) int {
	var u usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &u), errors.Is(err, versioning.ErrInvalid):
		return exitUsage
	case errors.Is(err, cipher.ErrSecret), errors.Is(err, cipher.ErrNoIdentity):
		return exitNoDecrypt
	case errors.Is(err, versioning.ErrNotFound), errors.Is(err, versioning.ErrEnvNotFound),
		errors.Is(err, repo.ErrRevisionNotFound):
		return exitNotFound
	}
	var x exitStatus
	if errors.As(err, &x) {
		return int(x)
	}
	return exitError
}

// exitStatus is returned by commands that end with a specific code and have
// already said why (for example `run` passing on its child's status).
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func (a *app) printError(err error) {
	var x exitStatus
	if errors.As(err, &x) {
		return
	}
	msg := err.Error()
	// Sentinel suffixes such as ": invalid input" add nothing for a person.
	for _, s := range []error{versioning.ErrInvalid, versioning.ErrRefused} {
		msg = strings.TrimSuffix(msg, ": "+s.Error())
	}
	fmt.Fprintf(a.stderr, "gitseal: error: %s\n", msg)
	if h := hintFor(err); h != "" {
		fmt.Fprintf(a.stderr, "gitseal: hint: %s\n", h)
	}
}

func hintFor(err error) string {
	var h hintError
	var u usageError
	switch {
	case errors.As(err, &h):
		return h.hint
	case errors.As(err, &u):
		return "run `gitseal help` or `gitseal COMMAND --help` for usage"
	case errors.Is(err, repo.ErrNotRepository):
		return "run gitseal inside a git repository, or name one with `gitseal -C DIR`; `git init` creates one"
	case errors.Is(err, versioning.ErrNoStore):
		return "create the store with `gitseal init`"
	case errors.Is(err, cipher.ErrNoIdentity):
		return "create one with `gitseal keygen -o ~/.config/gitseal/identity`, or point GITSEAL_IDENTITY_FILE at yours"
	case errors.Is(err, repo.ErrNoIdentity):
		return "git config --global user.name \"Your Name\" && git config --global user.email you@example.com"
	case errors.Is(err, repo.ErrSign):
		return "check the signing setup (git config gpg.format, user.signingKey), or commit unsigned with `gitseal --no-sign ...`"
	case errors.Is(err, repo.ErrDirtyPath):
		return "commit or discard your edits to that file first (`git diff -- .gitseal` shows them)"
	case errors.Is(err, versioning.ErrEnvNotFound):
		return "`gitseal env ls` lists the environments"
	}
	return ""
}

func (a *app) warnf(format string, args ...any) {
	fmt.Fprintf(a.stderr, "gitseal: warning: "+format+"\n", args...)
}

func (a *app) hintf(format string, args ...any) {
	fmt.Fprintf(a.stderr, "gitseal: hint: "+format+"\n", args...)
}

// infof prints progress or a confirmation for a person, on stderr.
func (a *app) infof(format string, args ...any) {
	fmt.Fprintf(a.stderr, format+"\n", args...)
}
