package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gitseal/gitseal/versioning"
)

type scanOptions struct{ staged bool }

func (a *app) newScanCmd() *cobra.Command {
	var o scanOptions
	cmd := &cobra.Command{
		Use:   "scan [--staged | PATH...]",
		Short: "Find secret values in files (a leak check; exits 1 on a find)",
		Long: fmt.Sprintf(`scan looks for the current values of the secrets (as committed at the branch
tip) in files: as they are, trimmed, in standard or URL-safe base64, in hex
and URL-encoded; and for named keys their exported base64. --staged reads what
a commit made now would add (the pre-commit hook that setup-git installs runs
it); otherwise the PATHs (files or directories), or the whole work tree.

Each find prints FILE:LINE: ENV/NAME (FORM) on stdout, never the value, and
scan exits 1. Without --env, every environment your identities decrypt is
checked; the others are named in a warning. Values shorter than %d bytes
are not looked for.`, versioning.MinScanLength),
		Example: `  gitseal scan --staged
  gitseal scan logs/ config/app.yaml
  gitseal --env production scan`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.staged && len(args) > 0 {
				return usagef("scan: give --staged or PATHs, not both")
			}
			return a.runScan(cmd, args, o)
		},
	}
	cmd.Flags().BoolVar(&o.staged, "staged", false, "scan what is staged for the next commit")
	return cmd
}

func (a *app) runScan(cmd *cobra.Command, paths []string, o scanOptions) error {
	s, err := a.openStore()
	if err != nil {
		return err
	}
	res, err := s.Scan(cmd.Context(), versioning.ScanOptions{Env: a.envName(), Staged: o.staged, Paths: paths})
	if err != nil {
		return err
	}
	if len(res.Unreadable) > 0 {
		a.warnf("scan: no identity of yours decrypts %s; their values were not looked for", strings.Join(res.Unreadable, ", "))
	}
	if len(res.Short) > 0 {
		a.warnf("scan: %d values shorter than %d bytes were not looked for (%s)", len(res.Short), versioning.MinScanLength, strings.Join(res.Short, ", "))
	}
	for _, f := range res.TooLarge {
		a.warnf("scan: %s is larger than 64 MiB; not scanned", f)
	}
	if len(res.Findings) == 0 {
		return nil
	}
	files := map[string]bool{}
	secrets := map[string]bool{}
	for _, f := range res.Findings {
		fmt.Fprintf(a.stdout, "%s:%d: %s/%s (%s)\n", f.File, f.Line, f.Env, f.Name, f.Form)
		files[f.File] = true
		secrets[f.Env+"/"+f.Name] = true
	}
	fmt.Fprintf(a.stderr, "gitseal: error: scan: the value of %d secret(s) found in %d file(s)\n", len(secrets), len(files))
	if o.staged {
		a.hintf("take the value out of those files and `git add` them again; if it was committed before, rotate it: `gitseal generate NAME` (or set a new value)")
	} else {
		a.hintf("take the value out of those files; if it was shared or committed, give the secret a new value")
	}
	return exitStatus(exitError)
}
