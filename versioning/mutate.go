package versioning

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strings"

	"github.com/gitseal/gitseal/cipher"
	"github.com/gitseal/gitseal/repo"
)

// tx is one mutation in progress: the environment at the branch tip, read
// under the repository lock, and the changes to commit on top of it.
type tx struct {
	env     *Env
	changes []repo.Change
	// folded maps, per directory checked by checkCase, each name in it
	// (at the tip, or added by this transaction) lower-cased to itself.
	folded map[string]map[string]string
}

func (t *tx) put(p string, data []byte) {
	t.changes = append(t.changes, repo.Change{Path: p, Data: data})
}
func (t *tx) del(p string) { t.changes = append(t.changes, repo.Change{Path: p, Delete: true}) }

// checkCase refuses a new name that differs only in case from one the
// directory has, or gets in this transaction: on a case-insensitive file
// system (macOS, Windows) the two would be one file, and a checkout there
// would show one secret's file under the other's name. Names are ASCII
// (cipher.ValidName), so lower-casing them is what case-insensitive means.
// The directory is listed once per transaction: an import of a thousand
// names checks each against a map, not against every name before it.
func (t *tx) checkCase(what, dir, name string, existing func() ([]string, error)) error {
	m, ok := t.folded[dir]
	if !ok {
		names, err := existing()
		if err != nil {
			return err
		}
		m = make(map[string]string, len(names))
		for _, n := range names {
			m[strings.ToLower(n)] = n
		}
		if t.folded == nil {
			t.folded = map[string]map[string]string{}
		}
		t.folded[dir] = m
	}
	key := strings.ToLower(name)
	if n, ok := m[key]; ok && n != name {
		return fmt.Errorf("%s %s: %s %s/%s already exists, and the two would be one file on a case-insensitive file system (macOS, Windows); use that name or another: %w",
			what, name, what, t.env.name, n, ErrInvalid)
	}
	m[key] = name
	return nil
}

// caseTwin finds a name among names that differs from name only in case.
func caseTwin(names []string, name string) (string, bool) {
	for _, n := range names {
		if n != name && strings.EqualFold(n, name) {
			return n, true
		}
	}
	return "", false
}

// seal seals a secret value unless it already holds exactly that value; it
// reports whether anything changed.
func (t *tx) setSecret(name string, value []byte) (bool, error) {
	e := t.env
	dk, err := e.DataKey()
	if err != nil {
		return false, err
	}
	if !e.Has(name) {
		if err := t.checkCase("secret", secretsDir(e.name), name, e.Names); err != nil {
			return false, err
		}
	}
	if old, err := e.Get(name); err == nil && bytes.Equal(old, value) {
		return false, nil
	}
	sealed, err := cipher.Seal(dk, e.binding(cipher.KindSecret, name), value)
	if err != nil {
		return false, fmt.Errorf("sealing %s/%s: %w", e.name, name, err)
	}
	t.put(secretPath(e.name, name), sealed)
	return true, nil
}

// mutate runs fn on the environment as it is at the branch tip, under the
// repository lock, and commits what fn changed with the message it returns.
func (s *Store) mutate(ctx context.Context, env string, w WriteOptions, fn func(t *tx) (string, error)) (Result, error) {
	lock, err := s.repo.Lock(ctx)
	if err != nil {
		return Result{}, err
	}
	defer lock.Unlock()
	sn, err := s.Snapshot("")
	if err != nil {
		return Result{}, err
	}
	e, err := sn.Env(env)
	if err != nil {
		return Result{}, err
	}
	if w.Stage {
		if err := e.followIndex(); err != nil {
			return Result{}, err
		}
	}
	t := &tx{env: e}
	msg, err := fn(t)
	if err != nil {
		return Result{}, err
	}
	return s.commit(ctx, sn.commit, t.changes, msg, w)
}

func checkValue(name string, value []byte) error {
	if len(value) > cipher.MaxValueSize {
		return fmt.Errorf("value of %s is %d bytes, more than the limit of %d (1 MiB); store large files elsewhere and keep their key here: %w",
			name, len(value), cipher.MaxValueSize, cipher.ErrTooLarge)
	}
	return nil
}

