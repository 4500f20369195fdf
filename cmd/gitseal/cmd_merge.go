package main

import (
	"os"

	"github.com/spf13/cobra"
)

func (a *app) newMergeDriverCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "merge-driver BASE OURS THEIRS PATH",
		Short: "Merge a sealed file by value (git's merge driver; set up by setup-git)",
		Long: `merge-driver is git's merge.gitseal.driver (see setup-git), run as
"gitseal merge-driver %O %A %B %P". It decrypts the three versions of the
sealed file at PATH: the same value on both sides, or a change on one side
only, merges cleanly, sealed under the data key of the merged tree (so a data
key rotation on one branch and a secret change on the other merge to readable
values). Different values leave a conflict: OURS is replaced by a conflict file
that names the secret and holds the three sealed versions, never a value, and
gitseal get reports it. Resolve with ` + "`gitseal set NAME --stage`" + ` and git commit.`,
		Example: `  git config merge.gitseal.driver 'gitseal merge-driver %O %A %B %P'`,
		Args:    exactArgs(4, "BASE OURS THEIRS PATH (git's %O %A %B %P)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var files [3][]byte
			for i := range files {
				b, err := readDriverFile(args[i])
				if err != nil {
					return errorf("merge driver: %w", err)
				}
				files[i] = b
			}
			s, err := a.openStore()
			if err != nil {
				return err
			}
			res, err := s.MergeSealed(args[3], files[0], files[1], files[2])
			if err != nil {
				return err
			}
			if err := os.WriteFile(args[1], res.Data, 0o644); err != nil {
				return errorf("merge driver: writing the result: %w", err)
			}
			if !res.Clean {
				a.infof("gitseal: conflict in %s: %s", args[3], res.Reason)
				return exitStatus(exitError)
			}
			return nil
		},
	}
}
