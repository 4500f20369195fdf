package main

import (
	"io"
	"os"

	"github.com/spf13/cobra"
)

func (a *app) newTextconvCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "textconv FILE",
		Short: "Show a sealed file as text for git diff (set up by setup-git)",
		Long: `textconv prints the decrypted value of the sealed secret in FILE, for git's
diff.gitseal.textconv (see setup-git), so git diff and git log -p show values to
a reader who holds a key. A named key shows its versions, never its key bytes.
A file no identity of yours decrypts is shown as one placeholder line that
changes when the file changes; textconv never fails in a way that breaks git's
output.

git gives textconv a temporary file named after the secret, not its path: the
environment and the data key are found by trying the data keys of HEAD, of the
commits being merged, of every branch, then of their history. Values shown by
textconv are not recorded in the audit log (git runs it for every blob it
diffs); cachetextconv stays off, so decrypted values are never stored in git.`,
		Example: `  gitseal setup-git
  git log -p .gitseal/
  gitseal textconv .gitseal/default/secrets/DB_PASSWORD`,
		Args: exactArgs(1, "one FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := readDriverFile(args[0])
			if err != nil {
				return err
			}
			s, err := a.openStore()
			if err != nil {
				// Not inside a repository: show the file as git would.
				_, err := a.stdout.Write(data)
				return err
			}
			_, err = a.stdout.Write(s.Textconv(args[0], data))
			return err
		},
	}
}

// readDriverFile reads a file git handed to a driver (at most 64 MiB: a sealed
// file is at most about 1.4 MiB).
func readDriverFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 64<<20))
}
