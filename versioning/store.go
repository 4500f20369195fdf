package versioning

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"sync"
	"time"

	"github.com/gitseal/gitseal/cipher"
	"github.com/gitseal/gitseal/repo"
)

// Errors callers branch on.
var (
	// ErrNotFound: the secret or key does not exist at that commit.
	ErrNotFound = errors.New("not found")
	// ErrEnvNotFound: the environment does not exist at that commit.
	ErrEnvNotFound = errors.New("environment not found")
	// ErrNoStore: the repository has no gitseal store at that commit.
	ErrNoStore = errors.New("no gitseal store")
	// ErrExists: init on a repository that already has a store, or creating
	// something that already exists.
	ErrExists = errors.New("already exists")
	// ErrInvalid: a name, value or option is not acceptable; nothing was written.
	ErrInvalid = errors.New("invalid input")
	// ErrRefused: the request is well formed but would leave the store in a
	// state gitseal does not allow (no recipient left, no default
	// environment); nothing was written.
	ErrRefused = errors.New("refused")
	// ErrPublished: the environment is pinned by a publish; removing it
	// needs force.
	ErrPublished = errors.New("environment is published")
	// ErrPassphraseNeeded: the environment has a passphrase recipient, and
	// re-keying it needs the passphrase (Options.Passphrase) to wrap the new
	// data key for it too.
	ErrPassphraseNeeded = errors.New("passphrase needed")
	// ErrAuditTampered is wrapped by VerifyAudit's error when the log was
	// rewritten or truncated, or an entry is malformed.
	ErrAuditTampered = errors.New("audit log failed verification")
	// ErrConflict is wrapped by a read of a secret whose committed file is
	// an unresolved merge conflict left by the merge driver.
	ErrConflict = errors.New("unresolved merge conflict")
)

// Root is the directory, relative to the repository root, that holds the store.
const Root = ".gitseal"

const (
	storeFormat = "gitseal/v1"
	storePath   = Root + "/store.json"
	// DefaultEnv is the environment used when none is named.
	DefaultEnv = "default"
)

func envDir(env string) string           { return path.Join(Root, env) }
func recipientsPath(env string) string   { return path.Join(Root, env, "recipients") }
func dataKeyPath(env string) string      { return path.Join(Root, env, "datakey.age") }
func secretsDir(env string) string       { return path.Join(Root, env, "secrets") }
func secretPath(env, name string) string { return path.Join(Root, env, "secrets", name) }
func keysDir(env string) string          { return path.Join(Root, env, "keys") }
func keyPath(env, name string) string    { return path.Join(Root, env, "keys", name) }
func passphrasePath(env string) string   { return path.Join(Root, env, "datakey.scrypt.age") }
func isNotFound(err error) bool          { return errors.Is(err, repo.ErrPathNotFound) }
func shortHash(h repo.Hash) string       { return h.String()[:7] }
func validEnv(env string) error          { return validName("environment", env) }
func validSecretName(name string) error  { return validName("secret", name) }
func validKeyName(name string) error     { return validName("key", name) }
func validName(what, name string) error {
	if err := cipher.ValidName(name); err != nil {
		return fmt.Errorf("%s name: %w: %w", what, err, ErrInvalid)
	}
	return nil
}

// meta is the content of store.json.
type meta struct {
	Format     string `json:"format"`
	ID         string `json:"id"`
	DefaultEnv string `json:"default_env"`
}

func parseMeta(data []byte) (meta, error) {
	var m meta
	if err := json.Unmarshal(data, &m); err != nil {
		return m, fmt.Errorf("reading %s: %v", storePath, err)
	}
	if m.Format != storeFormat {
		return m, fmt.Errorf("reading %s: format %q: %w", storePath, m.Format, cipher.ErrUnknownVersion)
	}
	if b, err := hex.DecodeString(m.ID); err != nil || len(b) != 16 {
		return m, fmt.Errorf("reading %s: store id is not 32 hex digits", storePath)
	}
	if m.DefaultEnv == "" {
		m.DefaultEnv = DefaultEnv
	}
	if err := validEnv(m.DefaultEnv); err != nil {
		return m, fmt.Errorf("reading %s: default_env: %w", storePath, err)
	}
	return m, nil
}

func (m meta) marshal() []byte {
	b, _ := json.MarshalIndent(m, "", "  ")
	return append(b, '\n')
}

// Options configure a Store.
type Options struct {
	// Identity says where to look for the identities that unwrap data keys.
	// They are loaded only when a value is read or written.
	Identity cipher.IdentitySource
	// Passphrase, when set, unlocks an environment's passphrase recipient.
	Passphrase string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// NoSign makes commits unsigned even when git config asks for signed
	// commits (commit.gpgSign).
	NoSign bool
}

// Store is a gitseal store in a git repository. Its methods are safe for use
// by one goroutine at a time; mutations from several processes serialise on
// the repository's gitseal lock.
type Store struct {
	repo *repo.Repo
	opts Options
	now  func() time.Time

	idsOnce sync.Once
	ids     *cipher.Identities
	idsErr  error
}

