package publish

// Signed publishes (FORMAT.md §6). A publish record can be signed with an
// SSH key; a runtime given trusted publisher keys (Options.TrustedPublishers,
// GITSEAL_TRUST) reads a commit only if a trusted key signed a publish record
// of that commit for that environment and store. Pushing to the repository
// is then not enough to move production: the attacker would also need a
// trusted publisher's private key.
//
// What it does not stop: someone who can push may move the pin and history
// back to an older record that a trusted publisher did sign (a rollback to a
// version once published). The runtime keeps no state to notice that.

import (
	"bytes"
	"fmt"
	"os"
	"strings"

	"github.com/gitseal/gitseal/cipher"
	"github.com/gitseal/gitseal/repo"
)

const (
	// signatureFile sits next to recordFile in a signed publish commit.
	signatureFile = "signature"
	// signNamespace is the SSHSIG namespace of publish signatures.
	signNamespace = "gitseal-publish"
	// signedTag starts the signed message.
	signedTag = "gitseal-signed-publish v1"
	// envVarTrust holds trusted publisher keys, or files of them.
	envVarTrust = "GITSEAL_TRUST"
	// bundleRecord and bundleSignature carry the publish record in a bundle.
	bundleRecord    = "publish/record"
	bundleSignature = "publish/signature"
)

// signedMessage is what a publish signature covers: the record bound to the
// store it publishes, so a record signed for one repository cannot be
// replayed in another that has an environment of the same name.
func signedMessage(storeID string, record []byte) []byte {
	var b bytes.Buffer
	b.WriteString(signedTag + "\n")
	b.WriteString("store " + storeID + "\n")
	b.Write(record)
	return b.Bytes()
}

// trustedKeys loads the trusted publisher keys: Options.TrustedPublishers,
// else GITSEAL_TRUST (one key or file per line). nil means no trust was
// asked for: every publish is read, signed or not.
func trustedKeys(o Options) (*cipher.TrustedKeys, error) {
	entries := o.TrustedPublishers
	if len(entries) == 0 {
		getenv := o.Getenv
		if getenv == nil {
			getenv = os.Getenv
		}
		if v := strings.TrimSpace(getenv(envVarTrust)); v != "" {
			entries = []string{v}
		}
	}
	if len(entries) == 0 {
		return nil, nil
	}
	home := ""
	if o.Getenv != nil {
		home = o.Getenv("HOME")
	}
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	keys, err := cipher.LoadTrustedKeys(entries, home)
	if err != nil {
		return nil, err
	}
	if keys.Len() == 0 {
		return nil, fmt.Errorf("trusted publishers were set (GITSEAL_TRUST or Options.TrustedPublishers) but hold no key")
	}
	return keys, nil
}

// checkRecord checks that rec publishes commit c of env, and that a trusted
// key signed it for storeID.
func checkRecord(rec Record, env, storeID string, c repo.Hash, keys *cipher.TrustedKeys) error {
	switch {
	case rec.Env != env:
		return fmt.Errorf("its publish record is for environment %s: %w", rec.Env, cipher.ErrUntrusted)
	case rec.Action != ActionPublish || rec.Commit != c:
		return fmt.Errorf("the newest publish record of %s (seq %d) pins %s, not this commit: %w", env, rec.Seq, describe(rec.Commit), cipher.ErrUntrusted)
	case rec.Signature == nil:
		return fmt.Errorf("its publish record (seq %d, by %s) is not signed: %w", rec.Seq, rec.Publisher, cipher.ErrUntrusted)
	}
	if _, err := keys.Verify(signNamespace, signedMessage(storeID, rec.Marshal()), rec.Signature); err != nil {
		return fmt.Errorf("its publish record (seq %d): %w", rec.Seq, err)
	}
	return nil
}

// verifyTrust refuses commit c of env unless a trusted key signed a
// publish record of it. For the pin, that record must be the newest of
// env's history (the one the pin follows); for a commit chosen otherwise
// (a pin file, an explicit ref), any signed publish record of that commit
// in the history will do, the newest first, when walk is set (a remote's
// history is fetched one record deep: there only the newest counts).
func verifyTrust(rd objectReader, tip repo.Hash, env, storeID string, c repo.Hash, from string, keys *cipher.TrustedKeys, walk bool) error {
	refuse := func(err error) error {
		return fmt.Errorf("refusing %s at %s (from %s): %w", env, c.String()[:7], from, err)
	}
	if tip.IsZero() {
		return refuse(fmt.Errorf("trusted publishers are set, and %s has no publish history here (publish it with `gitseal publish --sign %s`): %w", env, env, cipher.ErrUntrusted))
	}
	var found error
	for h := tip; !h.IsZero(); {
		rec, err := readRecord(rd, h)
		if err != nil {
			return refuse(fmt.Errorf("%v: %w", err, cipher.ErrUntrusted))
		}
		if rec.Env == env && rec.Action == ActionPublish && rec.Commit == c {
			err := checkRecord(rec, env, storeID, c, keys)
			if err == nil {
				return nil
			}
			if found == nil {
				found = err
			}
		} else if from == FromPin {
			// The pin does not follow its history: moved by hand.
			return refuse(checkRecord(rec, env, storeID, c, keys))
		}
		if from == FromPin || !walk {
			break
		}
		commit, err := rd.ReadCommit(h)
		if err != nil || len(commit.Parents) == 0 {
			break
		}
		h = commit.Parents[0]
	}
	if found != nil {
		return refuse(found)
	}
	return refuse(fmt.Errorf("no publish record of %s pins this commit: %w", env, cipher.ErrUntrusted))
}
