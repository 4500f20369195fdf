package publish

// Invariants kept here:
//   - refs/gitseal/pins/<env> points at the app commit <env> is published at,
//     or does not exist.
//   - refs/gitseal/publish/<env> is a first-parent chain of commits, each
//     holding one file, "record", whose Seq is its parent's plus one, and
//     whose Previous is the pin before it. The newest record's Commit is the
//     pin (zero after an unpublish).
//   - Both refs move under the repository's gitseal lock: the record first,
//     then the pin with compare-and-swap; if the pin cannot move, the record
//     is taken back, so history never claims a publish that did not happen.

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/gitseal/gitseal/cipher"
	"github.com/gitseal/gitseal/repo"
	"github.com/gitseal/gitseal/versioning"
)

const (
	// PinRefPrefix is where pins live: PinRefPrefix + env.
	PinRefPrefix = "refs/gitseal/pins/"
	// HistoryRefPrefix is where publish history lives: HistoryRefPrefix + env.
	HistoryRefPrefix = "refs/gitseal/publish/"
	// recordFile is the one file in each publish-history commit.
	recordFile = "record"
)

// PinRef is the full name of env's pin ref.
func PinRef(env string) string { return PinRefPrefix + env }

// HistoryRef is the full name of env's publish-history ref.
func HistoryRef(env string) string { return HistoryRefPrefix + env }

// validEnv checks an environment name, and that it can be a ref name
// component (git refuses "..", and names ending in ".lock").
func validEnv(env string) error {
	if err := cipher.ValidName(env); err != nil {
		return fmt.Errorf("environment name: %w: %w", err, versioning.ErrInvalid)
	}
	if strings.Contains(env, "..") || strings.HasSuffix(env, ".lock") || strings.HasSuffix(env, ".") {
		return fmt.Errorf("environment name %q cannot be published (git refuses it in a ref name): %w", env, versioning.ErrInvalid)
	}
	return nil
}

// current returns the value of a ref, zero when it does not exist.
func current(r *repo.Repo, name string) (repo.Hash, error) {
	h, err := r.Ref(name)
	if errors.Is(err, repo.ErrRefNotFound) {
		return repo.ZeroHash, nil
	}
	return h, err
}

// objectReader reads files at a commit: a *repo.Repo, or the *repo.Objects
// fetched from a remote.
type objectReader interface {
	TreeEntryAt(commit repo.Hash, path string) (repo.TreeEntry, error)
	FileAt(commit repo.Hash, path string) ([]byte, repo.Hash, error)
	DirAt(commit repo.Hash, dir string) ([]repo.TreeEntry, error)
	ReadBlob(h repo.Hash) ([]byte, error)
	ReadCommit(h repo.Hash) (*repo.Commit, error)
}

// checkEnvAt checks that commit c has a store with environment env and
// returns the store's id.
func checkEnvAt(r objectReader, c repo.Hash, env string) (string, error) {
	short := c.String()[:7]
	data, _, err := r.FileAt(c, versioning.StorePath)
	if errors.Is(err, repo.ErrPathNotFound) {
		return "", fmt.Errorf("no gitseal store at %s (no %s): %w", short, versioning.StorePath, versioning.ErrNoStore)
	}
	if err != nil {
		return "", err
	}
	info, err := versioning.ParseStoreFile(data)
	if err != nil {
		return "", err
	}
	if _, err := r.TreeEntryAt(c, versioning.DataKeyPath(env)); err != nil {
		if errors.Is(err, repo.ErrPathNotFound) {
			return "", fmt.Errorf("environment %q does not exist at %s: %w", env, short, versioning.ErrEnvNotFound)
		}
		return "", err
	}
	return info.ID, nil
}

// PublishResult is what Publish did.
type PublishResult struct {
	Record
	// StoreID is the store's id at the published commit (for a pin file).
	StoreID string
}