// Set stores value under name in env ("" for the default environment). A
// value equal to the current one makes no commit.
func (s *Store) Set(ctx context.Context, env, name string, value []byte, w WriteOptions) (Result, error) {
	if err := validSecretName(name); err != nil {
		return Result{}, err
	}
	if err := checkValue(name, value); err != nil {
		return Result{}, err
	}
	return s.mutate(ctx, env, w, func(t *tx) (string, error) {
		_, err := t.setSecret(name, value)
		return message("set", "set "+t.env.name+"/"+name, t.env.name, name), err
	})
}

// Encodings accepted by Generate.
const (
	EncodingBase64 = "base64"
	EncodingHex    = "hex"
	EncodingAlnum  = "alnum"
)

// GenerateOptions configure Generate.
type GenerateOptions struct {
	// Bytes of randomness; 16 (128 bits) when zero.
	Bytes int
	// Encoding is base64 (standard, padded; the default), hex or alnum
	// (letters and digits, as many as carry at least Bytes*8 bits).
	Encoding string
	WriteOptions
}

// GenerateValue returns a random value as opts describe.
func GenerateValue(opts GenerateOptions) ([]byte, error) {
	n := opts.Bytes
	if n == 0 {
		n = 16
	}
	if n < 8 || n > 4096 {
		return nil, fmt.Errorf("generate: --bytes %d is out of range; use 8 to 4096: %w", n, ErrInvalid)
	}
	switch opts.Encoding {
	case "", EncodingBase64, EncodingHex:
		b := make([]byte, n)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		if opts.Encoding == EncodingHex {
			return []byte(hex.EncodeToString(b)), nil
		}
		return []byte(base64.StdEncoding.EncodeToString(b)), nil
	case EncodingAlnum:
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
		chars := int(math.Ceil(float64(n*8) / math.Log2(float64(len(alphabet)))))
		out := make([]byte, chars)
		max := big.NewInt(int64(len(alphabet)))
		for i := range out {
			k, err := rand.Int(rand.Reader, max)
			if err != nil {
				return nil, err
			}
			out[i] = alphabet[k.Int64()]
		}
		return out, nil
	default:
		return nil, fmt.Errorf("generate: unknown encoding %q; use base64, hex or alnum: %w", opts.Encoding, ErrInvalid)
	}
}

// Generate stores a new random value under name.
func (s *Store) Generate(ctx context.Context, env, name string, opts GenerateOptions) (Result, error) {
	if err := validSecretName(name); err != nil {
		return Result{}, err
	}
	value, err := GenerateValue(opts)
	if err != nil {
		return Result{}, err
	}
	return s.mutate(ctx, env, opts.WriteOptions, func(t *tx) (string, error) {
		_, err := t.setSecret(name, value)
		return message("generate", "generate "+t.env.name+"/"+name, t.env.name, name), err
	})
}

// Remove deletes a secret.
func (s *Store) Remove(ctx context.Context, env, name string, w WriteOptions) (Result, error) {
	if err := validSecretName(name); err != nil {
		return Result{}, err
	}
	return s.mutate(ctx, env, w, func(t *tx) (string, error) {
		if !t.env.Has(name) {
			_, err := t.env.Sealed(name)
			return "", err
		}
		t.del(secretPath(t.env.name, name))
		return message("rm", "rm "+t.env.name+"/"+name, t.env.name, name), nil
	})
}

// Import stores every value of values in one commit; names and sizes are all
// checked before anything is written. Unchanged values are skipped.
func (s *Store) Import(ctx context.Context, env string, values map[string][]byte, w WriteOptions) (Result, error) {
	names := make([]string, 0, len(values))
	for n, v := range values {
		if err := validSecretName(n); err != nil {
			return Result{}, err
		}
		if err := checkValue(n, v); err != nil {
			return Result{}, err
		}
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return Result{}, fmt.Errorf("import: no secrets in the input: %w", ErrInvalid)
	}
	return s.mutate(ctx, env, w, func(t *tx) (string, error) {
		changed := 0
		for _, n := range names {
			ok, err := t.setSecret(n, values[n])
			if err != nil {
				return "", err
			}
			if ok {
				changed++
			}
		}
		return message("import", fmt.Sprintf("import %d secrets into %s", changed, t.env.name), t.env.name, ""), nil
	})
}
