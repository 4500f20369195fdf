package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/gitseal/gitseal/publish"
)

func contextBackground() context.Context { return context.Background() }

type bundleOptions struct {
	out string
	at  string
}

func (a *app) newBundleCmd() *cobra.Command {
	var o bundleOptions
	cmd := &cobra.Command{
		Use:   "bundle ENV -o FILE",
		Short: "Write one environment, still encrypted, at its pin, to one file",
		Long: `bundle writes ENV's encrypted files at its pinned commit (or at --at REV), with
the commit id and store id, to FILE, for images that ship without .git. The
bundle is sealed under ENV's data key, so making one needs an identity that can
read ENV, and a bundle changed in any byte is refused. Read it with
` + "`gitseal run --bundle FILE`" + ` or publish.Options.Bundle. It prints the commit id.`,
		Example: `  gitseal bundle production -o build/secrets.bundle
  gitseal bundle staging --at v1.4.0 -o staging.bundle`,
		Args: exactArgs(1, "one ENV"),
		RunE: func(cmd *cobra.Command, args []string) error { return a.runBundle(args[0], o) },
	}
	cmd.Flags().StringVarP(&o.out, "output", "o", "", "write the bundle to `FILE` (required)")
	cmd.Flags().StringVar(&o.at, "at", "", "bundle the environment as at `REV` instead of its pin")
	return cmd
}

func (a *app) runBundle(env string, o bundleOptions) error {
	if o.out == "" {
		return usagef("bundle: name the output file with -o FILE")
	}
	s, err := a.openStore()
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	info, err := publish.WriteBundle(&buf, s.Repo(), publish.BundleOptions{
		Env: env, Rev: o.at, Identity: a.identitySource(), Passphrase: a.getenv("GITSEAL_PASSPHRASE"),
	})
	if err != nil {
		return err
	}
	// Write beside the target and rename, so a reader never sees half a bundle.
	tmp, err := os.CreateTemp(filepath.Dir(o.out), ".gitseal-bundle-*")
	if err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("bundle: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	if err := os.Rename(tmp.Name(), o.out); err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	a.infof("bundled %s at %s (%d files) into %s", info.Env, short(info.Commit), info.Files, o.out)
	fmt.Fprintln(a.stdout, info.Commit)
	return nil
}
