package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/gitseal/gitseal/cipher"
	"github.com/gitseal/gitseal/versioning"
)

func (a *app) newKeyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "key",
		Short: "Named encryption keys for your app's own data",
		Long: `Named encryption keys let an application encrypt its own data (a column, a
file) without handling raw keys. Payloads use the hosted platform's format:
standard base64 of IV(12) || AES-GCM ciphertext || tag(16). 128-bit keys (the
default) are wire compatible with it; 256-bit keys are gitseal's extension.`,
		Example: `  gitseal key create app_key
  printf 'card 4242' | gitseal encrypt --key app_key
  gitseal key reset app_key`,
		Args: noArgs,
	}
	cmd.AddCommand(a.newKeyCreateCmd(), a.newKeyResetCmd(), a.newKeyRmCmd(), a.newKeyLsCmd(),
		a.newKeyExportCmd(), a.newKeyImportCmd())
	return cmd
}

func checkKeyName(verb, name string) error {
	if err := cipher.ValidName(name); err != nil {
		return usagef("key %s: key name: %v", verb, err)
	}
	return nil
}

func (a *app) newKeyCreateCmd() *cobra.Command {
	var bits int
	var stage bool
	cmd := &cobra.Command{
		Use:     "create NAME",
		Short:   "Create a named key (AES-128 unless --bits 256)",
		Example: `  gitseal key create app_key` + "\n" + `  gitseal key create archive_key --bits 256`,
		Args:    exactArgs(1, "one key NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkKeyName("create", args[0]); err != nil {
				return err
			}
			if bits != 128 && bits != 256 {
				return usagef("key create: --bits must be 128 or 256")
			}
			s, err := a.openStore()
			if err != nil {
				return err
			}
			res, err := s.KeyCreate(cmd.Context(), a.envName(), args[0], bits, versioning.WriteOptions{Stage: stage})
			if err != nil {
				return err
			}
			a.reportWrite(res)
			return nil
		},
	}
	cmd.Flags().IntVar(&bits, "bits", 128, "key size: 128 (hosted-platform compatible) or 256")
	cmd.Flags().BoolVar(&stage, "stage", false, "write and stage instead of committing")
	return cmd
}

func (a *app) newKeyResetCmd() *cobra.Command {
	var bits int
	var purge, stage bool
	cmd := &cobra.Command{
		Use:   "reset NAME",
		Short: "Add a new primary version; older versions still decrypt unless --purge-old",
		Example: `  gitseal key reset app_key
  gitseal key reset app_key --purge-old   # data encrypted before is lost`,
		Args: exactArgs(1, "one key NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkKeyName("reset", args[0]); err != nil {
				return err
			}
			if bits != 128 && bits != 256 {
				return usagef("key reset: --bits must be 128 or 256")
			}
			s, err := a.openStore()
			if err != nil {
				return err
			}
			res, err := s.KeyReset(cmd.Context(), a.envName(), args[0], bits, purge, versioning.WriteOptions{Stage: stage})
			if err != nil {
				return err
			}
			a.reportWrite(res.Result)
			if res.Purged > 0 {
				a.warnf("purged %d older version(s) of %s: payloads encrypted with them can no longer be decrypted at this or later commits", res.Purged, args[0])
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&bits, "bits", 128, "size of the new version: 128 or 256")
	cmd.Flags().BoolVar(&purge, "purge-old", false, "remove every older version (their payloads become unreadable)")
	cmd.Flags().BoolVar(&stage, "stage", false, "write and stage instead of committing")
	return cmd
}

func (a *app) newKeyRmCmd() *cobra.Command {
	var stage bool
	cmd := &cobra.Command{
		Use:     "rm NAME",
		Short:   "Remove a named key",
		Example: `  gitseal key rm old_key`,
		Args:    exactArgs(1, "one key NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkKeyName("rm", args[0]); err != nil {
				return err
			}
			s, err := a.openStore()
			if err != nil {
				return err
			}
			res, err := s.KeyRemove(cmd.Context(), a.envName(), args[0], versioning.WriteOptions{Stage: stage})
			if err != nil {
				return err
			}
			a.reportWrite(res)
			return nil
		},
	}
	cmd.Flags().BoolVar(&stage, "stage", false, "remove and stage instead of committing")
	return cmd
}

