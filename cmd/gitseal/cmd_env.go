package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gitseal/gitseal/cipher"
	"github.com/gitseal/gitseal/versioning"
)

func (a *app) newEnvCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "env",
		Short: "Environments: create, list, remove",
		Long: `Each environment (default, staging, production, …) has its own secrets, named
keys, recipients and data key. A copy (` + "`env create X --from Y`" + `) decrypts every
secret of Y and seals it again under X's own new data key: no ciphertext is
shared between environments, and one cannot be opened as the other.`,
		Example: `  gitseal env create staging --from default
  gitseal env create production --recipient age1…
  gitseal env ls
  gitseal env rm staging`,
		Args: noArgs,
	}
	cmd.AddCommand(a.newEnvCreateCmd(), a.newEnvLsCmd(), a.newEnvRmCmd())
	return cmd
}

func checkEnvArg(verb, name string) error {
	if err := cipher.ValidName(name); err != nil {
		return usagef("env %s: environment name: %v", verb, err)
	}
	return nil
}

func (a *app) newEnvCreateCmd() *cobra.Command {
	var from string
	var keys []string
	var stage bool
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create an environment, empty or as a re-encrypted copy of another",
		Long: `create makes environment NAME with a new data key, in one commit. Its
recipients are those given with --recipient (keys or files of keys), else
those of --from, else those of the store's default environment.`,
		Example: `  gitseal env create staging --from default
  gitseal env create production --recipient ~/.ssh/id_ed25519.pub --recipient ci.keys`,
		Args: exactArgs(1, "one environment NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkEnvArg("create", args[0]); err != nil {
				return err
			}
			if from != "" {
				if err := checkEnvArg("create --from", from); err != nil {
					return err
				}
			}
			var rs []cipher.Recipient
			for _, k := range keys {
				got, err := parseKeysArg(k)
				if err != nil {
					return err
				}
				rs = append(rs, got...)
			}
			s, err := a.openStore()
			if err != nil {
				return err
			}
			res, err := s.EnvCreate(cmd.Context(), args[0], versioning.EnvCreateOptions{
				From: from, Recipients: rs,
				RekeyOptions: versioning.RekeyOptions{Progress: a.progress("copying"), WriteOptions: versioning.WriteOptions{Stage: stage}},
			})
			if errors.Is(err, versioning.ErrExists) {
				return withHint(err, "`gitseal env ls` lists the environments")
			}
			if err != nil {
				return err
			}
			a.reportWrite(res)
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "copy the secrets and keys of environment `ENV`")
	cmd.Flags().StringArrayVar(&keys, "recipient", nil, "a public key or a file of them (`KEY|FILE`); repeatable")
	cmd.Flags().BoolVar(&stage, "stage", false, "write and stage instead of committing")
	return cmd
}

func (a *app) newEnvLsCmd() *cobra.Command {
	var asJSON bool
	var at string
	cmd := &cobra.Command{
		Use:     "ls",
		Short:   "List the environments",
		Example: "  gitseal env ls\n  gitseal env ls --json",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			sn, err := a.snapshot(at)
			if err != nil {
				return err
			}
			infos, err := sn.EnvInfos()
			if err != nil {
				return err
			}
			if asJSON {
				type item struct {
					Name       string `json:"name"`
					Default    bool   `json:"default"`
					Secrets    int    `json:"secrets"`
					Keys       int    `json:"keys"`
					Recipients int    `json:"recipients"`
					Passphrase bool   `json:"passphrase"`
					Pin        string `json:"pin,omitempty"`
				}
				out := make([]item, 0, len(infos))
				for _, i := range infos {
					it := item{i.Name, i.Default, i.Secrets, i.Keys, i.Recipients, i.Passphrase, ""}
					if !i.Pin.IsZero() {
						it.Pin = i.Pin.String()
					}
					out = append(out, it)
				}
				return a.printJSON(out)
			}
			for _, i := range infos {
				fmt.Fprintln(a.stdout, i.Name)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "JSON output with counts and pins")
	cmd.Flags().StringVar(&at, "at", "", "list as at `REV`")
	return cmd
}

func (a *app) newEnvRmCmd() *cobra.Command {
	var force, stage bool
	cmd := &cobra.Command{
		Use:   "rm NAME",
		Short: "Remove an environment (refused while it is published, unless --force)",
		Long: `rm removes environment NAME and all its files in one commit. Its history stays
in git. A published environment (one that refs/gitseal/pins/NAME pins) is
refused unless --force, since a running service may load it; the store's
default environment cannot be removed.`,
		Example: "  gitseal env rm staging\n  gitseal env rm old-prod --force",
		Args:    exactArgs(1, "one environment NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkEnvArg("rm", args[0]); err != nil {
				return err
			}
			s, err := a.openStore()
			if err != nil {
				return err
			}
			res, err := s.EnvRemove(cmd.Context(), args[0], force, versioning.WriteOptions{Stage: stage})
			if errors.Is(err, versioning.ErrPublished) {
				return withHint(err, fmt.Sprintf("`gitseal unpublish %s` removes the pin; `gitseal env rm %s --force` removes it anyway", args[0], args[0]))
			}
			if err != nil {
				return err
			}
			a.reportWrite(res)
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "remove even if published")
	cmd.Flags().BoolVar(&stage, "stage", false, "write and stage instead of committing")
	return cmd
}
