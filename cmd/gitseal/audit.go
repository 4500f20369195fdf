package main

// The audit hook (DESIGN §7). A command that is about to show a person a
// value calls a.auditEnv or a.auditRuntime once, after the values are
// decrypted and before anything is written to stdout. The order is the
// point: the reveal is recorded first, and if recording fails the value is
// not shown (the error says why and how to fix it). The notification
// command then runs; its failure is only a warning.
//
// What is audited: get, export, key export, history --reveal, diff
// --reveal, and run when its stdin is a terminal (a person at a shell, not
// a service manager). The runtime loader (package publish) never audits,
// and neither do textconv (it runs for every blob git diffs), scan and the
// merge driver, which show no values or only to git's own diff output.

import (
	"github.com/gitseal/gitseal/publish"
	"github.com/gitseal/gitseal/repo"
	"github.com/gitseal/gitseal/versioning"
)

// auditEnv records a reveal of secrets and keys of e.
func (a *app) auditEnv(action, command string, e *versioning.Env, secrets, keys []string) error {
	return a.audit(versioning.AuditEvent{Action: action, Command: command, Env: e.Name(), Secrets: secrets, Keys: keys,
		Commit: e.Snapshot().Commit(), Store: e.Snapshot().StoreID()})
}

// auditRuntime records a reveal of secrets read the way the runtime reads
// them. A bundle has no repository to record in: the reveal goes ahead
// with a warning, since whoever holds a bundle and a key can decrypt it
// without gitseal anyway.
func (a *app) auditRuntime(action, command string, s *publish.Secrets, secrets []string) error {
	if s.From() == publish.FromBundle {
		a.warnf("%s from a bundle is not recorded in the audit log (a bundle has no repository to record in)", command)
		return nil
	}
	return a.audit(versioning.AuditEvent{Action: action, Command: command, Env: s.Env(), Secrets: secrets, Commit: s.Commit()})
}

func (a *app) audit(ev versioning.AuditEvent) error {
	s, err := a.openStore()
	if err != nil {
		return withHint(errorf("not revealing: the reveal cannot be recorded in the audit log: %w", err), auditHint)
	}
	ctx := contextBackground()
	entry, err := s.RecordReveal(ctx, ev)
	if err != nil {
		return withHint(errorf("not revealing: recording the reveal in the audit log (%s) failed: %w", versioning.AuditRef, err), auditHint)
	}
	if cmd := s.AuditNotifyCommand(); cmd != "" {
		if err := versioning.RunAuditNotify(ctx, cmd, repoDir(s.Repo()), entry.Raw, a.stderr); err != nil {
			a.warnf("%v; the reveal was recorded (%s)", err, entry.Entry.String()[:7])
		}
	}
	return nil
}

const auditHint = "gitseal records every reveal in refs/gitseal/audit before showing a value; it needs to write to the repository's .git directory"

// repoDir is where commands about the repository run: the work tree, or
// the git directory of a bare repository.
func repoDir(r *repo.Repo) string {
	if wt := r.WorkTree(); wt != "" {
		return wt
	}
	return r.GitDir()
}

// auditDiff records the values a diff --reveal shows (nothing without
// --reveal): the names revealed, read in the environment at the newer side.
func (a *app) auditDiff(reveal bool, from, to *versioning.Env, entries []versioning.DiffEntry) error {
	if !reveal {
		return nil
	}
	e := to
	if e == nil {
		e = from
	}
	var names []string
	for _, d := range entries {
		if d.Old != nil || d.New != nil {
			names = append(names, d.Name)
		}
	}
	if len(names) == 0 {
		return nil
	}
	return a.auditEnv(versioning.RevealDiff, "diff --reveal", e, names, nil)
}