func (a *app) newKeyLsCmd() *cobra.Command {
	var asJSON bool
	var at string
	cmd := &cobra.Command{
		Use:     "ls",
		Short:   "List named keys (with --json: their versions)",
		Example: `  gitseal key ls` + "\n" + `  gitseal key ls --json`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := a.snapshotEnv(at)
			if err != nil {
				return err
			}
			names, err := e.KeyNames()
			if err != nil {
				return err
			}
			if !asJSON {
				for _, n := range names {
					fmt.Fprintln(a.stdout, n)
				}
				return nil
			}
			type version struct {
				Version int       `json:"version"`
				Bits    int       `json:"bits"`
				Created time.Time `json:"created"`
				Primary bool      `json:"primary"`
			}
			type item struct {
				Name     string    `json:"name"`
				Versions []version `json:"versions"`
			}
			out := make([]item, 0, len(names))
			for _, n := range names {
				k, err := e.Keyring(n)
				if err != nil {
					return err
				}
				it := item{Name: n}
				for _, v := range k.Versions() {
					it.Versions = append(it.Versions, version{v.Version, v.Bits, v.Created, v.Primary})
				}
				out = append(out, it)
			}
			return a.printJSON(out)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "JSON output with every key's versions")
	cmd.Flags().StringVar(&at, "at", "", "list as at `REV`")
	return cmd
}

func (a *app) newKeyExportCmd() *cobra.Command {
	var at string
	cmd := &cobra.Command{
		Use:   "export NAME",
		Short: "Print the primary version of a key as standard base64",
		Long: `export prints the primary version of NAME as standard base64 followed by a
newline: for a 128-bit key, exactly what the hosted platform takes as a key.`,
		Example: `  gitseal key export app_key`,
		Args:    exactArgs(1, "one key NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkKeyName("export", args[0]); err != nil {
				return err
			}
			e, err := a.runtimeEnv(at)
			if err != nil {
				return err
			}
			k, err := e.Keyring(args[0])
			if err != nil {
				return err
			}
			if err := a.auditEnv(versioning.RevealKeyExport, "key export", e, nil, []string{args[0]}); err != nil {
				return err
			}
			_, err = fmt.Fprintln(a.stdout, k.Export())
			return err
		},
	}
	cmd.Flags().StringVar(&at, "at", "", "export as at `REV`")
	return cmd
}

func (a *app) newKeyImportCmd() *cobra.Command {
	var stage bool
	cmd := &cobra.Command{
		Use:   "import NAME",
		Short: "Import a base64 key from stdin (a new key, or a new primary version)",
		Long: `import reads a key as standard base64 of 16 or 32 bytes from stdin (one
trailing newline is dropped). If NAME exists, the key becomes its new primary
version and older versions keep decrypting.`,
		Example: `  printf '%s' "$HOSTED_KEY" | gitseal key import app_key`,
		Args:    exactArgs(1, "one key NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkKeyName("import", args[0]); err != nil {
				return err
			}
			raw, err := io.ReadAll(io.LimitReader(a.stdin, 4096))
			if err != nil {
				return err
			}
			key, err := cipher.ParseKey(string(cipher.TrimOneNewline(raw)))
			if err != nil {
				return usagef("key import: %v", err)
			}
			s, err := a.openStore()
			if err != nil {
				return err
			}
			res, err := s.KeyImport(cmd.Context(), a.envName(), args[0], key, versioning.WriteOptions{Stage: stage})
			if err != nil {
				return err
			}
			a.reportWrite(res)
			return nil
		},
	}
	cmd.Flags().BoolVar(&stage, "stage", false, "write and stage instead of committing")
	return cmd
}

