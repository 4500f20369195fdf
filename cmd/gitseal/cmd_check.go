package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gitseal/gitseal/cipher"
	"github.com/gitseal/gitseal/versioning"
)

// errProblems ends check and doctor when they found something; the problems
// are already printed.
var errProblems = errors.New("problems found")

func (a *app) newCheckCmd() *cobra.Command {
	var at string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Validate the store without a key (for CI)",
		Long: `check needs no key. It reads the store as committed (the branch tip, or --at
REV) and verifies that every file parses and has a known format version, that
nothing in a secrets or keys directory looks like plaintext, that recipients
files parse, and that every environment's data key is wrapped for every listed
recipient. It prints one line per problem and exits 1 if there is any.`,
		Example: "  gitseal check\n  gitseal check --at origin/main --json",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			sn, err := a.snapshot(at)
			if err != nil {
				return err
			}
			problems, err := sn.Check()
			if err != nil {
				return err
			}
			if asJSON {
				if err := a.printProblemsJSON(problems); err != nil {
					return err
				}
			} else {
				for _, p := range problems {
					fmt.Fprintln(a.stdout, p.String())
				}
			}
			if len(problems) > 0 {
				return withHint(fmt.Errorf("check: %d problem(s) at %s: %w", len(problems), sn.Commit().String()[:7], errProblems),
					"`gitseal doctor` (with a key) tells whether the secrets still decrypt")
			}
			a.infof("gitseal: store at %s is well-formed", sn.Commit().String()[:7])
			return nil
		},
	}
	cmd.Flags().StringVar(&at, "at", "", "check the store as at `REV`")
	cmd.Flags().BoolVar(&asJSON, "json", false, "JSON output")
	return cmd
}

func (a *app) printProblemsJSON(problems []versioning.Problem) error {
	type item struct {
		Commit  string `json:"commit"`
		Path    string `json:"path"`
		Message string `json:"message"`
	}
	out := make([]item, 0, len(problems))
	for _, p := range problems {
		out = append(out, item{p.Commit.String(), p.Path, p.Msg})
	}
	return a.printJSON(out)
}

func (a *app) newDoctorCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Prove that everything at HEAD and at every pin decrypts (needs a key)",
		Long: `doctor decrypts, with your identity, every secret and named key of every
environment at the branch tip, and of every published environment at the
commit its pin (refs/gitseal/pins/ENV) names. It prints one line per
environment checked, then one per failure, and exits 4 if anything does not
decrypt.`,
		Example: "  gitseal doctor\n  GITSEAL_IDENTITY_FILE=ci.key gitseal doctor --json",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.openStore()
			if err != nil {
				return err
			}
			reports, err := s.Doctor()
			if err != nil {
				return err
			}
			var problems []versioning.Problem
			for _, r := range reports {
				problems = append(problems, r.Problems...)
			}
			if asJSON {
				type item struct {
					Where    string `json:"where"`
					Commit   string `json:"commit"`
					Env      string `json:"env"`
					Opened   int    `json:"opened"`
					Problems int    `json:"problems"`
				}
				out := struct {
					Checked  []item `json:"checked"`
					Problems any    `json:"problems"`
				}{Checked: []item{}}
				for _, r := range reports {
					out.Checked = append(out.Checked, item{r.Where, r.Commit.String(), r.Env, r.Opened, len(r.Problems)})
				}
				type pitem struct {
					Commit  string `json:"commit"`
					Path    string `json:"path"`
					Message string `json:"message"`
				}
				ps := []pitem{}
				for _, p := range problems {
					ps = append(ps, pitem{p.Commit.String(), p.Path, p.Msg})
				}
				out.Problems = ps
				if err := a.printJSON(out); err != nil {
					return err
				}
			} else {
				for _, r := range reports {
					status := "ok"
					if len(r.Problems) > 0 {
						status = fmt.Sprintf("%d FAILED", len(r.Problems))
					}
					fmt.Fprintf(a.stdout, "%-32s %s  %-16s %d decrypted, %s\n", r.Where, r.Commit.String()[:7], r.Env, r.Opened, status)
				}
				for _, p := range problems {
					fmt.Fprintf(a.stdout, "%s@%s: %s\n", p.Path, p.Commit.String()[:7], p.Msg)
				}
			}
			if len(problems) > 0 {
				return fmt.Errorf("doctor: %d item(s) do not decrypt: %w", len(problems), cipher.ErrSecret)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "JSON output")
	return cmd
}
