package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gitseal/gitseal/cipher"
	"github.com/gitseal/gitseal/versioning"
)

type resealOptions struct{ check, stage bool }

func (a *app) newResealCmd() *cobra.Command {
	var o resealOptions
	cmd := &cobra.Command{
		Use:   "reseal",
		Short: "Seal again secrets a merge left under an older data key",
		Long: `A merge can leave a secret sealed under an older data key of its environment:
when one branch rotated the key (rotate, recipient rm) and the other added a
secret, git takes the added file as it is without running the merge driver;
or when a conflict was resolved with set --stage while the other branch had
rotated. The environment's current key does not open such a file.

reseal finds them at the branch tip, opens each with the older key (found in
the history of the branches) and seals it again under the current one, in one
commit. --check only lists them (ENV/NAME on stdout; exit 1 when there are
any); the post-merge hook that setup-git installs runs it.

It accepts the value such a file holds, as a merge does: someone who kept an
old data key could have written it. Look at the list before pushing.`,
		Example: `  gitseal reseal --check
  gitseal reseal`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.openStore()
			if err != nil {
				return err
			}
			if o.check {
				stale, err := s.StaleFiles()
				if err != nil {
					return err
				}
				for _, f := range stale {
					fmt.Fprintf(a.stdout, "%s/%s\n", f.Env, f.Name)
					a.warnf("%s", describeStale(f))
				}
				if len(stale) > 0 {
					a.hintf("run `gitseal reseal` to seal them under the current data key")
					return exitStatus(exitError)
				}
				return nil
			}
			res, done, err := s.Reseal(cmd.Context(), versioning.WriteOptions{Stage: o.stage})
			if err != nil {
				return err
			}
			for _, f := range done {
				a.infof("gitseal: resealed %s/%s", f.Env, f.Name)
			}
			a.reportWrite(res)
			if stale, err := s.StaleFiles(); err == nil && !o.stage {
				for _, f := range stale {
					a.warnf("%s", describeStale(f))
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&o.check, "check", false, "only list the files; exit 1 when there are any")
	cmd.Flags().BoolVar(&o.stage, "stage", false, "write and stage instead of committing")
	return cmd
}

func describeStale(f versioning.StaleFile) string {
	what := "secret"
	if f.Kind == cipher.KindKeyring {
		what = "key"
	}
	switch {
	case f.Conflict:
		return fmt.Sprintf("%s %s/%s holds an unresolved merge conflict", what, f.Env, f.Name)
	case f.Opens:
		return fmt.Sprintf("%s %s/%s is sealed under an older data key of %s", what, f.Env, f.Name, f.Env)
	}
	return fmt.Sprintf("%s %s/%s does not open under any data key of %s you can unwrap", what, f.Env, f.Name, f.Env)
}
