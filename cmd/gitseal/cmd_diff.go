package main

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/gitseal/gitseal/cipher"
	"github.com/gitseal/gitseal/versioning"
)

type diffOptions struct {
	reveal bool
	json   bool
}

func (a *app) newDiffCmd() *cobra.Command {
	var o diffOptions
	cmd := &cobra.Command{
		Use:   "diff REV [REV]",
		Short: "Secrets added, changed or removed between two commits",
		Long: `diff compares the environment's secrets at REV with those at the second REV
(default: the branch tip), by name. With a key it decrypts both sides, so a
secret whose file changed but whose value did not (a rotation) is reported as
"resealed"; without one, any change to a secret's file is "changed".
--reveal also prints the values.`,
		Example: `  gitseal diff v1.2.0
  gitseal diff v1.2.0 v1.3.0 --json
  gitseal --env production diff HEAD~5 --reveal`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return usagef("diff takes one or two revisions (got %d arguments); see `gitseal diff --help`", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			to := ""
			if len(args) == 2 {
				to = args[1]
			}
			return a.runDiff(args[0], to, o)
		},
	}
	cmd.Flags().BoolVar(&o.reveal, "reveal", false, "print the old and new values")
	cmd.Flags().BoolVar(&o.json, "json", false, "JSON output")
	return cmd
}

// envOrNil is the environment at rev, or nil when it does not exist there.
func (a *app) envOrNil(rev string) (*versioning.Env, error) {
	e, err := a.snapshotEnv(rev)
	if errors.Is(err, versioning.ErrEnvNotFound) {
		return nil, nil
	}
	return e, err
}

func (a *app) runDiff(fromRev, toRev string, o diffOptions) error {
	from, err := a.envOrNil(fromRev)
	if err != nil {
		return err
	}
	to, err := a.envOrNil(toRev)
	if err != nil {
		return err
	}
	if from == nil && to == nil {
		_, err := a.snapshotEnv(toRev)
		return err
	}
	opts := versioning.DiffOptions{Values: true, Reveal: o.reveal}
	entries, err := versioning.Diff(from, to, opts)
	if err != nil && !o.reveal && (errors.Is(err, cipher.ErrSecret) || errors.Is(err, cipher.ErrNoIdentity)) {
		a.warnf("values not compared: no identity of yours decrypts them; \"changed\" may be a re-encryption")
		entries, err = versioning.Diff(from, to, versioning.DiffOptions{})
	}
	if err != nil {
		return err
	}
	if err := a.auditDiff(o.reveal, from, to, entries); err != nil {
		return err
	}
	if o.json {
		type entry struct {
			Name   string  `json:"name"`
			Action string  `json:"action"`
			Old    *string `json:"old,omitempty"`
			New    *string `json:"new,omitempty"`
		}
		out := make([]entry, 0, len(entries))
		for _, d := range entries {
			j := entry{Name: d.Name, Action: d.Action}
			if o.reveal {
				if d.Old != nil {
					s := string(d.Old)
					j.Old = &s
				}
				if d.New != nil {
					s := string(d.New)
					j.New = &s
				}
			}
			out = append(out, j)
		}
		return a.printJSON(out)
	}
	for _, d := range entries {
		fmt.Fprintf(a.stdout, "%-8s %s\n", d.Action, d.Name)
		if o.reveal {
			if d.Old != nil {
				fmt.Fprintf(a.stdout, "  - %s\n", printable(d.Old))
			}
			if d.New != nil {
				fmt.Fprintf(a.stdout, "  + %s\n", printable(d.New))
			}
		}
	}
	return nil
}

// printable shows a value on one line: as is when it is non-empty printable
// text that does not start with a quote, else Go-quoted.
func printable(v []byte) string {
	s := string(v)
	plain := s != "" && s[0] != '"' && utf8.ValidString(s)
	for _, r := range s {
		if !plain {
			break
		}
		plain = strconv.IsPrint(r)
	}
	if plain {
		return s
	}
	return strconv.Quote(s)
}