// Publish pins env at rev ("" for HEAD) and records the publish. A rev that
// does not name a commit gives an error wrapping repo.ErrRevisionNotFound; a
// commit without env, one wrapping versioning.ErrEnvNotFound; in both cases
// nothing is written.
func Publish(ctx context.Context, r *repo.Repo, env, rev string) (PublishResult, error) {
	return PublishSigned(ctx, r, env, rev, nil)
}

// PublishSigned is Publish with the record signed by signer (nil: not
// signed). The signature (FORMAT.md §6) is stored next to the record, so a
// runtime that trusts signer's key reads this pin.
func PublishSigned(ctx context.Context, r *repo.Repo, env, rev string, signer *cipher.Signer) (PublishResult, error) {
	if err := validEnv(env); err != nil {
		return PublishResult{}, err
	}
	if rev == "" {
		rev = "HEAD"
	}
	c, err := r.ResolveCommit(rev)
	if err != nil {
		return PublishResult{}, fmt.Errorf("publish %s: %w", env, err)
	}
	id, err := checkEnvAt(r, c, env)
	if err != nil {
		return PublishResult{}, fmt.Errorf("publish %s: %w", env, err)
	}
	rec, err := record(ctx, r, env, ActionPublish, c, id, signer)
	if err != nil {
		return PublishResult{}, err
	}
	return PublishResult{Record: rec, StoreID: id}, nil
}

// Unpublish removes env's pin and records it. An environment that is not
// published gives an error wrapping ErrNotFound.
func Unpublish(ctx context.Context, r *repo.Repo, env string) (Record, error) {
	if err := validEnv(env); err != nil {
		return Record{}, err
	}
	return record(ctx, r, env, ActionUnpublish, repo.ZeroHash, "", nil)
}

func record(ctx context.Context, r *repo.Repo, env, action string, c repo.Hash, storeID string, signer *cipher.Signer) (Record, error) {
	lock, err := r.Lock(ctx)
	if err != nil {
		return Record{}, err
	}
	defer lock.Unlock()
	pinRef, histRef := PinRef(env), HistoryRef(env)
	prev, err := current(r, pinRef)
	if err != nil {
		return Record{}, fmt.Errorf("%s %s: %w", action, env, err)
	}
	if action == ActionUnpublish && prev.IsZero() {
		return Record{}, fmt.Errorf("unpublish: %s is not published; `gitseal pins` lists what is: %w", env, ErrNotFound)
	}
	histTip, err := current(r, histRef)
	if err != nil {
		return Record{}, fmt.Errorf("%s %s: %w", action, env, err)
	}
	seq := 1
	if !histTip.IsZero() {
		last, err := readRecord(r, histTip)
		if err != nil {
			return Record{}, fmt.Errorf("%s %s: %w", action, env, err)
		}
		seq = last.Seq + 1
	}
	who, err := r.Signature("committer", time.Now())
	if err != nil {
		return Record{}, fmt.Errorf("%s %s: %w", action, env, err)
	}
	rec := Record{Env: env, Action: action, Commit: c, Previous: prev,
		Publisher: who.Name + " <" + who.Email + ">", Time: who.When.Truncate(time.Second), Seq: seq}
	subject := fmt.Sprintf("gitseal: %s %s", action, env)
	if action == ActionPublish {
		subject += " at " + c.String()[:7]
	}
	msg := subject + "\n\nGitseal-Action: " + action + "\nGitseal-Env: " + env + "\n"
	if !c.IsZero() {
		msg += "Gitseal-Commit: " + c.String() + "\n"
	}
	changes := []repo.Change{{Path: recordFile, Data: rec.Marshal()}}
	if signer != nil {
		sig, err := signer.Sign(signNamespace, signedMessage(storeID, rec.Marshal()))
		if err != nil {
			return Record{}, fmt.Errorf("%s %s: %w", action, env, err)
		}
		changes = append(changes, repo.Change{Path: signatureFile, Data: sig})
		msg += "Gitseal-Signed-By: " + signer.Fingerprint() + "\n"
		rec.Signature = sig
	} else {
		// The tree is the previous record's with changes applied: an
		// unsigned record must not inherit the previous signature.
		changes = append(changes, repo.Change{Path: signatureFile, Delete: true})
	}
	recCommit, err := r.CommitOnRef(ctx, histRef, changes, msg)
	if err != nil {
		return Record{}, fmt.Errorf("%s %s: recording: %w", action, env, err)
	}
	if err := r.UpdateRef(pinRef, c, prev, subject); err != nil {
		// Take the record back: history must not claim this publish.
		if uerr := r.UpdateRef(histRef, histTip, recCommit, "gitseal: take back "+action+" "+env); uerr != nil {
			return Record{}, fmt.Errorf("%s %s: moving the pin: %w (and taking back the record %s: %v)", action, env, err, recCommit.String()[:7], uerr)
		}
		return Record{}, fmt.Errorf("%s %s: moving the pin: %w", action, env, err)
	}
	rec.RecordCommit = recCommit
	return rec, nil
}

