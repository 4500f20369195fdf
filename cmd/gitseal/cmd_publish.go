package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/gitseal/gitseal/cipher"
	"github.com/gitseal/gitseal/publish"
	"github.com/gitseal/gitseal/repo"
)

type publishOptions struct {
	pinFile    string
	sign       bool
	signingKey string
}

func (a *app) newPublishCmd() *cobra.Command {
	var o publishOptions
	cmd := &cobra.Command{
		Use:   "publish ENV [REV]",
		Short: "Pin an environment at a commit for the runtime",
		Long: `publish pins ENV at REV (default HEAD): the ref refs/gitseal/pins/ENV. From
then on, runtime reads (run, export, the Go loader) see ENV's secrets as they
were at that commit, whatever the branch says, until the next publish. Every
publish is recorded (who, when, which commit, the previous pin) as a commit on
refs/gitseal/publish/ENV; ` + "`gitseal pins --history ENV`" + ` lists them, and
` + "`gitseal push`" + ` carries them to a remote. It prints the pinned commit id.

--sign signs the publish record with an SSH key (--signing-key FILE, else
$GITSEAL_SIGNING_KEY (the key text), $GITSEAL_SIGNING_KEY_FILE, ~/.ssh/id_ed25519,
~/.ssh/id_rsa). A runtime given trusted publisher keys ($GITSEAL_TRUST) reads
only pins that one of those keys signed, so pushing to the repository is not
enough to move production.`,
		Example: `  gitseal publish production
  gitseal publish production v1.4.0 --pin-file build/gitseal.pin
  gitseal publish staging HEAD~2
  gitseal publish production --sign --signing-key ~/.ssh/release_ed25519`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return usagef("publish takes ENV and an optional REV (got %d arguments); see `gitseal publish --help`", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			rev := ""
			if len(args) == 2 {
				rev = args[1]
			}
			return a.runPublish(cmd, args[0], rev, o)
		},
	}
	cmd.Flags().StringVar(&o.pinFile, "pin-file", "", "also write a pin file to `FILE` (for a build; read with GITSEAL_PIN_FILE)")
	cmd.Flags().BoolVar(&o.sign, "sign", false, "sign the publish record with an SSH key")
	cmd.Flags().StringVar(&o.signingKey, "signing-key", "", "sign with the SSH private key in `FILE` (implies --sign)")
	return cmd
}

// signer loads the key publish --sign signs with, asking for a protected
// key's passphrase only on a terminal.
func (a *app) signer(file string) (*cipher.Signer, error) {
	src := cipher.SignerSource{File: file, Getenv: a.getenv, HomeDir: a.homeDir()}
	if a.stdinIsTerminal() {
		src.Passphrase = func(path string) ([]byte, error) {
			fmt.Fprintf(a.stderr, "Passphrase for %s (input hidden): ", path)
			p, err := a.readPassword()
			fmt.Fprintln(a.stderr)
			return p, err
		}
	}
	s, err := cipher.LoadSigner(src)
	if errors.Is(err, cipher.ErrNoSigningKey) {
		return nil, withHint(err, "make one with `ssh-keygen -t ed25519`, or name yours with --signing-key FILE")
	}
	return s, err
}

func (a *app) runPublish(cmd *cobra.Command, env, rev string, o publishOptions) error {
	s, err := a.openStore()
	if err != nil {
		return err
	}
	var signer *cipher.Signer
	if o.sign || o.signingKey != "" {
		if signer, err = a.signer(o.signingKey); err != nil {
			return err
		}
	}
	res, err := publish.PublishSigned(cmd.Context(), s.Repo(), env, rev, signer)
	if err != nil {
		return err
	}
	if o.pinFile != "" {
		if err := publish.WritePinFile(o.pinFile, publish.PinFile{Env: env, Commit: res.Commit, StoreID: res.StoreID}); err != nil {
			return fmt.Errorf("publish: %w (the pin ref was moved)", err)
		}
	}
	was := "not published before"
	if !res.Previous.IsZero() {
		was = "was " + short(res.Previous)
	}
	a.infof("published %s at %s (%s)", env, short(res.Commit), was)
	if signer != nil {
		a.infof("signed by %s (%s)", signer.Fingerprint(), signer.Source())
	}
	fmt.Fprintln(a.stdout, res.Commit)
	return nil
}

