package main

import (
	"path/filepath"

	"github.com/spf13/cobra"
)

func (a *app) newSetupGitCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "setup-git",
		Short: "Readable diffs, value merges and a leak check in your git (this clone only)",
		Long: `setup-git wires gitseal into git for this clone:

  .gitattributes   sealed secret and key files use the "gitseal" diff and
                   merge drivers (written in the work tree; commit it)
  .git/config      diff.gitseal.textconv = gitseal textconv: git diff and
                   git log -p show decrypted values to a reader with a key;
                   merge.gitseal.driver = gitseal merge-driver %O %A %B %P:
                   git merge merges secrets by value and never writes
                   plaintext
  pre-commit hook  gitseal scan --staged refuses a commit holding a current
                   secret's plaintext
  post-merge hook  gitseal reseal --check warns when a merge left a secret
                   sealed under an older data key
                   (an existing hook is kept and runs first)

Only the repository's own config is written, never your global config.
Running it again changes nothing.`,
		Example: `  gitseal setup-git && git add .gitattributes && git commit -m 'gitseal drivers'
  git log -p .gitseal/`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.openStore()
			if err != nil {
				return err
			}
			res, err := s.SetupGit()
			if err != nil {
				return err
			}
			if len(res.Changes) == 0 {
				a.infof("gitseal: git integration already set up; nothing changed")
				return nil
			}
			for _, c := range res.Changes {
				a.infof("gitseal: %s", c)
			}
			if res.AttributesChanged {
				rel, err := filepath.Rel(mustWorkDir(a), res.Attributes)
				if err != nil {
					rel = res.Attributes
				}
				a.hintf("commit the attributes so every clone uses the drivers: git add %s && git commit -m 'gitseal: diff and merge drivers'", rel)
			}
			return nil
		},
	}
}

func mustWorkDir(a *app) string {
	d, _ := a.workDir()
	return d
}