func readRecord(r objectReader, c repo.Hash) (Record, error) {
	data, _, err := r.FileAt(c, recordFile)
	if err != nil {
		return Record{}, fmt.Errorf("reading publish record %s: %w", c.String()[:7], err)
	}
	rec, err := ParseRecord(data)
	if err != nil {
		return Record{}, fmt.Errorf("%s: %w", c.String()[:7], err)
	}
	rec.RecordCommit = c
	if sig, _, err := r.FileAt(c, signatureFile); err == nil {
		rec.Signature = sig
	} else if !errors.Is(err, repo.ErrPathNotFound) {
		return Record{}, fmt.Errorf("reading publish signature %s: %w", c.String()[:7], err)
	}
	return rec, nil
}

// Pin is an environment's current pin.
type Pin struct {
	Env    string
	Commit repo.Hash
	// Last is the newest publish record, nil when the pin has no history
	// (a pin ref set by hand, or history not fetched).
	Last *Record
}

// Pins lists every pinned environment, sorted by name.
func Pins(r *repo.Repo) ([]Pin, error) {
	refs, err := r.Refs(PinRefPrefix)
	if err != nil {
		return nil, fmt.Errorf("listing pins: %w", err)
	}
	var pins []Pin
	for name, h := range refs {
		env := strings.TrimPrefix(name, PinRefPrefix)
		if validEnv(env) != nil {
			continue
		}
		p := Pin{Env: env, Commit: h}
		if tip, err := current(r, HistoryRef(env)); err == nil && !tip.IsZero() {
			if rec, err := readRecord(r, tip); err == nil && rec.Commit == h {
				p.Last = &rec
			}
		}
		pins = append(pins, p)
	}
	sort.Slice(pins, func(i, j int) bool { return pins[i].Env < pins[j].Env })
	return pins, nil
}

// History lists env's publish records, newest first. An environment never
// published has an empty history.
func History(r *repo.Repo, env string) ([]Record, error) {
	if err := validEnv(env); err != nil {
		return nil, err
	}
	c, err := current(r, HistoryRef(env))
	if err != nil {
		return nil, fmt.Errorf("reading publish history of %s: %w", env, err)
	}
	var out []Record
	for !c.IsZero() {
		rec, err := readRecord(r, c)
		if err != nil {
			return nil, fmt.Errorf("reading publish history of %s: %w", env, err)
		}
		if rec.Env != env {
			return nil, fmt.Errorf("reading publish history of %s: record %s is for %s", env, c.String()[:7], rec.Env)
		}
		out = append(out, rec)
		commit, err := r.ReadCommit(c)
		if err != nil {
			return nil, fmt.Errorf("reading publish history of %s: %w", env, err)
		}
		if len(commit.Parents) == 0 {
			break
		}
		c = commit.Parents[0]
	}
	return out, nil
}
