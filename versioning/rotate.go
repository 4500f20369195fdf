package versioning

import (
	"context"
	"fmt"

	"github.com/gitseal/gitseal/cipher"
	"github.com/gitseal/gitseal/repo"
)

// Re-keying: an environment gets a new data key and every secret and keyring
// is sealed again under it, in one commit. It is what makes a removed
// recipient unable to read anything committed afterwards: the old data key,
// which they may have kept, opens nothing new. It cannot take back what they
// read before; see RevocationReport.

// RekeyOptions configure Rotate, RecipientRemove and EnvCreate.
type RekeyOptions struct {
	// Progress, when set, is called after each secret or keyring is sealed
	// again, with the number done and the total.
	Progress func(done, total int)
	WriteOptions
}

// reseal opens every secret and keyring of src and seals it for environment
// dst under dk. Every output file is a fresh ciphertext: a new key, a new
// nonce, and for a copy a new binding.
func reseal(src *Env, dst string, dk *cipher.DataKey, progress func(done, total int)) ([]repo.Change, error) {
	s := src.sn.store
	type file struct {
		kind, name, path string
		blob             repo.Hash
	}
	var files []file
	for _, kind := range []string{cipher.KindSecret, cipher.KindKeyring} {
		dir, out := secretsDir(src.name), secretPath
		if kind == cipher.KindKeyring {
			dir, out = keysDir(src.name), keyPath
		}
		entries, err := s.repo.DirAt(src.sn.commit, dir)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, ent := range entries {
			if ent.Mode == repo.ModeFile && cipher.ValidName(ent.Name) == nil {
				files = append(files, file{kind, ent.Name, out(dst, ent.Name), ent.Hash})
			}
		}
	}
	dstEnv := &Env{sn: src.sn, name: dst}
	changes := make([]repo.Change, 0, len(files))
	for i, f := range files {
		sealed, err := s.repo.ReadBlob(f.blob)
		if err != nil {
			return nil, err
		}
		plain, err := src.open(f.kind, f.name, sealed)
		if err != nil {
			return nil, err
		}
		resealed, err := cipher.Seal(dk, dstEnv.binding(f.kind, f.name), plain)
		if err != nil {
			return nil, fmt.Errorf("sealing %s/%s: %w", dst, f.name, err)
		}
		changes = append(changes, repo.Change{Path: f.path, Data: resealed})
		if progress != nil {
			progress(i+1, len(files))
		}
	}
	return changes, nil
}

// rekey gives t's environment a new data key wrapped for rs (and for the
// passphrase, when the environment has one) and seals every secret and
// keyring again under it. With dropPassphrase the passphrase recipient is
// removed instead.
func (t *tx) rekey(rs []cipher.Recipient, progress func(done, total int), dropPassphrase bool) error {
	e := t.env
	s := e.sn.store
	if len(rs) == 0 {
		return fmt.Errorf("re-keying %s: no recipients left; nobody could read it: %w", e.name, ErrRefused)
	}
	dk, err := cipher.NewDataKey()
	if err != nil {
		return err
	}
	changes, err := reseal(e, e.name, dk, progress)
	if err != nil {
		return err
	}
	wrapped, err := cipher.WrapDataKey(dk, rs)
	if err != nil {
		return fmt.Errorf("re-keying %s: wrapping the data key: %w", e.name, err)
	}
	t.changes = append(t.changes, changes...)
	t.put(recipientsPath(e.name), cipher.FormatRecipients(rs))
	t.put(dataKeyPath(e.name), wrapped)
	switch {
	case !e.hasPassphrase():
	case dropPassphrase:
		t.del(passphrasePath(e.name))
	default:
		if s.opts.Passphrase == "" {
			return fmt.Errorf("re-keying %s: it has a passphrase recipient, and the new data key must be wrapped for it too; set GITSEAL_PASSPHRASE, or remove the passphrase with `gitseal recipient rm --passphrase`: %w", e.name, ErrPassphraseNeeded)
		}
		pw, err := cipher.WrapDataKeyPassphrase(dk, s.opts.Passphrase)
		if err != nil {
			return fmt.Errorf("re-keying %s: wrapping the data key with the passphrase: %w", e.name, err)
		}
		t.put(passphrasePath(e.name), pw)
	}
	return nil
}

// hasPassphrase reports whether the environment has a passphrase recipient.
func (e *Env) hasPassphrase() bool {
	_, err := e.sn.store.repo.TreeEntryAt(e.sn.commit, passphrasePath(e.name))
	return err == nil
}

// Rotate re-keys env ("" for the default environment) without changing who
// may read it: a new data key, every secret and keyring sealed again under
// it, in one commit. Values do not change; every ciphertext does. Commits made
// before stay readable with the keys that could read them then.
func (s *Store) Rotate(ctx context.Context, env string, opts RekeyOptions) (Result, error) {
	return s.mutate(ctx, env, opts.WriteOptions, func(t *tx) (string, error) {
		rs, err := t.env.Recipients()
		if err != nil {
			return "", err
		}
		if err := t.rekey(rs, opts.Progress, false); err != nil {
			return "", err
		}
		return message("rotate", "rotate the data key of "+t.env.name, t.env.name, ""), nil
	})
}
