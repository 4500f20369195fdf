package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/gitseal/gitseal/cipher"
	"github.com/gitseal/gitseal/versioning"
)

type getOptions struct{ at string }

func (a *app) newGetCmd() *cobra.Command {
	var o getOptions
	cmd := &cobra.Command{
		Use:   "get NAME",
		Short: "Print a secret's value",
		Long: `get writes the value's exact bytes to stdout, as committed at the branch tip
(or at --at REV). A newline is added only when stdout is a terminal.`,
		Example: `  gitseal get DB_PASSWORD
  gitseal get DB_PASSWORD --at HEAD~3
  gitseal --env production get API_TOKEN > token.txt`,
		Args: exactArgs(1, "one secret NAME"),
		RunE: func(cmd *cobra.Command, args []string) error { return a.runGet(args[0], o) },
	}
	cmd.Flags().StringVar(&o.at, "at", "", "read the value as it was at `REV` (a commit, branch or tag)")
	return cmd
}

func (a *app) runGet(name string, o getOptions) error {
	if err := cipher.ValidName(name); err != nil {
		return usagef("get: secret name: %v", err)
	}
	e, err := a.snapshotEnv(o.at)
	if err != nil {
		return err
	}
	v, err := e.Get(name)
	if err != nil {
		return err
	}
	if err := a.auditEnv(versioning.RevealGet, "get", e, []string{name}, nil); err != nil {
		return err
	}
	if _, err := a.stdout.Write(v); err != nil {
		return err
	}
	if a.stdoutIsTerminal() {
		fmt.Fprintln(a.stdout)
	}
	return nil
}

type lsOptions struct {
	at   string
	json bool
}

func (a *app) newLsCmd() *cobra.Command {
	var o lsOptions
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List the secrets of an environment",
		Long: `ls prints the names of the environment's secrets, one a line. With --json it
prints a JSON array of {"name", "commit", "time"}: the last commit that changed each.`,
		Example: `  gitseal ls
  gitseal ls --json
  gitseal ls --at v1.2.0`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return a.runLs(o) },
	}
	cmd.Flags().StringVar(&o.at, "at", "", "list as at `REV`")
	cmd.Flags().BoolVar(&o.json, "json", false, "JSON output with the last change of each secret")
	return cmd
}

func (a *app) runLs(o lsOptions) error {
	e, err := a.snapshotEnv(o.at)
	if err != nil {
		return err
	}
	names, err := e.Names()
	if err != nil {
		return err
	}
	if !o.json {
		for _, n := range names {
			fmt.Fprintln(a.stdout, n)
		}
		return nil
	}
	changes, err := e.LastChanges(names)
	if err != nil {
		return err
	}
	type item struct {
		Name   string    `json:"name"`
		Commit string    `json:"commit"`
		Time   time.Time `json:"time"`
	}
	out := make([]item, 0, len(names))
	for _, n := range names {
		c := changes[n]
		out = append(out, item{Name: n, Commit: c.Commit.String(), Time: c.Time})
	}
	return a.printJSON(out)
}

func (a *app) printJSON(v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(a.stdout, "%s\n", b)
	return err
}