type cryptOptions struct {
	key           string
	passphraseEnv string
	at            string
}

func (a *app) newEncryptCmd() *cobra.Command { return a.newCryptCmd(true) }
func (a *app) newDecryptCmd() *cobra.Command { return a.newCryptCmd(false) }

func (a *app) newCryptCmd(encrypt bool) *cobra.Command {
	var o cryptOptions
	cmd := &cobra.Command{
		Use:   "encrypt",
		Short: "Encrypt stdin to stdout with a named key or a passphrase (Flet token)",
		Long: `encrypt reads stdin (UTF-8 text, bytes exactly) and writes one line: a payload in
the hosted platform's format with --key NAME, or a Flet token with
--passphrase-env VAR (the passphrase is read from that variable, never argv).`,
		Example: `  printf 'card 4242' | gitseal encrypt --key app_key
  printf 'hello' | PASS=s3cret gitseal encrypt --passphrase-env PASS`,
	}
	if !encrypt {
		cmd.Use = "decrypt"
		cmd.Short = "Decrypt a payload (--key) or a Flet token (--passphrase-env) from stdin"
		cmd.Long = `decrypt reads one payload or token from stdin (one trailing newline is dropped;
anything else that is not canonical is refused) and writes the plaintext's exact
bytes. Any failure exits 4 with nothing on stdout. With --key, every version of
the key is tried, newest first.`
		cmd.Example = `  gitseal decrypt --key app_key < payload.txt
  PASS=s3cret gitseal decrypt --passphrase-env PASS < token.txt`
	}
	cmd.Args = noArgs
	cmd.RunE = func(cmd *cobra.Command, args []string) error { return a.runCrypt(encrypt, o) }
	cmd.Flags().StringVar(&o.key, "key", "", "the named key `NAME`")
	cmd.Flags().StringVar(&o.passphraseEnv, "passphrase-env", "", "read the passphrase from environment variable `VAR` (Flet token format)")
	cmd.Flags().StringVar(&o.at, "at", "", "use the key as at `REV`")
	return cmd
}

func (a *app) runCrypt(encrypt bool, o cryptOptions) error {
	verb := map[bool]string{true: "encrypt", false: "decrypt"}[encrypt]
	if (o.key == "") == (o.passphraseEnv == "") {
		return usagef("%s: give exactly one of --key NAME or --passphrase-env VAR", verb)
	}
	in, err := io.ReadAll(io.LimitReader(a.stdin, 64<<20+1))
	if err != nil {
		return err
	}
	if len(in) > 64<<20 {
		return fmt.Errorf("%s: input is larger than 64 MiB: %w", verb, cipher.ErrTooLarge)
	}
	var out []byte
	if o.passphraseEnv != "" {
		pass := a.getenv(o.passphraseEnv)
		if pass == "" {
			return usagef("%s: environment variable %s is empty or unset; put the passphrase there", verb, o.passphraseEnv)
		}
		if encrypt {
			var tok string
			tok, err = cipher.FletEncrypt(pass, in)
			out = []byte(tok + "\n")
		} else {
			out, err = cipher.FletDecrypt(pass, string(cipher.TrimOneNewline(in)))
		}
	} else {
		if err := checkKeyName(verb, o.key); err != nil {
			return err
		}
		e, err2 := a.runtimeEnv(o.at)
		if err2 != nil {
			return err2
		}
		if encrypt {
			var p string
			p, err = e.EncryptWithKey(o.key, in)
			out = []byte(p + "\n")
		} else {
			out, err = e.DecryptWithKey(o.key, string(cipher.TrimOneNewline(in)))
		}
	}
	if err != nil {
		return fmt.Errorf("%s: %w", verb, err)
	}
	_, err = a.stdout.Write(out)
	return err
}
