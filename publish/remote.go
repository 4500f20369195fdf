package publish

// Loading from a remote (Options.Remote): the runtime has a URL, not a
// clone. It lists the remote's refs, picks the commit in the order Resolve
// uses, and fetches that one commit with depth 1 into memory (its tree and
// blobs; no history, nothing on disk), together with the environment's
// newest publish record when the pin is read.

import (
	"context"
	"fmt"
	"os"

	"github.com/gitseal/gitseal/repo"
	"github.com/gitseal/gitseal/versioning"
)

// remoteRev resolves a revision against a remote's advertised refs: a full
// commit id, a full ref name, "HEAD", or a short name tried as
// refs/heads/NAME, refs/tags/NAME, refs/NAME, as git does. A tag that the
// remote advertises peeled resolves to its commit.
func remoteRev(refs map[string]repo.Hash, peeled map[string]repo.Hash, rev string) (repo.Hash, error) {
	if h, err := repo.ParseHash(rev); err == nil {
		return h, nil
	}
	for _, name := range []string{rev, "refs/" + rev, "refs/tags/" + rev, "refs/heads/" + rev} {
		if h, ok := peeled[name]; ok {
			return h, nil
		}
		if h, ok := refs[name]; ok {
			return h, nil
		}
	}
	return repo.ZeroHash, fmt.Errorf("%q is not a commit id nor a ref of the remote: %w", rev, repo.ErrRevisionNotFound)
}

// openRemote resolves and fetches, then reads as Open does from a clone.
func openRemote(ctx context.Context, o Options) (*Secrets, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	env := o.Env
	if env == "" {
		env = getenv(envVarEnv)
	}
	rev, from := o.Ref, FromRef
	if rev == "" {
		if rev = getenv(envVarRef); rev != "" {
			from = FromEnvRef
		}
	}
	var pin *PinFile
	if rev == "" {
		pinFile := o.PinFile
		if pinFile == "" {
			pinFile = getenv(envVarPin)
		}
		if pinFile != "" {
			p, err := ReadPinFile(pinFile)
			if err != nil {
				return nil, err
			}
			if env != "" && env != p.Env {
				return nil, fmt.Errorf("pin file %s is for environment %s, not %s", pinFile, p.Env, env)
			}
			pin, env, from = &p, p.Env, FromPinFile
		}
	}
	keys, err := trustedKeys(o)
	if err != nil {
		return nil, err
	}
	var commit, hist repo.Hash
	pick := func(refs map[string]repo.Hash) ([]repo.Hash, error) {
		var err error
		if env == "" && rev == "" && refs["HEAD"].IsZero() {
			// No HEAD to read the store's default from: the usual default.
			env = versioning.DefaultEnv
		}
		switch {
		case rev != "":
			if commit, err = remoteRev(refs, nil, rev); err != nil {
				if from == FromEnvRef {
					return nil, fmt.Errorf("GITSEAL_REF: %w", err)
				}
				return nil, err
			}
		case pin != nil:
			commit = pin.Commit
		case env != "" && !refs[PinRef(env)].IsZero():
			commit, from = refs[PinRef(env)], FromPin
		default:
			if commit, from = refs["HEAD"], FromHead; commit.IsZero() {
				return nil, fmt.Errorf("the remote has no HEAD and %s is not published there: %w", orDefault(env), versioning.ErrNoStore)
			}
		}
		wants := []repo.Hash{commit}
		if keys != nil && env != "" {
			// The newest publish record, for the signature check.
			if hist = refs[HistoryRef(env)]; !hist.IsZero() {
				wants = append(wants, hist)
			}
		}
		return wants, nil
	}
	objs, err := repo.FetchCommits(ctx, o.Remote, pick)
	if err != nil {
		return nil, err
	}
	if env == "" {
		// Only the store at the commit read knows its default environment;
		// when that environment is published, its pin is what to read.
		env = defaultEnvAt(objs, commit)
		// Fetch again, now that env is known, if its pin is what to read
		// or its publish record must be checked.
		if (from == FromHead && !objs.Refs()[PinRef(env)].IsZero()) || keys != nil {
			if objs, err = repo.FetchCommits(ctx, o.Remote, pick); err != nil {
				return nil, err
			}
		}
	}
	if err := validEnv(env); err != nil {
		return nil, err
	}
	id, err := checkEnvAt(objs, commit, env)
	if err != nil {
		return nil, fmt.Errorf("reading %s (from %s of %s): %w", env, from, o.Remote, err)
	}
	if pin != nil && pin.StoreID != id {
		return nil, fmt.Errorf("the pin file was written for store %s, but the remote's store is %s", pin.StoreID, id)
	}
	if keys != nil {
		if err := verifyTrust(objs, hist, env, id, commit, from, keys, false); err != nil {
			return nil, fmt.Errorf("%w (on %s)", err, o.Remote)
		}
	}
	src := &repoSource{r: objs, commit: commit}
	s := &Secrets{src: src, env: env, storeID: id, commit: commit, from: from,
		identity: o.Identity, passphrase: o.Passphrase}
	return s, nil
}

func orDefault(env string) string {
	if env == "" {
		return "the default environment"
	}
	return env
}
