package versioning

import (
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/gitseal/gitseal/cipher"
	"github.com/gitseal/gitseal/repo"
)

// Snapshot is the store as it was at one commit. It reads git objects only.
type Snapshot struct {
	store  *Store
	commit repo.Hash
	meta   meta
}

// Snapshot returns the store at rev: the branch tip (HEAD) when rev is empty,
// else any revision git understands (a hash, a branch, a tag, HEAD~2).
func (s *Store) Snapshot(rev string) (*Snapshot, error) {
	var c repo.Hash
	if rev == "" {
		head, err := s.repo.Head()
		if err != nil {
			return nil, err
		}
		if head.Commit.IsZero() {
			return nil, fmt.Errorf("%s has no commits yet; run `gitseal init` first: %w", s.repo.WorkTree(), ErrNoStore)
		}
		c = head.Commit
	} else {
		h, err := s.repo.ResolveCommit(rev)
		if err != nil {
			return nil, err
		}
		c = h
	}
	return s.SnapshotAt(c)
}

// SnapshotAt returns the store at commit c.
func (s *Store) SnapshotAt(c repo.Hash) (*Snapshot, error) {
	data, _, err := s.repo.FileAt(c, storePath)
	if isNotFound(err) {
		return nil, fmt.Errorf("no gitseal store at %s (no %s); run `gitseal init`: %w", shortHash(c), storePath, ErrNoStore)
	}
	if err != nil {
		return nil, err
	}
	m, err := parseMeta(data)
	if err != nil {
		return nil, err
	}
	return &Snapshot{store: s, commit: c, meta: m}, nil
}

// Commit is the commit the snapshot reads.
func (sn *Snapshot) Commit() repo.Hash { return sn.commit }

// StoreID is the store's random id, bound into every ciphertext.
func (sn *Snapshot) StoreID() string { return sn.meta.ID }

// DefaultEnv is the environment used when none is named.
func (sn *Snapshot) DefaultEnv() string { return sn.meta.DefaultEnv }

// Envs lists the environments, sorted.
func (sn *Snapshot) Envs() ([]string, error) {
	entries, err := sn.store.repo.DirAt(sn.commit, Root)
	if err != nil {
		return nil, err
	}
	var envs []string
	for _, e := range entries {
		if e.Mode != repo.ModeDir || cipher.ValidName(e.Name) != nil {
			continue
		}
		if _, err := sn.store.repo.TreeEntryAt(sn.commit, dataKeyPath(e.Name)); err == nil {
			envs = append(envs, e.Name)
		}
	}
	sort.Strings(envs)
	return envs, nil
}

// Env returns one environment; "" means the store's default.
func (sn *Snapshot) Env(name string) (*Env, error) {
	if name == "" {
		name = sn.meta.DefaultEnv
	}
	if err := validEnv(name); err != nil {
		return nil, err
	}
	if _, err := sn.store.repo.TreeEntryAt(sn.commit, dataKeyPath(name)); err != nil {
		if isNotFound(err) {
			return nil, fmt.Errorf("environment %q does not exist at %s; `gitseal env ls` lists them: %w", name, shortHash(sn.commit), ErrEnvNotFound)
		}
		return nil, err
	}
	return &Env{sn: sn, name: name}, nil
}

// Env is one environment of a snapshot.
type Env struct {
	sn   *Snapshot
	name string
	// staged holds the index's versions of the wrapped data key files when
	// they differ from the snapshot's (see followIndex); a zero id means
	// the index has no such file.
	staged map[string]repo.Hash

	dkOnce sync.Once
	dk     *cipher.DataKey
	dkErr  error
}

// Name is the environment's name.
func (e *Env) Name() string { return e.name }

// Snapshot is the snapshot the environment belongs to.
func (e *Env) Snapshot() *Snapshot { return e.sn }

// Names lists the secrets, sorted.
func (e *Env) Names() ([]string, error) { return e.list(secretsDir(e.name)) }

// KeyNames lists the named encryption keys, sorted.
func (e *Env) KeyNames() ([]string, error) { return e.list(keysDir(e.name)) }

func (e *Env) list(dir string) ([]string, error) {
	entries, err := e.sn.store.repo.DirAt(e.sn.commit, dir)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(entries))
	for _, ent := range entries {
		if ent.Mode == repo.ModeFile && cipher.ValidName(ent.Name) == nil {
			names = append(names, ent.Name)
		}
	}
	sort.Strings(names)
	return names, nil
}

// Recipients returns who may read the environment.
func (e *Env) Recipients() ([]cipher.Recipient, error) {
	data, _, err := e.sn.store.repo.FileAt(e.sn.commit, recipientsPath(e.name))
	if err != nil {
		return nil, fmt.Errorf("reading recipients of %s: %w", e.name, err)
	}
	rs, err := cipher.ParseRecipients(data)
	if err != nil {
		return nil, fmt.Errorf("reading recipients of %s: %w", e.name, err)
	}
	return rs, nil
}

// DataKey unwraps the environment's data key with the store's identities (or
// its passphrase). It is unwrapped once per Env.
func (e *Env) DataKey() (*cipher.DataKey, error) {
	e.dkOnce.Do(func() { e.dk, e.dkErr = e.unwrap() })
	return e.dk, e.dkErr
}

