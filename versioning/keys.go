package versioning

import (
	"context"
	"fmt"

	"github.com/gitseal/gitseal/cipher"
)

// Named encryption keys: one sealed keyring per name under
// .gitseal/<env>/keys/<NAME>, sealed like secrets but with kind "keyring", so
// a keyring file can never be opened as a secret or the other way round.

// Keyring decrypts the named key's keyring.
func (e *Env) Keyring(name string) (*cipher.Keyring, error) {
	if err := validKeyName(name); err != nil {
		return nil, err
	}
	sealed, _, err := e.sn.store.repo.FileAt(e.sn.commit, keyPath(e.name, name))
	if isNotFound(err) {
		return nil, fmt.Errorf("key %s does not exist in %s at %s; `gitseal key ls` lists them: %w", name, e.name, shortHash(e.sn.commit), ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	plain, err := e.open(cipher.KindKeyring, name, sealed)
	if err != nil {
		return nil, err
	}
	k, err := cipher.UnmarshalKeyring(plain)
	if err != nil {
		return nil, &SecretError{Env: e.name, Name: name, Commit: e.sn.commit, Err: err}
	}
	return k, nil
}

func (t *tx) putKeyring(name string, k *cipher.Keyring) error {
	dk, err := t.env.DataKey()
	if err != nil {
		return err
	}
	plain, err := k.MarshalBinary()
	if err != nil {
		return err
	}
	sealed, err := cipher.Seal(dk, t.env.binding(cipher.KindKeyring, name), plain)
	if err != nil {
		return fmt.Errorf("sealing key %s/%s: %w", t.env.name, name, err)
	}
	t.put(keyPath(t.env.name, name), sealed)
	return nil
}

func keyMessage(action, env, name string) string {
	return "gitseal: key " + action + " " + env + "/" + name + "\n\nGitseal-Action: key-" + action +
		"\nGitseal-Env: " + env + "\nGitseal-Key: " + name + "\n"
}

// KeyCreate creates a named key of bits (128, the hosted platform's size, or 256).
func (s *Store) KeyCreate(ctx context.Context, env, name string, bits int, w WriteOptions) (Result, error) {
	if err := validKeyName(name); err != nil {
		return Result{}, err
	}
	k, err := cipher.NewKeyring(bits, s.now())
	if err != nil {
		return Result{}, fmt.Errorf("key create: %w: %w", err, ErrInvalid)
	}
	return s.mutate(ctx, env, w, func(t *tx) (string, error) {
		if t.env.HasKey(name) {
			return "", fmt.Errorf("key %s already exists in %s; `gitseal key reset %s` adds a new version: %w", name, t.env.name, name, ErrExists)
		}
		if err := t.checkCase("key", keysDir(t.env.name), name, t.env.KeyNames); err != nil {
			return "", err
		}
		return keyMessage("create", t.env.name, name), t.putKeyring(name, k)
	})
}

// KeyImport stores an existing raw key (16 or 32 bytes) under name: a new key,
// or a new primary version of an existing one.
func (s *Store) KeyImport(ctx context.Context, env, name string, key []byte, w WriteOptions) (Result, error) {
	if err := validKeyName(name); err != nil {
		return Result{}, err
	}
	return s.mutate(ctx, env, w, func(t *tx) (string, error) {
		var k *cipher.Keyring
		var err error
		if t.env.HasKey(name) {
			if k, err = t.env.Keyring(name); err == nil {
				err = k.Import(key, s.now())
			}
		} else if err = t.checkCase("key", keysDir(t.env.name), name, t.env.KeyNames); err == nil {
			k, err = cipher.ImportKeyring(key, s.now())
		}
		if err != nil {
			return "", err
		}
		return keyMessage("import", t.env.name, name), t.putKeyring(name, k)
	})
}

// KeyResetResult says what a reset did.
type KeyResetResult struct {
	Result
	// Purged is how many older versions were removed (and whose payloads
	// can no longer be decrypted).
	Purged int
}

// KeyReset adds a new primary version to a key; older versions keep
// decrypting unless purge removes them.
func (s *Store) KeyReset(ctx context.Context, env, name string, bits int, purge bool, w WriteOptions) (KeyResetResult, error) {
	if err := validKeyName(name); err != nil {
		return KeyResetResult{}, err
	}
	purged := 0
	res, err := s.mutate(ctx, env, w, func(t *tx) (string, error) {
		k, err := t.env.Keyring(name)
		if err != nil {
			return "", err
		}
		if err := k.Reset(bits, s.now()); err != nil {
			return "", fmt.Errorf("key reset: %w: %w", err, ErrInvalid)
		}
		if purge {
			purged = k.PurgeOld()
		}
		return keyMessage("reset", t.env.name, name), t.putKeyring(name, k)
	})
	return KeyResetResult{Result: res, Purged: purged}, err
}

// KeyRemove deletes a named key; data encrypted with it can no longer be
// decrypted at later commits.
func (s *Store) KeyRemove(ctx context.Context, env, name string, w WriteOptions) (Result, error) {
	if err := validKeyName(name); err != nil {
		return Result{}, err
	}
	return s.mutate(ctx, env, w, func(t *tx) (string, error) {
		if !t.env.HasKey(name) {
			_, err := t.env.Keyring(name)
			return "", err
		}
		t.del(keyPath(t.env.name, name))
		return keyMessage("rm", t.env.name, name), nil
	})
}

// HasKey reports whether the named key exists.
func (e *Env) HasKey(name string) bool {
	_, err := e.sn.store.repo.TreeEntryAt(e.sn.commit, keyPath(e.name, name))
	return err == nil
}

// EncryptWithKey encrypts plaintext with the named key's primary version, in
// the hosted platform's payload format.
func (e *Env) EncryptWithKey(name string, plaintext []byte) (string, error) {
	k, err := e.Keyring(name)
	if err != nil {
		return "", err
	}
	return k.Encrypt(plaintext)
}

// DecryptWithKey decrypts a payload with any version of the named key;
// failures unwrap to cipher.ErrSecret.
func (e *Env) DecryptWithKey(name, payload string) ([]byte, error) {
	k, err := e.Keyring(name)
	if err != nil {
		return nil, err
	}
	return k.Decrypt(payload)
}
