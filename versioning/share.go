package versioning

import (
	"context"
	"fmt"

	"github.com/gitseal/gitseal/repo"
)

// InitFrom creates this repository's store as a sibling of the store in
// other (its branch tip): the same store id, default environment,
// environments, recipients, wrapped data keys and named encryption keys, but
// none of its secrets. Values sealed in one store then open in the other,
// and payloads made with a named key in one application decrypt in the
// other: the hosted platform's "same key for the development and production
// apps". Only someone who can read every environment of other may do it:
// each data key is unwrapped first, so a stranger gets cipher.ErrSecret and
// nothing is written.
//
// The two stores share keys only until one of them re-keys an environment
// (recipient rm, rotate): re-keying is not propagated.
func (s *Store) InitFrom(ctx context.Context, other *Store, w WriteOptions) (Result, error) {
	src, err := other.Snapshot("")
	if err != nil {
		return Result{}, fmt.Errorf("init --from %s: %w", other.repo.WorkTree(), err)
	}
	envs, err := src.Envs()
	if err != nil {
		return Result{}, err
	}
	if len(envs) == 0 {
		return Result{}, fmt.Errorf("init --from %s: the store there has no environments: %w", other.repo.WorkTree(), ErrNoStore)
	}
	copyFile := func(changes []repo.Change, p string) ([]repo.Change, error) {
		data, _, err := other.repo.FileAt(src.commit, p)
		if err != nil {
			return nil, fmt.Errorf("init --from: reading %s: %w", p, err)
		}
		return append(changes, repo.Change{Path: p, Data: data}), nil
	}
	var changes []repo.Change
	changes = append(changes, repo.Change{Path: storePath, Data: src.meta.marshal()})
	for _, name := range envs {
		e, err := src.Env(name)
		if err != nil {
			return Result{}, err
		}
		// Prove access: the caller must hold a key to every environment.
		if _, err := e.DataKey(); err != nil {
			return Result{}, fmt.Errorf("init --from %s: %w", other.repo.WorkTree(), err)
		}
		paths := []string{recipientsPath(name), dataKeyPath(name)}
		if _, err := other.repo.TreeEntryAt(src.commit, passphrasePath(name)); err == nil {
			paths = append(paths, passphrasePath(name))
		}
		keys, err := e.KeyNames()
		if err != nil {
			return Result{}, err
		}
		for _, k := range keys {
			paths = append(paths, keyPath(name, k))
		}
		for _, p := range paths {
			if changes, err = copyFile(changes, p); err != nil {
				return Result{}, err
			}
		}
	}

	lock, tip, err := s.lockForInit(ctx)
	if err != nil {
		return Result{}, err
	}
	defer lock.Unlock()
	msg := "gitseal: init store sharing keys with store " + src.meta.ID[:8] + "\n\nGitseal-Action: init\nGitseal-Shared-From: " + src.commit.String() + "\n"
	return s.commit(ctx, tip, changes, msg, w)
}