// keyFile reads one of the wrapped data key files: the index's version when
// followIndex found one, else the snapshot's.
func (e *Env) keyFile(p string) ([]byte, error) {
	if h, ok := e.staged[p]; ok {
		if h.IsZero() {
			return nil, fmt.Errorf("%s is not in the index: %w", p, repo.ErrPathNotFound)
		}
		return e.sn.store.repo.ReadBlob(h)
	}
	data, _, err := e.sn.store.repo.FileAt(e.sn.commit, p)
	return data, err
}

// followIndex makes e seal under the data key staged in the index when it
// differs from the snapshot's: a merge in progress that brings the other
// branch's re-keyed environment, or a re-key staged by hand. A value staged
// now is committed with that key, so it must be sealed under it, not under
// HEAD's (which a removed recipient may hold). A data key file left in
// conflict is refused: there is no key to seal under until it is resolved.
func (e *Env) followIndex() error {
	r := e.sn.store.repo
	entries, err := r.IndexEntries(r.IndexPath())
	if err != nil {
		return err
	}
	for _, p := range []string{dataKeyPath(e.name), passphrasePath(e.name)} {
		var staged repo.Hash
		conflicted := false
		for _, ie := range entries {
			if ie.Path != p {
				continue
			}
			if ie.Stage == 0 {
				staged = ie.Hash
			} else {
				conflicted = true
			}
		}
		if conflicted {
			return fmt.Errorf("%s is in conflict in the index (both branches re-keyed %s): keep one side's key files first (`git checkout --ours -- %s` or `--theirs`, and the same for its recipients), then stage the conflicted secrets again with `gitseal set NAME --stage`: %w",
				p, e.name, p, ErrConflict)
		}
		var head repo.Hash
		if te, err := r.TreeEntryAt(e.sn.commit, p); err == nil {
			head = te.Hash
		}
		if staged != head {
			if e.staged == nil {
				e.staged = map[string]repo.Hash{}
			}
			e.staged[p] = staged
		}
	}
	return nil
}

func (e *Env) unwrap() (*cipher.DataKey, error) {
	s := e.sn.store
	if s.opts.Passphrase != "" {
		wrapped, err := e.keyFile(passphrasePath(e.name))
		if err == nil {
			dk, err := cipher.UnwrapDataKeyPassphrase(wrapped, s.opts.Passphrase)
			if err == nil {
				return dk, nil
			}
			if !errors.Is(err, cipher.ErrSecret) {
				return nil, fmt.Errorf("unlocking %s with the passphrase: %w", e.name, err)
			}
		}
	}
	wrapped, err := e.keyFile(dataKeyPath(e.name))
	if err != nil {
		return nil, fmt.Errorf("reading the data key of %s: %w", e.name, err)
	}
	ids, err := s.Identities()
	if err != nil {
		return nil, err
	}
	// The recipients, in wrap order, let each identity try its own stanza
	// first; unreadable, they are only a lost shortcut.
	order, _ := e.Recipients()
	dk, err := cipher.UnwrapDataKeyFor(wrapped, ids, order)
	if err != nil {
		return nil, fmt.Errorf("environment %s at %s: %w", e.name, shortHash(e.sn.commit), err)
	}
	return dk, nil
}

func (e *Env) binding(kind, name string) cipher.Binding {
	return cipher.Binding{StoreID: e.sn.meta.ID, Env: e.name, Kind: kind, Name: name}
}

// SecretError is a failure to read one secret; it names the secret and the commit.
type SecretError struct {
	Env, Name string
	Commit    repo.Hash
	Err       error
}

func (e *SecretError) Error() string {
	return fmt.Sprintf("%s/%s@%s: %v", e.Env, e.Name, shortHash(e.Commit), e.Err)
}

func (e *SecretError) Unwrap() error { return e.Err }

// Sealed returns the sealed file of a secret, without decrypting it.
func (e *Env) Sealed(name string) ([]byte, error) {
	if err := validSecretName(name); err != nil {
		return nil, err
	}
	data, _, err := e.sn.store.repo.FileAt(e.sn.commit, secretPath(e.name, name))
	if isNotFound(err) {
		return nil, fmt.Errorf("secret %s does not exist in %s at %s; `gitseal ls` lists them: %w", name, e.name, shortHash(e.sn.commit), ErrNotFound)
	}
	return data, err
}

// Has reports whether the secret exists.
func (e *Env) Has(name string) bool {
	_, err := e.sn.store.repo.TreeEntryAt(e.sn.commit, secretPath(e.name, name))
	return err == nil
}

// Get decrypts one secret.
func (e *Env) Get(name string) ([]byte, error) {
	sealed, err := e.Sealed(name)
	if err != nil {
		return nil, err
	}
	return e.open(cipher.KindSecret, name, sealed)
}

func (e *Env) open(kind, name string, sealed []byte) ([]byte, error) {
	if IsConflict(sealed) { // a merge conflict committed as is (merge.go)
		return nil, &SecretError{Env: e.name, Name: name, Commit: e.sn.commit, Err: ConflictError(e.name, kind, name)}
	}
	dk, err := e.DataKey()
	if err != nil {
		return nil, err
	}
	v, err := cipher.Open(dk, e.binding(kind, name), sealed)
	if err != nil {
		return nil, &SecretError{Env: e.name, Name: name, Commit: e.sn.commit, Err: err}
	}
	return v, nil
}

// All decrypts every secret of the environment.
func (e *Env) All() (map[string][]byte, error) {
	names, err := e.Names()
	if err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(names))
	for _, n := range names {
		v, err := e.Get(n)
		if err != nil {
			return nil, err
		}
		out[n] = v
	}
	return out, nil
}
