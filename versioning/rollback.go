package versioning

import (
	"context"
	"fmt"
)

// Rollback restores name in env ("" for the default environment) to the
// value it had at rev, in one new commit: the old value is decrypted with the
// data key of rev's commit and sealed again under the current one, so a
// rotation or recipient change in between does not matter. Nothing else
// changes. When the secret did not exist at rev the error wraps ErrNotFound
// and nothing is written; when it already has that value no commit is made.
func (s *Store) Rollback(ctx context.Context, env, name, rev string, w WriteOptions) (Result, error) {
	if err := validSecretName(name); err != nil {
		return Result{}, err
	}
	c, err := s.repo.ResolveCommit(rev)
	if err != nil {
		return Result{}, err
	}
	old, err := s.SnapshotAt(c)
	if err != nil {
		return Result{}, err
	}
	if env == "" {
		// The default environment is the branch tip's, as for every mutation.
		tip, err := s.Snapshot("")
		if err != nil {
			return Result{}, err
		}
		env = tip.DefaultEnv()
	}
	oe, err := old.Env(env)
	if err != nil {
		return Result{}, fmt.Errorf("rollback %s/%s to %s: %w", env, name, rev, err)
	}
	if !oe.Has(name) {
		return Result{}, fmt.Errorf("rollback %s/%s: the secret did not exist at %s (%s); `gitseal history %s` lists its versions: %w",
			env, name, rev, shortHash(c), name, ErrNotFound)
	}
	value, err := oe.Get(name)
	if err != nil {
		return Result{}, err
	}
	return s.mutate(ctx, env, w, func(t *tx) (string, error) {
		_, err := t.setSecret(name, value)
		msg := message("rollback", fmt.Sprintf("rollback %s/%s to %s", t.env.name, name, shortHash(c)), t.env.name, name)
		return msg + "Gitseal-Rollback-To: " + c.String() + "\n", err
	})
}
