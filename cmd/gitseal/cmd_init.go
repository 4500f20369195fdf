package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/gitseal/gitseal/cipher"
	"github.com/gitseal/gitseal/versioning"
)

type initOptions struct {
	recipients []string
	from       string
	stage      bool
}

func (a *app) newInitCmd() *cobra.Command {
	var o initOptions
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create the store in this repository (and an identity if you have none)",
		Long: `init creates .gitseal/ with one environment (--env, default "default") readable
by your identity and any --recipient, in one commit. If you have no identity yet,
it creates one at ~/.config/gitseal/identity and prints its public key.`,
		Example: `  gitseal init
  gitseal init --env production --recipient age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p
  gitseal init --from ../billing-app   # share its store id, data keys and named keys`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return a.runInit(cmd, o) },
	}
	cmd.Flags().StringArrayVar(&o.recipients, "recipient", nil, "also allow this public `KEY` (age or SSH) to read the environment")
	cmd.Flags().StringVar(&o.from, "from", "", "share the store id, environments, data keys and named keys of the store in `REPO` (you must be able to read it)")
	cmd.Flags().BoolVar(&o.stage, "stage", false, "write and stage the store instead of committing it")
	return cmd
}

func (a *app) runInit(cmd *cobra.Command, o initOptions) error {
	s, err := a.openStore()
	if err != nil {
		return err
	}
	if o.from != "" {
		if len(o.recipients) > 0 || a.env != "" {
			return usagef("init: --from copies the environments and recipients of REPO; --recipient and --env cannot be used with it")
		}
		other, err := versioning.Open(o.from, versioning.Options{Identity: a.identitySource(), Passphrase: a.getenv("GITSEAL_PASSPHRASE"), Now: a.now})
		if err != nil {
			return fmt.Errorf("init --from: %w", err)
		}
		defer other.Close()
		res, err := s.InitFrom(cmd.Context(), other, versioning.WriteOptions{Stage: o.stage})
		if err != nil {
			return err
		}
		a.reportWrite(res)
		return nil
	}
	var rs []cipher.Recipient
	ids, err := cipher.LoadIdentities(a.identitySource())
	switch {
	case err == nil:
		own := ids.Recipients()
		if len(own) == 0 {
			return errorf("init: your identity has no public key gitseal can use")
		}
		rs = append(rs, own[0])
	case errors.Is(err, cipher.ErrNoIdentity) && a.identity == "" && a.getenv("GITSEAL_IDENTITY") == "" && a.getenv("GITSEAL_IDENTITY_FILE") == "":
		r, path, err := a.createDefaultIdentity()
		if err != nil {
			return err
		}
		a.infof("gitseal: created your identity %s", path)
		a.infof("Public key: %s", r.Key)
		rs = append(rs, r)
	default:
		return err
	}
	for _, k := range o.recipients {
		r, err := cipher.ParseRecipient(k)
		if err != nil {
			return usagef("init: --recipient: %v", err)
		}
		rs = append(rs, r)
	}
	res, err := s.Init(cmd.Context(), versioning.InitOptions{
		Env:          a.envName(),
		Recipients:   rs,
		WriteOptions: versioning.WriteOptions{Stage: o.stage},
	})
	if err != nil {
		if errors.Is(err, versioning.ErrExists) {
			return withHint(err, "the store exists; `gitseal ls` shows its secrets")
		}
		return err
	}
	a.reportWrite(res)
	return nil
}

// defaultIdentityPath is $XDG_CONFIG_HOME/gitseal/identity, or
// ~/.config/gitseal/identity.
func (a *app) defaultIdentityPath() string {
	base := a.getenv("XDG_CONFIG_HOME")
	if base == "" {
		base = filepath.Join(a.homeDir(), ".config")
	}
	return filepath.Join(base, "gitseal", "identity")
}

func (a *app) createDefaultIdentity() (cipher.Recipient, string, error) {
	path := a.defaultIdentityPath()
	file, pub, err := cipher.GenerateIdentity(a.now())
	if err != nil {
		return cipher.Recipient{}, "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return cipher.Recipient{}, "", fmt.Errorf("creating your identity: %w", err)
	}
	if err := writeNewFile(path, file); err != nil {
		return cipher.Recipient{}, "", fmt.Errorf("creating your identity: %w", err)
	}
	return pub, path, nil
}

// writeNewFile creates path with mode 0600; it never overwrites.
func writeNewFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s already exists; choose another file or remove it first", path)
		}
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}

type keygenOptions struct{ output string }

func (a *app) newKeygenCmd() *cobra.Command {
	var o keygenOptions
	cmd := &cobra.Command{
		Use:   "keygen",
		Short: "Create a new age identity for a person or a machine",
		Long: `keygen writes a new age identity (mode 0600) to -o FILE, or to stdout, with its
public key in a "# public key:" comment, as age-keygen does. The public key is
also printed on stderr: give it to someone who can run ` + "`gitseal recipient add`.",
		Example: `  gitseal keygen -o ~/.config/gitseal/identity
  gitseal keygen -o ci.key && GITSEAL_IDENTITY_FILE=ci.key gitseal get DB_PASSWORD`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return a.runKeygen(o) },
	}
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "write the identity to `FILE` (created with mode 0600; never overwritten)")
	return cmd
}

func (a *app) runKeygen(o keygenOptions) error {
	file, pub, err := cipher.GenerateIdentity(a.now())
	if err != nil {
		return err
	}
	if o.output == "" {
		if a.stdoutIsTerminal() {
			a.warnf("writing a secret key to the terminal; use -o FILE to keep it in a file")
		}
		if _, err := a.stdout.Write(file); err != nil {
			return err
		}
	} else if err := writeNewFile(o.output, file); err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	a.infof("Public key: %s", pub.Key)
	return nil
}
