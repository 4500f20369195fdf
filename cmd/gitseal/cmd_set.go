package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/gitseal/gitseal/cipher"
	"github.com/gitseal/gitseal/versioning"
)

type setOptions struct {
	file  string
	value string
	stage bool
}

func (a *app) newSetCmd() *cobra.Command {
	var o setOptions
	cmd := &cobra.Command{
		Use:   "set NAME",
		Short: "Set a secret (value from stdin, a hidden prompt, or --file)",
		Long: `set encrypts a value under NAME and commits it. The value comes from stdin
(one trailing newline is dropped), from a hidden prompt when stdin is a terminal,
or from --file (bytes exactly). Setting the value a secret already has makes no commit.`,
		Example: `  printf '%s' "$DB_PASSWORD" | gitseal set DB_PASSWORD
  gitseal set TLS_KEY --file server.key
  gitseal --env production set API_TOKEN`,
		Args: exactArgs(1, "one secret NAME"),
		RunE: func(cmd *cobra.Command, args []string) error { return a.runSet(cmd, args[0], o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.file, "file", "", "read the value from `FILE`, bytes exactly")
	f.StringVar(&o.value, "value", "", "the value itself (visible to other users in the process list; prefer stdin)")
	f.BoolVar(&o.stage, "stage", false, "write and stage the secret instead of committing it")
	return cmd
}

func (a *app) runSet(cmd *cobra.Command, name string, o setOptions) error {
	if err := cipher.ValidName(name); err != nil {
		return usagef("set: secret name: %v", err)
	}
	value, err := a.readValue(cmd, name, o)
	if err != nil {
		return err
	}
	s, err := a.openStore()
	if err != nil {
		return err
	}
	res, err := s.Set(cmd.Context(), a.envName(), name, value, versioning.WriteOptions{Stage: o.stage})
	if err != nil {
		return err
	}
	a.reportWrite(res)
	return nil
}

// readValue reads a secret's value from --value, --file, a hidden prompt or stdin.
func (a *app) readValue(cmd *cobra.Command, name string, o setOptions) ([]byte, error) {
	valueSet := cmd.Flags().Changed("value")
	if valueSet && o.file != "" {
		return nil, usagef("set: --value and --file cannot be used together")
	}
	limit := int64(cipher.MaxValueSize)
	switch {
	case valueSet:
		a.warnf("--value puts the secret in the process list, visible to other users; prefer stdin or --file")
		return []byte(o.value), nil
	case o.file != "":
		f, err := os.Open(o.file)
		if err != nil {
			return nil, fmt.Errorf("set: %w", err)
		}
		defer f.Close()
		return readLimited(f, limit, name)
	case a.stdinIsTerminal():
		fmt.Fprintf(a.stderr, "Value for %s (input hidden): ", name)
		v, err := a.readPassword()
		fmt.Fprintln(a.stderr)
		if err != nil {
			return nil, fmt.Errorf("set: reading the value: %w", err)
		}
		return v, nil
	default:
		v, err := readLimited(a.stdin, limit+2, name)
		if err != nil {
			return nil, err
		}
		return cipher.TrimOneNewline(v), nil
	}
}

// readLimited reads at most limit bytes, and fails if there are more.
func readLimited(r io.Reader, limit int64, name string) ([]byte, error) {
	v, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading the value of %s: %w", name, err)
	}
	if int64(len(v)) > limit {
		return nil, fmt.Errorf("the value of %s is larger than the limit of %d bytes (1 MiB): %w", name, cipher.MaxValueSize, cipher.ErrTooLarge)
	}
	return v, nil
}

type generateOptions struct {
	bytes    int
	encoding string
	stage    bool
}

func (a *app) newGenerateCmd() *cobra.Command {
	var o generateOptions
	cmd := &cobra.Command{
		Use:   "generate NAME",
		Short: "Set a secret to a strong random value",
		Long: `generate sets NAME to a new random value (16 random bytes, base64, unless told
otherwise) and commits it. The value is not printed; read it with ` + "`gitseal get NAME`.",
		Example: `  gitseal generate SESSION_KEY
  gitseal generate API_TOKEN --bytes 32 --encoding hex`,
		Args: exactArgs(1, "one secret NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cipher.ValidName(args[0]); err != nil {
				return usagef("generate: secret name: %v", err)
			}
			s, err := a.openStore()
			if err != nil {
				return err
			}
			res, err := s.Generate(cmd.Context(), a.envName(), args[0], versioning.GenerateOptions{
				Bytes: o.bytes, Encoding: o.encoding, WriteOptions: versioning.WriteOptions{Stage: o.stage},
			})
			if err != nil {
				return err
			}
			a.reportWrite(res)
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.bytes, "bytes", 16, "bytes of randomness (8 to 4096)")
	f.StringVar(&o.encoding, "encoding", "base64", "base64, hex or alnum")
	f.BoolVar(&o.stage, "stage", false, "write and stage the secret instead of committing it")
	return cmd
}

type rmOptions struct{ stage bool }

func (a *app) newRmCmd() *cobra.Command {
	var o rmOptions
	cmd := &cobra.Command{
		Use:     "rm NAME",
		Short:   "Remove a secret (its history stays in git)",
		Example: `  gitseal rm OLD_API_TOKEN`,
		Args:    exactArgs(1, "one secret NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cipher.ValidName(args[0]); err != nil {
				return usagef("rm: secret name: %v", err)
			}
			s, err := a.openStore()
			if err != nil {
				return err
			}
			res, err := s.Remove(cmd.Context(), a.envName(), args[0], versioning.WriteOptions{Stage: o.stage})
			if err != nil {
				return err
			}
			a.reportWrite(res)
			return nil
		},
	}
	cmd.Flags().BoolVar(&o.stage, "stage", false, "remove and stage instead of committing")
	return cmd
}
