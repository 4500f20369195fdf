package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

func (a *app) newAuditCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Who revealed which secret, when (log, verify)",
		Long: `Every get, export, key export, history --reveal and diff --reveal, and every
run started from a terminal, is recorded before the value is shown, as a commit
on refs/gitseal/audit: who (git identity), the login and host, when, which
environment and names, and the commit read. Never a value. If the event
cannot be recorded, the value is not shown.

The git config variable gitseal.auditNotify names a shell command that is run
after each event is recorded, with the event as JSON on stdin; its failure is
a warning. It is read from git config only, never from a tracked file.`,
		Example: `  gitseal audit log
  gitseal audit log --json
  gitseal audit verify
  git config gitseal.auditNotify 'mail -s "gitseal reveal" owner@example.com'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return usagef("audit needs a subcommand: log or verify")
		},
	}
	cmd.AddCommand(a.newAuditLogCmd(), a.newAuditVerifyCmd())
	return cmd
}

func (a *app) newAuditLogCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "log",
		Short: "List the recorded reveals, newest first",
		Long: `log lists the audit log's events, newest first: the entry, the time, the
action, environment/names, who, the commit read and the host. --json prints an
array of the events with their "entry" commit.`,
		Example: `  gitseal audit log
  gitseal audit log --json | jq '.[] | select(.env == "production")'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return a.runAuditLog(asJSON) },
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "JSON output")
	return cmd
}

func (a *app) runAuditLog(asJSON bool) error {
	s, err := a.openStore()
	if err != nil {
		return err
	}
	entries, err := s.AuditLog()
	if err != nil {
		return withHint(err, "`gitseal audit verify` says what is wrong with the log")
	}
	if asJSON {
		type item struct {
			Entry   string    `json:"entry"`
			Action  string    `json:"action"`
			Command string    `json:"command"`
			Store   string    `json:"store"`
			Env     string    `json:"env"`
			Secrets []string  `json:"secrets"`
			Keys    []string  `json:"keys"`
			Commit  string    `json:"commit"`
			Who     string    `json:"who"`
			User    string    `json:"user"`
			Host    string    `json:"host"`
			Time    time.Time `json:"time"`
		}
		out := make([]item, 0, len(entries))
		for _, e := range entries {
			out = append(out, item{e.Entry.String(), e.Action, e.Command, e.Store, e.Env, nonNilNames(e.Secrets), nonNilNames(e.Keys),
				e.Commit.String(), e.Who, e.User, e.Host, e.Time})
		}
		return a.printJSON(out)
	}
	for _, e := range entries {
		names := append(append([]string(nil), e.Secrets...), e.Keys...)
		what := e.Env + "/" + strings.Join(names, ",")
		if len(names) == 0 {
			what = e.Env
		}
		fmt.Fprintf(a.stdout, "%s  %s  %-14s  %s  %s  @%s  %s@%s\n", e.Entry.String()[:7], e.Time.Local().Format("2006-01-02 15:04:05 -0700"),
			e.Action, what, e.Who, e.Commit.String()[:7], e.User, e.Host)
	}
	return nil
}

func nonNilNames(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (a *app) newAuditVerifyCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "verify",
		Short: "Check the audit log's form, and that it still holds what this clone saw",
		Long: `verify checks the form of every entry of refs/gitseal/audit, and that the
log still contains the newest entry this clone wrote or saw (remembered in
.git/gitseal/audit-seen). A log that was rewritten, truncated or deleted, or
an entry that is malformed, is reported and verify exits 1; the report repeats
until the log is restored. When the log verifies, its tip becomes the entry
remembered.`,
		Example: `  gitseal audit verify`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.openStore()
			if err != nil {
				return err
			}
			rep, err := s.VerifyAudit()
			if len(rep.Problems) > 0 {
				for _, p := range rep.Problems {
					fmt.Fprintf(a.stderr, "gitseal: error: audit log: %s\n", p)
				}
				a.hintf("restore refs/gitseal/audit from a clone or remote that has the full log (`git fetch REMOTE refs/gitseal/audit:refs/gitseal/audit`), then run verify again")
				return exitStatus(exitError)
			}
			if err != nil {
				return err
			}
			tip := "none"
			if !rep.Tip.IsZero() {
				tip = rep.Tip.String()
			}
			fmt.Fprintf(a.stdout, "ok %d entries %d merges tip %s\n", rep.Entries, rep.Merges, tip)
			return nil
		},
	}
}
