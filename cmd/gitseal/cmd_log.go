package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/gitseal/gitseal/versioning"
)

type logOptions struct {
	at    string
	limit int
	json  bool
}

func (a *app) newLogCmd() *cobra.Command {
	var o logOptions
	cmd := &cobra.Command{
		Use:   "log",
		Short: "List the commits that changed secrets, newest first",
		Long: `log lists the commits that changed the store, newest first, as
` + "`git log -- .gitseal`" + ` would, and under each what it changed: secrets, keys,
recipients, data keys. With --env (or GITSEAL_ENV) only that environment's
changes are listed. Values are never shown.`,
		Example: `  gitseal log
  gitseal --env production log -n 10
  gitseal log --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return a.runLog(o) },
	}
	cmd.Flags().StringVar(&o.at, "at", "", "start from `REV` instead of the branch tip")
	cmd.Flags().IntVarP(&o.limit, "max-count", "n", 0, "show at most `N` commits")
	cmd.Flags().BoolVar(&o.json, "json", false, "JSON output")
	return cmd
}

func (a *app) runLog(o logOptions) error {
	if o.limit < 0 {
		return usagef("log: -n must not be negative")
	}
	sn, err := a.snapshot(o.at)
	if err != nil {
		return err
	}
	env := a.envName()
	if env != "" {
		if _, err := sn.Env(env); err != nil {
			return err
		}
	}
	entries, err := sn.Log(versioning.LogOptions{Env: env, Limit: o.limit})
	if err != nil {
		return err
	}
	if o.json {
		type item struct {
			Env    string `json:"env,omitempty"`
			Kind   string `json:"kind"`
			Name   string `json:"name,omitempty"`
			Action string `json:"action"`
		}
		type entry struct {
			Commit  string    `json:"commit"`
			Author  string    `json:"author"`
			Email   string    `json:"email"`
			Time    time.Time `json:"time"`
			Command string    `json:"command,omitempty"`
			Subject string    `json:"subject"`
			Changes []item    `json:"changes"`
		}
		out := make([]entry, 0, len(entries))
		for _, e := range entries {
			j := entry{Commit: e.Commit.String(), Author: e.Author.Name, Email: e.Author.Email, Time: e.Author.When,
				Command: e.Command, Subject: e.Subject, Changes: []item{}}
			for _, it := range e.Items {
				j.Changes = append(j.Changes, item{it.Env, it.Kind, it.Name, it.Action})
			}
			out = append(out, j)
		}
		return a.printJSON(out)
	}
	for _, e := range entries {
		fmt.Fprintf(a.stdout, "%s  %s  %s <%s>  %s\n", e.Commit.String()[:7], e.Author.When.Format("2006-01-02 15:04:05 -0700"),
			e.Author.Name, e.Author.Email, e.Subject)
		for _, it := range e.Items {
			fmt.Fprintf(a.stdout, "    %-8s %s\n", it.Action, itemLabel(it))
		}
	}
	return nil
}

// itemLabel names a store file for people: "secret production/DB_URL".
func itemLabel(it versioning.Item) string {
	switch it.Kind {
	case versioning.ItemSecret, versioning.ItemKey:
		return it.Kind + " " + it.Env + "/" + it.Name
	case versioning.ItemRecipients, versioning.ItemDataKey, versioning.ItemPassphrase:
		return it.Kind + " " + it.Env
	case versioning.ItemStore:
		return "store.json"
	}
	return it.Name
}
