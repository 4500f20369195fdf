package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/gitseal/gitseal/cipher"
	"github.com/gitseal/gitseal/versioning"
)

func (a *app) newRecipientCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "recipient",
		Short: "Who can read an environment: add, list, remove",
		Long: `Recipients are the public keys an environment's data key is wrapped for:
age keys, and ssh-ed25519 or ssh-rsa public keys. Adding one wraps the same
data key once more, so the new recipient can also read the environment's
history back to its last re-key. Removing one re-keys the environment (a new
data key, every secret sealed again), so they cannot read anything committed
afterwards, and prints what they could read before: the credentials to change.`,
		Example: `  gitseal recipient add age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p --name ci
  gitseal recipient add ~/.ssh/id_ed25519.pub
  gitseal recipient ls
  gitseal recipient rm ci`,
		Args: noArgs,
	}
	cmd.AddCommand(a.newRecipientAddCmd(), a.newRecipientLsCmd(), a.newRecipientRmCmd())
	return cmd
}

// parseKeysArg reads KEY|FILE: a public key, or a file of them.
func parseKeysArg(arg string) ([]cipher.Recipient, error) {
	if r, err := cipher.ParseRecipient(arg); err == nil {
		return []cipher.Recipient{r}, nil
	}
	data, err := os.ReadFile(arg)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, usagef("%q is neither a public key (age1…, ssh-ed25519 …, ssh-rsa …) nor a file", shortArg(arg))
		}
		return nil, err
	}
	rs, err := cipher.ParseRecipients(data)
	if err != nil {
		return nil, fmt.Errorf("reading keys from %s: %w", arg, err)
	}
	if len(rs) == 0 {
		return nil, fmt.Errorf("%s holds no public key", arg)
	}
	return rs, nil
}

// parseKeysFileSkipping is parseKeysArg for `recipient add
// --skip-unsupported`: a file's keys of types age cannot encrypt to are
// left out, each with a warning.
func (a *app) parseKeysFileSkipping(arg string) ([]cipher.Recipient, error) {
	data, err := os.ReadFile(arg)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, usagef("--skip-unsupported reads a FILE of keys, and %q is not a file", shortArg(arg))
		}
		return nil, err
	}
	rs, skipped, err := cipher.ParseRecipientsSkipping(data)
	if err != nil {
		return nil, fmt.Errorf("reading keys from %s: %w", arg, err)
	}
	for _, sk := range skipped {
		a.warnf("%s: skipped %s", arg, sk)
	}
	if len(rs) == 0 {
		return nil, fmt.Errorf("%s holds no public key age can encrypt to", arg)
	}
	return rs, nil
}

func shortArg(s string) string {
	if len(s) > 48 {
		return s[:45] + "..."
	}
	return s
}

func (a *app) newRecipientAddCmd() *cobra.Command {
	var name string
	var passphrase, stage, skipUnsupported bool
	cmd := &cobra.Command{
		Use:   "add KEY|FILE",
		Short: "Let a public key (or each key of a file) read the environment",
		Example: `  gitseal recipient add age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p --name alice
  gitseal recipient add ~/.ssh/id_ed25519.pub
  curl -s https://github.com/alice.keys > alice.keys && gitseal recipient add --skip-unsupported alice.keys
  GITSEAL_PASSPHRASE=… gitseal recipient add --passphrase`,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.openStore()
			if err != nil {
				return err
			}
			w := versioning.WriteOptions{Stage: stage}
			if passphrase {
				if len(args) != 0 || name != "" {
					return usagef("recipient add --passphrase takes no KEY and no --name")
				}
				pass, err := a.newPassphrase()
				if err != nil {
					return err
				}
				res, err := s.RecipientAddPassphrase(cmd.Context(), a.envName(), pass, w)
				if err != nil {
					return err
				}
				a.reportWrite(res)
				return nil
			}
			if len(args) != 1 {
				return usagef("recipient add takes one KEY or FILE (got %d arguments); see `gitseal recipient add --help`", len(args))
			}
			var rs []cipher.Recipient
			if skipUnsupported {
				rs, err = a.parseKeysFileSkipping(args[0])
			} else {
				rs, err = parseKeysArg(args[0])
			}
			if err != nil {
				if errors.Is(err, cipher.ErrUnsupportedKey) && !skipUnsupported {
					err = withHint(err, "to add the file's other keys and leave such lines out, add --skip-unsupported")
				}
				return err
			}
			if name != "" {
				if len(rs) != 1 {
					return usagef("--name labels one key, and %s holds %d", args[0], len(rs))
				}
				rs[0].Name = name
			}
			res, added, err := s.RecipientAdd(cmd.Context(), a.envName(), rs, w)
			if err != nil {
				return err
			}
			if len(added) == 0 {
				a.infof("gitseal: already a recipient; no commit made")
				return nil
			}
			a.reportWrite(res)
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "a label for the key (`NAME`), shown by `recipient ls`")
	cmd.Flags().BoolVar(&passphrase, "passphrase", false, "wrap the data key with a passphrase (from GITSEAL_PASSPHRASE, or asked on a terminal)")
	cmd.Flags().BoolVar(&stage, "stage", false, "write and stage instead of committing")
	cmd.Flags().BoolVar(&skipUnsupported, "skip-unsupported", false, "from a FILE of keys (such as GitHub's USER.keys), leave out the keys age cannot encrypt to (ECDSA, DSA, sk-) with a warning")
	return cmd
}