// Open opens the repository that contains dir. It does not require a store to
// exist yet; reads report ErrNoStore when there is none.
func Open(dir string, opts Options) (*Store, error) {
	r, err := repo.Open(dir)
	if err != nil {
		return nil, err
	}
	s := &Store{repo: r, opts: opts, now: opts.Now}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// Close releases the repository.
func (s *Store) Close() error { return s.repo.Close() }

// Repo returns the underlying repository.
func (s *Store) Repo() *repo.Repo { return s.repo }

// Identities loads the caller's identities once.
func (s *Store) Identities() (*cipher.Identities, error) {
	s.idsOnce.Do(func() {
		s.ids, s.idsErr = cipher.LoadIdentities(s.opts.Identity)
	})
	return s.ids, s.idsErr
}

// Result describes what a mutation did.
type Result struct {
	// Commit is the new commit; zero when nothing changed or when staged.
	Commit repo.Hash
	// Changed reports whether anything was written.
	Changed bool
	// Staged reports that the change was written and staged, not committed.
	Staged bool
	// Subject is the commit message's first line.
	Subject string
	// Paths are the repository paths written or removed.
	Paths []string
}

// WriteOptions apply to every mutation.
type WriteOptions struct {
	// Stage writes and stages the change instead of committing it.
	Stage bool
}

// InitOptions configure Init.
type InitOptions struct {
	// Env is the first environment, and the store's default; DefaultEnv when empty.
	Env string
	// Recipients may read the first environment. At least one is required.
	Recipients []cipher.Recipient
	WriteOptions
}

// Init creates the store with one environment whose data key is wrapped for
// opts.Recipients, in one commit.
func (s *Store) Init(ctx context.Context, opts InitOptions) (Result, error) {
	env := opts.Env
	if env == "" {
		env = DefaultEnv
	}
	if err := validEnv(env); err != nil {
		return Result{}, err
	}
	if len(opts.Recipients) == 0 {
		return Result{}, fmt.Errorf("init: no recipients: %w", ErrInvalid)
	}
	lock, tip, err := s.lockForInit(ctx)
	if err != nil {
		return Result{}, err
	}
	defer lock.Unlock()
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return Result{}, err
	}
	m := meta{Format: storeFormat, ID: hex.EncodeToString(id), DefaultEnv: env}
	dk, err := cipher.NewDataKey()
	if err != nil {
		return Result{}, err
	}
	wrapped, err := cipher.WrapDataKey(dk, opts.Recipients)
	if err != nil {
		return Result{}, fmt.Errorf("init: wrapping the data key: %w", err)
	}
	changes := []repo.Change{
		{Path: storePath, Data: m.marshal()},
		{Path: recipientsPath(env), Data: cipher.FormatRecipients(opts.Recipients)},
		{Path: dataKeyPath(env), Data: wrapped},
	}
	msg := message("init", fmt.Sprintf("init store, environment %s", env), env, "")
	return s.commit(ctx, tip, changes, msg, opts.WriteOptions)
}

// lockForInit takes the repository lock and returns the branch tip (zero on
// an unborn branch), failing with ErrExists if the tip already has a store.
func (s *Store) lockForInit(ctx context.Context) (*repo.Lock, repo.Hash, error) {
	lock, err := s.repo.Lock(ctx)
	if err != nil {
		return nil, repo.ZeroHash, err
	}
	head, err := s.repo.Head()
	if err == nil && !head.Commit.IsZero() {
		_, _, err = s.repo.FileAt(head.Commit, storePath)
		switch {
		case err == nil:
			err = fmt.Errorf("init: %s already has a store (%s): %w", s.repo.WorkTree(), storePath, ErrExists)
		case isNotFound(err):
			err = nil
		}
	}
	if err != nil {
		lock.Unlock()
		return nil, repo.ZeroHash, err
	}
	return lock, head.Commit, nil
}

// message builds a commit message: a subject saying what changed and
// trailers a script can read.
func message(action, what, env, name string) string {
	msg := "gitseal: " + what + "\n\nGitseal-Action: " + action + "\n"
	if env != "" {
		msg += "Gitseal-Env: " + env + "\n"
	}
	if name != "" {
		msg += "Gitseal-Secret: " + name + "\n"
	}
	return msg
}

func subject(msg string) string {
	for i := 0; i < len(msg); i++ {
		if msg[i] == '\n' {
			return msg[:i]
		}
	}
	return msg
}

func (s *Store) commit(ctx context.Context, tip repo.Hash, changes []repo.Change, msg string, w WriteOptions) (Result, error) {
	res := Result{Subject: subject(msg), Staged: w.Stage}
	for _, c := range changes {
		res.Paths = append(res.Paths, c.Path)
	}
	if len(changes) == 0 {
		return res, nil
	}
	cr, err := s.repo.CommitChanges(ctx, repo.CommitRequest{Changes: changes, Message: msg, Expect: tip, ExpectSet: true, Stage: w.Stage, NoSign: s.opts.NoSign})
	if err != nil {
		return Result{}, err
	}
	res.Changed = true
	if !w.Stage {
		res.Commit = cr.Commit
	}
	return res, nil
}
