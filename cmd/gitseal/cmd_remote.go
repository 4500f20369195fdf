package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gitseal/gitseal/publish"
	"github.com/gitseal/gitseal/repo"
)

type syncOptions struct{ json bool }

const syncRules = `Only refs/gitseal/* moves (pins, publish history, the audit log); branches
and tags never do. Publish history and the audit log only move forward: a
remote (or a clone) that is ahead is left alone, and one whose history has
diverged is refused, never forced. A pin moves when, and as, its environment's
publish history does: it is set to what the newest publish record says, so
publishing an older commit travels like any other publish.

REMOTE is a remote's name (default origin) or a URL: a path or file:// (runs
git's git-upload-pack / git-receive-pack, so git must be installed), git://,
ssh:// or user@host:path (through ssh, as git runs it: GIT_SSH_COMMAND,
core.sshCommand, GIT_SSH or ssh, with your keys, agent and known_hosts),
http(s):// (the user and password or token in the URL, and the values of
its query string, are never printed).`

func (a *app) newPushCmd() *cobra.Command {
	var o syncOptions
	cmd := &cobra.Command{
		Use:   "push [REMOTE]",
		Short: "Send pins, publish history and the audit log to a git remote",
		Long: `push sends this repository's refs/gitseal/* refs to REMOTE, with the objects
they need that REMOTE lacks.

` + syncRules,
		Example: `  gitseal push
  gitseal push upstream
  gitseal push git@github.com:acme/app.git`,
		Args: maxOneArg("REMOTE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runSync(cmd, "push", firstArg(args), o)
		},
	}
	cmd.Flags().BoolVar(&o.json, "json", false, "print what moved as JSON on stdout")
	return cmd
}

func (a *app) newFetchCmd() *cobra.Command {
	var o syncOptions
	cmd := &cobra.Command{
		Use:   "fetch [REMOTE]",
		Short: "Bring pins, publish history and the audit log from a git remote",
		Long: `fetch brings REMOTE's refs/gitseal/* refs into this repository, with the
objects they need.

` + syncRules,
		Example: `  gitseal fetch
  gitseal fetch upstream
  gitseal fetch https://git.example.com/acme/app.git`,
		Args: maxOneArg("REMOTE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runSync(cmd, "fetch", firstArg(args), o)
		},
	}
	cmd.Flags().BoolVar(&o.json, "json", false, "print what moved as JSON on stdout")
	return cmd
}

func maxOneArg(what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > 1 {
			return usagef("%s takes at most one %s (got %d arguments); see `gitseal %s --help`", cmd.Name(), what, len(args), cmd.Name())
		}
		return nil
	}
}

func firstArg(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}

type refChangeJSON struct {
	Ref    string `json:"ref"`
	Status string `json:"status"`
	Old    string `json:"old"`
	New    string `json:"new"`
	Reason string `json:"reason,omitempty"`
}

func (a *app) runSync(cmd *cobra.Command, op, remote string, o syncOptions) error {
	s, err := a.openStore()
	if err != nil {
		return err
	}
	var res publish.SyncResult
	if op == "push" {
		res, err = publish.Push(cmd.Context(), s.Repo(), remote)
	} else {
		res, err = publish.Fetch(cmd.Context(), s.Repo(), remote)
	}
	if err != nil && !errors.Is(err, publish.ErrRefused) {
		if errors.Is(err, repo.ErrRemoteNotFound) {
			return withHint(err, "add one with `git remote add origin URL`, or name a URL: `gitseal "+op+" URL`")
		}
		return err
	}
	if o.json {
		out := make([]refChangeJSON, 0, len(res.Changes))
		for _, c := range res.Changes {
			out = append(out, refChangeJSON{Ref: c.Ref, Status: c.Status, Old: hexOrEmpty(c.Old), New: hexOrEmpty(c.New), Reason: c.Reason})
		}
		if perr := a.printJSON(out); perr != nil {
			return perr
		}
	}
	a.reportSync(op, res)
	if err != nil {
		return fmt.Errorf("%s: some refs were refused (see above)", op)
	}
	return nil
}

// reportSync tells a person, on stderr, what moved and what did not.
func (a *app) reportSync(op string, res publish.SyncResult) {
	dir := map[string]string{"push": "to", "fetch": "from"}[op]
	if !res.Changed() {
		a.infof("%s %s: everything up to date", op, res.URL)
	} else {
		objects := "objects"
		if res.Objects == 1 {
			objects = "object"
		}
		a.infof("%s %s %s (%d %s)", op, dir, res.URL, res.Objects, objects)
	}
	for _, c := range res.Changes {
		switch c.Status {
		case publish.StatusCreated:
			a.infof("  created  %s %s", c.Ref, short(c.New))
		case publish.StatusUpdated:
			a.infof("  updated  %s %s..%s", c.Ref, short(c.Old), short(c.New))
		case publish.StatusDeleted:
			a.infof("  deleted  %s (was %s)", c.Ref, short(c.Old))
		case publish.StatusMerged:
			a.infof("  merged   %s %s (the remote's entries and this clone's)", c.Ref, short(c.New))
			if c.Reason != "" {
				a.warnf("%s %s: %s", op, c.Ref, c.Reason)
			}
		case publish.StatusBehind, publish.StatusSkipped:
			a.infof("  %-8s %s: %s", c.Status, c.Ref, c.Reason)
		case publish.StatusRefused:
			a.warnf("%s refused %s: %s", op, c.Ref, c.Reason)
		}
	}
}