// newPassphrase is the passphrase for a new passphrase recipient.
func (a *app) newPassphrase() (string, error) {
	if p := a.getenv("GITSEAL_PASSPHRASE"); p != "" {
		return p, nil
	}
	if !a.stdinIsTerminal() {
		return "", withHint(errors.New("recipient add --passphrase: no passphrase"), "set GITSEAL_PASSPHRASE, or run it on a terminal to be asked")
	}
	fmt.Fprint(a.stderr, "New passphrase (input hidden): ")
	p1, err := a.readPassword()
	fmt.Fprintln(a.stderr)
	if err != nil {
		return "", err
	}
	fmt.Fprint(a.stderr, "Repeat it: ")
	p2, err := a.readPassword()
	fmt.Fprintln(a.stderr)
	if err != nil {
		return "", err
	}
	if !bytes.Equal(p1, p2) || len(p1) == 0 {
		return "", errors.New("recipient add --passphrase: the passphrases differ or are empty")
	}
	return string(p1), nil
}

func (a *app) newRecipientLsCmd() *cobra.Command {
	var asJSON bool
	var at string
	cmd := &cobra.Command{
		Use:     "ls",
		Short:   "List the environment's recipients with fingerprints",
		Example: "  gitseal recipient ls\n  gitseal --env production recipient ls --json",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := a.snapshotEnv(at)
			if err != nil {
				return err
			}
			rs, err := e.Recipients()
			if err != nil {
				return err
			}
			if asJSON {
				type item struct {
					Fingerprint string `json:"fingerprint"`
					Type        string `json:"type"`
					Name        string `json:"name"`
					Key         string `json:"key,omitempty"`
				}
				out := make([]item, 0, len(rs)+1)
				for _, r := range rs {
					out = append(out, item{r.Fingerprint(), r.Type(), r.Name, r.Key})
				}
				if e.HasPassphrase() {
					out = append(out, item{Fingerprint: "passphrase", Type: "scrypt"})
				}
				return a.printJSON(out)
			}
			for _, r := range rs {
				n := r.Name
				if n == "" {
					n = "-"
				}
				fmt.Fprintf(a.stdout, "%-51s  %-11s  %s\n", r.Fingerprint(), r.Type(), n)
			}
			if e.HasPassphrase() {
				fmt.Fprintf(a.stdout, "%-51s  %-11s  %s\n", "passphrase", "scrypt", "-")
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "JSON output, with the keys")
	cmd.Flags().StringVar(&at, "at", "", "list as at `REV`")
	return cmd
}

func (a *app) newRecipientRmCmd() *cobra.Command {
	var passphrase, asJSON, stage bool
	cmd := &cobra.Command{
		Use:   "rm KEY|FILE|FINGERPRINT|NAME",
		Short: "Remove a recipient, re-key, and list what they could read",
		Long: `rm removes one recipient and re-keys the environment in the same commit: a
new data key, every secret and named key sealed again under it. The removed
key cannot read anything committed afterwards.

What it could read before stays in git history, and they may have kept it:
rm prints every secret and key they could read, the commits over which they
could, and whether its value is still the same now ("unchanged": change that
credential at its source, then ` + "`gitseal set`" + ` it).`,
		Example: `  gitseal recipient rm bob
  gitseal recipient rm SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU
  gitseal recipient rm --passphrase`,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.openStore()
			if err != nil {
				return err
			}
			opts := versioning.RekeyOptions{Progress: a.progress("re-sealing"), WriteOptions: versioning.WriteOptions{Stage: stage}}
			var res versioning.Result
			var rep *versioning.RevocationReport
			switch {
			case passphrase && len(args) == 0:
				res, rep, err = s.RecipientRemovePassphrase(cmd.Context(), a.envName(), opts)
			case !passphrase && len(args) == 1:
				query := args[0]
				if _, perr := cipher.ParseRecipient(query); perr != nil {
					if _, serr := os.Stat(query); serr == nil {
						rs, err := parseKeysArg(query)
						if err != nil {
							return err
						}
						if len(rs) != 1 {
							return usagef("%s holds %d keys; remove them one at a time", query, len(rs))
						}
						query = rs[0].Key
					}
				}
				res, rep, err = s.RecipientRemove(cmd.Context(), a.envName(), query, opts)
			default:
				return usagef("recipient rm takes one KEY, FILE, FINGERPRINT or NAME, or --passphrase alone")
			}
			if err != nil {
				return err
			}
			a.reportWrite(res)
			return a.printRevocation(rep, asJSON)
		},
	}
	cmd.Flags().BoolVar(&passphrase, "passphrase", false, "remove the passphrase recipient")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	cmd.Flags().BoolVar(&stage, "stage", false, "write and stage instead of committing")
	return cmd
}

