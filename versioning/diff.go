package versioning

import (
	"bytes"
	"fmt"
	"sort"

	"github.com/gitseal/gitseal/cipher"
	"github.com/gitseal/gitseal/repo"
)

// Actions of a DiffEntry.
const (
	DiffAdded   = "added"
	DiffChanged = "changed"
	DiffRemoved = "removed"
	// DiffResealed is a secret whose file changed but whose value did not (a
	// rotation, a recipient removal, a rollback to the same value). Only a
	// diff with DiffOptions.Values can tell it from DiffChanged.
	DiffResealed = "resealed"
)

// DiffEntry is one secret that differs between two snapshots of an environment.
type DiffEntry struct {
	Name   string
	Action string
	// Old and New are the values, with DiffOptions.Reveal only; nil for the
	// side where the secret does not exist.
	Old, New []byte
}

// DiffOptions configure Diff.
type DiffOptions struct {
	// Values decrypts both sides of every secret whose file differs, so that a
	// re-encryption is reported as DiffResealed rather than DiffChanged. It
	// needs a key to both snapshots.
	Values bool
	// Reveal returns the values in the entries; it implies Values.
	Reveal bool
}

// Diff lists the secrets that differ between two snapshots of an
// environment, by name. Either side may be nil: an environment that does not
// exist there, so every secret of the other side is added or removed. Without
// opts.Values it reads no value and needs no key: any change to a secret's
// file is DiffChanged.
func Diff(from, to *Env, opts DiffOptions) ([]DiffEntry, error) {
	if opts.Reveal {
		opts.Values = true
	}
	fa, err := secretBlobs(from)
	if err != nil {
		return nil, err
	}
	fb, err := secretBlobs(to)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(fa)+len(fb))
	for n := range fa {
		names = append(names, n)
	}
	for n := range fb {
		if _, ok := fa[n]; !ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var out []DiffEntry
	for _, n := range names {
		a, inA := fa[n]
		b, inB := fb[n]
		if a == b {
			continue
		}
		d := DiffEntry{Name: n}
		switch {
		case !inA:
			d.Action = DiffAdded
		case !inB:
			d.Action = DiffRemoved
		default:
			d.Action = DiffChanged
		}
		if opts.Values {
			var va, vb []byte
			if inA {
				if va, err = from.Get(n); err != nil {
					return nil, err
				}
			}
			if inB {
				if vb, err = to.Get(n); err != nil {
					return nil, err
				}
			}
			if inA && inB && bytes.Equal(va, vb) {
				d.Action = DiffResealed
			}
			if opts.Reveal {
				d.Old, d.New = va, vb
			}
		}
		out = append(out, d)
	}
	return out, nil
}

// secretBlobs maps each secret of e to its file's blob id.
func secretBlobs(e *Env) (map[string]repo.Hash, error) {
	m := map[string]repo.Hash{}
	if e == nil {
		return m, nil
	}
	entries, err := e.sn.store.repo.DirAt(e.sn.commit, secretsDir(e.name))
	if isNotFound(err) {
		return m, nil
	}
	if err != nil {
		return nil, err
	}
	for _, ent := range entries {
		if ent.Mode == repo.ModeFile && cipher.ValidName(ent.Name) == nil {
			m[ent.Name] = ent.Hash
		}
	}
	return m, nil
}

// keyCache holds data keys already unwrapped, by the blob id of the wrapped
// file, so a walk over history unwraps each distinct data key once.
type keyCache map[repo.Hash]*cipher.DataKey

// dataKeyAt returns env's data key at commit c.
func (s *Store) dataKeyAt(c repo.Hash, env string, cache keyCache) (*cipher.DataKey, error) {
	ent, err := s.repo.TreeEntryAt(c, dataKeyPath(env))
	if err != nil {
		if isNotFound(err) {
			return nil, fmt.Errorf("environment %q does not exist at %s: %w", env, shortHash(c), ErrEnvNotFound)
		}
		return nil, err
	}
	if dk, ok := cache[ent.Hash]; ok {
		return dk, nil
	}
	sn, err := s.SnapshotAt(c)
	if err != nil {
		return nil, err
	}
	e, err := sn.Env(env)
	if err != nil {
		return nil, err
	}
	dk, err := e.DataKey()
	if err != nil {
		return nil, err
	}
	cache[ent.Hash] = dk
	return dk, nil
}

// openBlob decrypts the sealed file blob, which held kind/name of env at
// commit c.
func (s *Store) openBlob(c repo.Hash, env, kind, name string, blob repo.Hash, cache keyCache) ([]byte, error) {
	dk, err := s.dataKeyAt(c, env, cache)
	if err != nil {
		return nil, err
	}
	sealed, err := s.repo.ReadBlob(blob)
	if err != nil {
		return nil, err
	}
	sn, err := s.SnapshotAt(c)
	if err != nil {
		return nil, err
	}
	b := cipher.Binding{StoreID: sn.meta.ID, Env: env, Kind: kind, Name: name}
	v, err := cipher.Open(dk, b, sealed)
	if err != nil {
		return nil, &SecretError{Env: env, Name: name, Commit: c, Err: err}
	}
	return v, nil
}

// Values decrypts each version of a secret that History returned for name,
// each with the data key of its own commit, so versions sealed before a
// rotation still open for someone who could read them then. A removed
// version's value is nil.
func (e *Env) Values(name string, versions []Version) ([][]byte, error) {
	s := e.sn.store
	cache := keyCache{}
	out := make([][]byte, len(versions))
	for i, v := range versions {
		if v.Blob.IsZero() {
			continue
		}
		val, err := s.openBlob(v.Commit, e.name, cipher.KindSecret, name, v.Blob, cache)
		if err != nil {
			return nil, err
		}
		out[i] = val
	}
	return out, nil
}