func (a *app) newUnpublishCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "unpublish ENV",
		Short: "Remove an environment's pin (the runtime reads HEAD again)",
		Long: `unpublish deletes refs/gitseal/pins/ENV and records it in ENV's publish
history. Runtime reads fall back to HEAD (unless a pin file or GITSEAL_REF says
otherwise).`,
		Example: `  gitseal unpublish staging`,
		Args:    exactArgs(1, "one ENV"),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.openStore()
			if err != nil {
				return err
			}
			rec, err := publish.Unpublish(cmd.Context(), s.Repo(), args[0])
			if err != nil {
				return err
			}
			a.infof("unpublished %s (was %s)", rec.Env, short(rec.Previous))
			return nil
		},
	}
}

type pinsOptions struct {
	json    bool
	history string
}

func (a *app) newPinsCmd() *cobra.Command {
	var o pinsOptions
	cmd := &cobra.Command{
		Use:   "pins",
		Short: "List published environments, or one environment's publish history",
		Long: `pins prints one line per published environment: ENV, the pinned commit, when
and by whom it was published. --history ENV prints every publish and unpublish
of ENV, newest first: SEQ ACTION COMMIT PREVIOUS TIME PUBLISHER ("-" for none).`,
		Example: `  gitseal pins
  gitseal pins --json
  gitseal pins --history production`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return a.runPins(o) },
	}
	cmd.Flags().BoolVar(&o.json, "json", false, "JSON output")
	cmd.Flags().StringVar(&o.history, "history", "", "list every publish of `ENV`")
	return cmd
}

type recordJSON struct {
	Env          string    `json:"env"`
	Action       string    `json:"action"`
	Commit       string    `json:"commit"`
	Previous     string    `json:"previous"`
	Publisher    string    `json:"publisher"`
	Time         time.Time `json:"time"`
	Seq          int       `json:"seq"`
	RecordCommit string    `json:"record_commit"`
	// SignedBy is the fingerprint of the key in the record's signature, not
	// verified here (the runtime verifies against GITSEAL_TRUST).
	SignedBy string `json:"signed_by,omitempty"`
}

func toJSON(r publish.Record) recordJSON {
	j := recordJSON{Env: r.Env, Action: r.Action, Commit: hexOrEmpty(r.Commit), Previous: hexOrEmpty(r.Previous),
		Publisher: r.Publisher, Time: r.Time, Seq: r.Seq, RecordCommit: hexOrEmpty(r.RecordCommit)}
	if r.Signature != nil {
		j.SignedBy, _ = cipher.SignatureKey(r.Signature)
		if j.SignedBy == "" {
			j.SignedBy = "unreadable"
		}
	}
	return j
}

func (a *app) runPins(o pinsOptions) error {
	s, err := a.openStore()
	if err != nil {
		return err
	}
	r := s.Repo()
	if o.history != "" {
		recs, err := publish.History(r, o.history)
		if err != nil {
			return err
		}
		if o.json {
			out := make([]recordJSON, 0, len(recs))
			for _, rec := range recs {
				out = append(out, toJSON(rec))
			}
			return a.printJSON(out)
		}
		for _, rec := range recs {
			fmt.Fprintf(a.stdout, "%d %s %s %s %s %s\n", rec.Seq, rec.Action, dash(rec.Commit), dash(rec.Previous),
				rec.Time.UTC().Format(time.RFC3339), rec.Publisher)
		}
		return nil
	}
	pins, err := publish.Pins(r)
	if err != nil {
		return err
	}
	if o.json {
		type pinJSON struct {
			Env       string     `json:"env"`
			Commit    string     `json:"commit"`
			Publisher string     `json:"publisher,omitempty"`
			Time      *time.Time `json:"time,omitempty"`
			Seq       int        `json:"seq,omitempty"`
		}
		out := make([]pinJSON, 0, len(pins))
		for _, p := range pins {
			j := pinJSON{Env: p.Env, Commit: p.Commit.String()}
			if p.Last != nil {
				j.Publisher, j.Time, j.Seq = p.Last.Publisher, &p.Last.Time, p.Last.Seq
			}
			out = append(out, j)
		}
		return a.printJSON(out)
	}
	for _, p := range pins {
		when, who := "-", "-"
		if p.Last != nil {
			when, who = p.Last.Time.UTC().Format(time.RFC3339), p.Last.Publisher
		}
		fmt.Fprintf(a.stdout, "%s %s %s %s\n", p.Env, p.Commit, when, who)
	}
	return nil
}

func short(h repo.Hash) string {
	if h.IsZero() {
		return "nothing"
	}
	return h.String()[:7]
}

func dash(h repo.Hash) string {
	if h.IsZero() {
		return "-"
	}
	return h.String()
}

func hexOrEmpty(h repo.Hash) string {
	if h.IsZero() {
		return ""
	}
	return h.String()
}