func (a *app) printRevocation(rep *versioning.RevocationReport, asJSON bool) error {
	who := "the passphrase"
	if !rep.Passphrase {
		who = rep.Recipient.Fingerprint()
		if rep.Recipient.Name != "" {
			who = rep.Recipient.Name + " (" + who + ")"
		}
	}
	if asJSON {
		type item struct {
			Kind     string `json:"kind"`
			Name     string `json:"name"`
			First    string `json:"first_commit"`
			Last     string `json:"last_commit"`
			Versions int    `json:"versions"`
			Status   string `json:"status"`
		}
		out := struct {
			Env        string `json:"env"`
			Removed    string `json:"removed"`
			Commit     string `json:"commit,omitempty"`
			Exposed    []item `json:"exposed"`
			Unverified int    `json:"unverified_states,omitempty"`
		}{Env: rep.Env, Removed: who, Exposed: []item{}, Unverified: rep.Unverified}
		if !rep.Commit.IsZero() {
			out.Commit = rep.Commit.String()
		}
		for _, x := range rep.Exposed {
			out.Exposed = append(out.Exposed, item{x.Kind, x.Name, x.First.String(), x.Last.String(), x.Versions, x.Status})
		}
		return a.printJSON(out)
	}
	a.infof("%s can no longer read anything committed to %s from now on.", who, rep.Env)
	if len(rep.Exposed) == 0 {
		a.infof("It could not read any secret or key before.")
		return nil
	}
	a.infof("It could read these before, and may have kept them; change every \"unchanged\" one at its source, then `gitseal set` it:")
	for _, x := range rep.Exposed {
		fmt.Fprintf(a.stdout, "%-9s  %-6s  %-30s  %s..%s  %d version(s)\n", x.Status, x.Kind, x.Name,
			x.First.String()[:7], x.Last.String()[:7], x.Versions)
	}
	if rep.Unverified > 0 {
		a.warnf("%d older states could not be checked with your key; they were judged by the recipients file alone", rep.Unverified)
	}
	return nil
}

// progress returns a progress callback that redraws one line on stderr, or
// nil when stderr is not a terminal.
func (a *app) progress(what string) func(done, total int) {
	if !a.stderrIsTerminal() {
		return nil
	}
	return func(done, total int) {
		if done%50 == 0 || done == total {
			fmt.Fprintf(a.stderr, "\r%s %d/%d", what, done, total)
			if done == total {
				fmt.Fprintln(a.stderr)
			}
		}
	}
}

func (a *app) newRotateCmd() *cobra.Command {
	var stage bool
	cmd := &cobra.Command{
		Use:   "rotate",
		Short: "Re-key the environment: new data key, every secret sealed again",
		Long: `rotate gives the environment a new data key and seals every secret and named
key again under it, in one commit, without changing who can read it or any
value. Older commits stay readable with the keys that could read them then.`,
		Example: "  gitseal rotate\n  gitseal --env production rotate",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.openStore()
			if err != nil {
				return err
			}
			res, err := s.Rotate(cmd.Context(), a.envName(), versioning.RekeyOptions{Progress: a.progress("re-sealing"), WriteOptions: versioning.WriteOptions{Stage: stage}})
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
