package main

import (
	"github.com/spf13/cobra"

	"github.com/gitseal/gitseal/cipher"
	"github.com/gitseal/gitseal/versioning"
)

type rollbackOptions struct {
	to    string
	stage bool
}

func (a *app) newRollbackCmd() *cobra.Command {
	var o rollbackOptions
	cmd := &cobra.Command{
		Use:   "rollback NAME --to REV",
		Short: "Restore one secret to the value it had at a commit",
		Long: `rollback makes one new commit that sets NAME to the value it had at REV,
sealed again under the environment's current data key. Other secrets are not
touched, and history is not rewritten: the rollback is itself a version.`,
		Example: `  gitseal history DB_PASSWORD
  gitseal rollback DB_PASSWORD --to HEAD~2
  gitseal --env production rollback API_TOKEN --to v1.4.0`,
		Args: exactArgs(1, "one secret NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cipher.ValidName(args[0]); err != nil {
				return usagef("rollback: secret name: %v", err)
			}
			if o.to == "" {
				return usagef("rollback needs --to REV: the commit whose value to restore (`gitseal history %s` lists them)", args[0])
			}
			s, err := a.openStore()
			if err != nil {
				return err
			}
			res, err := s.Rollback(cmd.Context(), a.envName(), args[0], o.to, versioning.WriteOptions{Stage: o.stage})
			if err != nil {
				return err
			}
			a.reportWrite(res)
			return nil
		},
	}
	cmd.Flags().StringVar(&o.to, "to", "", "the commit, branch or tag (`REV`) whose value to restore")
	cmd.Flags().BoolVar(&o.stage, "stage", false, "write and stage instead of committing")
	return cmd
}
