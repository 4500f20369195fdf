package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/gitseal/gitseal/cipher"
	"github.com/gitseal/gitseal/versioning"
)

type historyOptions struct {
	at     string
	json   bool
	reveal bool
}

func (a *app) newHistoryCmd() *cobra.Command {
	var o historyOptions
	cmd := &cobra.Command{
		Use:   "history NAME",
		Short: "List every version of a secret (values hidden)",
		Long: `history lists the commits that added, changed or removed NAME, newest first,
with author, date and the gitseal command that made each. --reveal also prints
each version's value, decrypted with the data key of its own commit.`,
		Example: `  gitseal history DB_PASSWORD
  gitseal history DB_PASSWORD --json
  gitseal history DB_PASSWORD --reveal`,
		Args: exactArgs(1, "one secret NAME"),
		RunE: func(cmd *cobra.Command, args []string) error { return a.runHistory(args[0], o) },
	}
	cmd.Flags().StringVar(&o.at, "at", "", "start from `REV` instead of the branch tip")
	cmd.Flags().BoolVar(&o.json, "json", false, "JSON output")
	cmd.Flags().BoolVar(&o.reveal, "reveal", false, "print each version's value")
	return cmd
}

func (a *app) runHistory(name string, o historyOptions) error {
	if err := cipher.ValidName(name); err != nil {
		return usagef("history: secret name: %v", err)
	}
	e, err := a.snapshotEnv(o.at)
	if err != nil {
		return err
	}
	versions, err := e.History(name)
	if err != nil {
		return err
	}
	if len(versions) == 0 {
		_, err := e.Sealed(name)
		return err
	}
	var values [][]byte
	if o.reveal {
		if values, err = e.Values(name, versions); err != nil {
			return err
		}
		if err := a.auditEnv(versioning.RevealHistory, "history --reveal", e, []string{name}, nil); err != nil {
			return err
		}
	}
	if o.json {
		type item struct {
			Commit  string    `json:"commit"`
			Author  string    `json:"author"`
			Email   string    `json:"email"`
			Time    time.Time `json:"time"`
			Action  string    `json:"action"`
			Command string    `json:"command,omitempty"`
			Subject string    `json:"subject"`
			Value   *string   `json:"value,omitempty"`
		}
		out := make([]item, 0, len(versions))
		for i, v := range versions {
			it := item{v.Commit.String(), v.Author.Name, v.Author.Email, v.Author.When, v.Action, v.Command, v.Subject, nil}
			if values != nil && values[i] != nil {
				s := string(values[i])
				it.Value = &s
			}
			out = append(out, it)
		}
		return a.printJSON(out)
	}
	for i, v := range versions {
		cmd := v.Command
		if cmd == "" {
			cmd = "-"
		}
		fmt.Fprintf(a.stdout, "%s  %s  %-7s  %-8s  %s <%s>\n", v.Commit.String()[:7], v.Author.When.Format("2006-01-02 15:04:05 -0700"), v.Action, cmd, v.Author.Name, v.Author.Email)
		if values != nil && values[i] != nil {
			fmt.Fprintf(a.stdout, "    %s\n", printable(values[i]))
		}
	}
	return nil
}
