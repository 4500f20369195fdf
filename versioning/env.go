package versioning

import (
	"context"
	"errors"
	"fmt"
	"path"

	"github.com/gitseal/gitseal/cipher"
	"github.com/gitseal/gitseal/repo"
)

// PinRef is the ref that pins an environment to a commit (package publish
// writes it).
func PinRef(env string) string { return "refs/gitseal/pins/" + env }

// mutateStore is mutate for changes that are not confined to one existing
// environment: fn sees the store at the branch tip, under the lock.
func (s *Store) mutateStore(ctx context.Context, w WriteOptions, fn func(sn *Snapshot) ([]repo.Change, string, error)) (Result, error) {
	lock, err := s.repo.Lock(ctx)
	if err != nil {
		return Result{}, err
	}
	defer lock.Unlock()
	sn, err := s.Snapshot("")
	if err != nil {
		return Result{}, err
	}
	changes, msg, err := fn(sn)
	if err != nil {
		return Result{}, err
	}
	return s.commit(ctx, sn.commit, changes, msg, w)
}

// EnvCreateOptions configure EnvCreate.
type EnvCreateOptions struct {
	// From, when set, names an environment whose secrets and keys are copied
	// into the new one, each decrypted and sealed again under the new
	// environment's own data key: no ciphertext is reused.
	From string
	// Recipients may read the new environment; when empty, those of From, or
	// of the store's default environment.
	Recipients []cipher.Recipient
	RekeyOptions
}

// EnvCreate creates environment name with a new data key, in one commit.
func (s *Store) EnvCreate(ctx context.Context, name string, opts EnvCreateOptions) (Result, error) {
	if err := validEnv(name); err != nil {
		return Result{}, err
	}
	return s.mutateStore(ctx, opts.WriteOptions, func(sn *Snapshot) ([]repo.Change, string, error) {
		if _, err := sn.Env(name); err == nil {
			return nil, "", fmt.Errorf("env create: environment %s already exists: %w", name, ErrExists)
		} else if !errors.Is(err, ErrEnvNotFound) {
			return nil, "", err
		}
		if ents, err := s.repo.DirAt(sn.commit, envDir(name)); err == nil && len(ents) > 0 {
			return nil, "", fmt.Errorf("env create: %s already holds files but no data key; remove them first: %w", envDir(name), ErrExists)
		}
		if ents, err := s.repo.DirAt(sn.commit, Root); err == nil {
			var dirs []string
			for _, e := range ents {
				if e.Mode.IsDir() {
					dirs = append(dirs, e.Name)
				}
			}
			if other, ok := caseTwin(dirs, name); ok {
				return nil, "", fmt.Errorf("env create %s: environment %s already exists, and the two would be one directory on a case-insensitive file system (macOS, Windows); use that name or another: %w", name, other, ErrInvalid)
			}
		}
		src, err := sn.Env(opts.From)
		if err != nil {
			return nil, "", fmt.Errorf("env create %s: %w", name, err)
		}
		rs := opts.Recipients
		if len(rs) == 0 {
			if rs, err = src.Recipients(); err != nil {
				return nil, "", err
			}
		}
		dk, err := cipher.NewDataKey()
		if err != nil {
			return nil, "", err
		}
		var changes []repo.Change
		what := "env create " + name
		if opts.From != "" {
			if changes, err = reseal(src, name, dk, opts.Progress); err != nil {
				return nil, "", err
			}
			what += " from " + src.name
		}
		wrapped, err := cipher.WrapDataKey(dk, rs)
		if err != nil {
			return nil, "", fmt.Errorf("env create: wrapping the data key: %w", err)
		}
		changes = append(changes,
			repo.Change{Path: recipientsPath(name), Data: cipher.FormatRecipients(rs)},
			repo.Change{Path: dataKeyPath(name), Data: wrapped})
		return changes, message("env-create", what, name, ""), nil
	})
}

// EnvRemove removes environment name and everything in it, in one commit.
// The store's default environment cannot be removed; an environment pinned
// by a publish (PinRef exists) only with force. Its history stays in git.
func (s *Store) EnvRemove(ctx context.Context, name string, force bool, w WriteOptions) (Result, error) {
	if err := validEnv(name); err != nil {
		return Result{}, err
	}
	return s.mutateStore(ctx, w, func(sn *Snapshot) ([]repo.Change, string, error) {
		if _, err := sn.Env(name); err != nil {
			return nil, "", err
		}
		if name == sn.DefaultEnv() {
			return nil, "", fmt.Errorf("env rm: %s is the store's default environment: %w", name, ErrRefused)
		}
		if pin, err := s.repo.Ref(PinRef(name)); err == nil && !force {
			return nil, "", fmt.Errorf("env rm: %s is published (%s pins %s); a running service may depend on it; `gitseal unpublish %s` first, or use --force: %w",
				name, PinRef(name), shortHash(pin), name, ErrPublished)
		}
		var changes []repo.Change
		err := walkFiles(s.repo, sn.commit, envDir(name), func(p string) {
			changes = append(changes, repo.Change{Path: p, Delete: true})
		})
		if err != nil {
			return nil, "", err
		}
		return changes, message("env-rm", "env rm "+name, name, ""), nil
	})
}

// walkFiles calls fn with the path of every non-directory entry under dir at c.
func walkFiles(r *repo.Repo, c repo.Hash, dir string, fn func(p string)) error {
	entries, err := r.DirAt(c, dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		p := path.Join(dir, e.Name)
		if e.Mode.IsDir() {
			if err := walkFiles(r, c, p, fn); err != nil {
				return err
			}
			continue
		}
		fn(p)
	}
	return nil
}

// EnvInfo describes one environment for listings.
type EnvInfo struct {
	Name       string
	Default    bool
	Secrets    int
	Keys       int
	Recipients int
	Passphrase bool
	// Pin is the commit refs/gitseal/pins/<name> points at; zero when unpublished.
	Pin repo.Hash
}

// EnvInfos describes every environment of the snapshot, sorted by name.
func (sn *Snapshot) EnvInfos() ([]EnvInfo, error) {
	names, err := sn.Envs()
	if err != nil {
		return nil, err
	}
	out := make([]EnvInfo, 0, len(names))
	for _, n := range names {
		e, err := sn.Env(n)
		if err != nil {
			return nil, err
		}
		info := EnvInfo{Name: n, Default: n == sn.DefaultEnv(), Passphrase: e.hasPassphrase()}
		secrets, err := e.Names()
		if err != nil {
			return nil, err
		}
		keys, err := e.KeyNames()
		if err != nil {
			return nil, err
		}
		info.Secrets, info.Keys = len(secrets), len(keys)
		if rs, err := e.Recipients(); err == nil {
			info.Recipients = len(rs)
		}
		if pin, err := sn.store.repo.Ref(PinRef(n)); err == nil {
			info.Pin = pin
		}
		out = append(out, info)
	}
	return out, nil
}
