package publish

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gitseal/gitseal/cipher"
	"github.com/gitseal/gitseal/repo"
	"github.com/gitseal/gitseal/versioning"
)

// Conditions callers branch on. They are the same values as versioning's, so
// one errors.Is check works for the CLI and the loader alike.
var (
	// ErrNotFound: the secret or key does not exist at the commit read, or
	// an environment is not published.
	ErrNotFound = versioning.ErrNotFound
	// ErrEnvNotFound: the environment does not exist at the commit read.
	ErrEnvNotFound = versioning.ErrEnvNotFound
)

// Options configure Open.
type Options struct {
	// Dir is a directory inside the repository; "." when empty. Ignored
	// when Bundle is set.
	Dir string
	// Env is the environment; "" means GITSEAL_ENV, then the pin file's,
	// then the store's default.
	Env string
	// Ref, when set, is the revision to read, overriding everything else.
	Ref string
	// PinFile is a pin file written by `gitseal publish --pin-file`; ""
	// means GITSEAL_PIN_FILE.
	PinFile string
	// Bundle is a file written by `gitseal bundle`: when set, no repository
	// is read, and Ref, PinFile, GITSEAL_REF and GITSEAL_PIN_FILE are not
	// consulted (a bundle holds one commit).
	Bundle string
	// Remote, when set, is a git URL (or path) to load from instead of a
	// local repository: the commit is chosen as Resolve does, from the
	// remote's refs, and only that commit's objects are fetched, into
	// memory (see FORMAT.md §5). Ref may then be a commit id or a ref name
	// of the remote. Dir is not read.
	Remote string
	// TrustedPublishers, when set, are SSH public keys (authorized_keys or
	// allowed_signers lines), or paths of files of them: the commit read
	// must then have a publish record signed by one of them (FORMAT.md
	// §6), or Open fails with an error wrapping cipher.ErrUntrusted. Empty
	// means GITSEAL_TRUST (one key or file per line); both empty, no
	// signature is required.
	TrustedPublishers []string
	// Identity says where to find the identity that unwraps the data key.
	Identity cipher.IdentitySource
	// Passphrase, when set, unlocks the environment's passphrase recipient.
	Passphrase string
	// Getenv reads GITSEAL_* variables; nil means os.Getenv.
	Getenv func(string) string
}

// Secrets are one environment's secrets and named keys as they were at one
// commit. Values are decrypted when asked for, not at Open; the data key is
// unwrapped once. Its methods are safe for concurrent use.
type Secrets struct {
	src      source
	env      string
	storeID  string
	commit   repo.Hash
	from     string
	sdirOnce sync.Once
	sdir     string

	namesOnce  sync.Once
	names      []string
	namesErr   error
	identity   cipher.IdentitySource
	passphrase string
	closeFn    func() error
	// loadIdentities, when set, waits for the identities Open started
	// loading; otherwise unwrap loads them itself.
	loadIdentities func() (*cipher.Identities, error)

	dkOnce sync.Once
	dkDone atomic.Bool // dkOnce has run
	dk     *cipher.DataKey
	dkErr  error

	mu       sync.Mutex
	keyrings map[string]*cipher.Keyring
}

// Open opens an environment's secrets at the commit chosen as DESIGN §5
// says (see Resolve), or from a bundle.
func Open(ctx context.Context, o Options) (*Secrets, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if o.Bundle != "" && o.Remote != "" {
		return nil, fmt.Errorf("opening secrets: Options.Bundle and Options.Remote are exclusive")
	}
	load := identitiesAside(o.Identity)
	s, err := open(ctx, o)
	if err != nil {
		return nil, err
	}
	s.loadIdentities = load
	return s, nil
}

func open(ctx context.Context, o Options) (*Secrets, error) {
	if o.Bundle != "" {
		return openBundle(o)
	}
	if o.Remote != "" {
		return openRemote(ctx, o)
	}
	dir := o.Dir
	if dir == "" {
		dir = "."
	}
	r, err := repo.Open(dir)
	if err != nil {
		return nil, err
	}
	s, err := openRepo(r, o)
	if err != nil {
		r.Close()
		return nil, err
	}
	return s, nil
}

// identitiesAside starts loading the identities (reading their files, and
// an X25519 each to know its recipient) on another goroutine, beside
// opening the repository and choosing the commit, and returns what waits
// for them. They are only read, never used, until a value is asked for: a
// file that does not parse is reported then, as before, not by Open.
func identitiesAside(src cipher.IdentitySource) func() (*cipher.Identities, error) {
	var ids *cipher.Identities
	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		ids, err = cipher.LoadIdentities(src)
	}()
	return func() (*cipher.Identities, error) {
		<-done
		return ids, err
	}
}

func openRepo(r *repo.Repo, o Options) (*Secrets, error) {
	keys, err := trustedKeys(o)
	if err != nil {
		return nil, err
	}
	res, err := Resolve(r, ResolveOptions{Env: o.Env, Ref: o.Ref, PinFile: o.PinFile, Getenv: o.Getenv})
	if err != nil {
		return nil, err
	}
	id, err := checkEnvAt(r, res.Commit, res.Env)
	if err != nil {
		return nil, fmt.Errorf("reading %s (from %s): %w", res.Env, res.From, err)
	}
	if res.StoreID != "" && res.StoreID != id {
		return nil, fmt.Errorf("the pin file was written for store %s, but this repository's store is %s", res.StoreID, id)
	}
	if keys != nil {
		tip, err := current(r, HistoryRef(res.Env))
		if err != nil {
			return nil, err
		}
		if err := verifyTrust(r, tip, res.Env, id, res.Commit, res.From, keys, true); err != nil {
			return nil, err
		}
	}
	src := &repoSource{r: r, commit: res.Commit}
	s := &Secrets{src: src, env: res.Env, storeID: id, commit: res.Commit, from: res.From,
		identity: o.Identity, passphrase: o.Passphrase, closeFn: r.Close}
	return s, nil
}

// secretsDir is the directory of the environment's secrets, built once.
func (s *Secrets) secretsDir() string {
	s.sdirOnce.Do(func() { s.sdir = versioning.SecretsDir(s.env) })
	return s.sdir
}

// Commit is the commit the secrets are read at.
func (s *Secrets) Commit() repo.Hash { return s.commit }

// Env is the environment read.
func (s *Secrets) Env() string { return s.env }

// From says how the commit was chosen: FromRef, FromEnvRef, FromPinFile,
// FromPin, FromHead or FromBundle.
func (s *Secrets) From() string { return s.from }

// Names lists the secrets, sorted.
func (s *Secrets) Names() []string {
	names, _ := s.listNames()
	return append([]string(nil), names...)
}

// listNames lists the secrets once, when first asked: a service that reads
// one secret never pays for listing a thousand.
func (s *Secrets) listNames() ([]string, error) {
	s.namesOnce.Do(func() {
		s.names, s.namesErr = s.src.dir(s.secretsDir())
		if s.namesErr != nil {
			s.namesErr = fmt.Errorf("listing the secrets of %s at %s: %w", s.env, s.commit.String()[:7], s.namesErr)
		}
	})
	return s.names, s.namesErr
}

// Close releases the repository, if one was opened.
func (s *Secrets) Close() error {
	if s.closeFn == nil {
		return nil
	}
	return s.closeFn()
}

func (s *Secrets) dataKey() (*cipher.DataKey, error) {
	s.dkOnce.Do(func() {
		s.dk, s.dkErr = s.unwrap()
		s.dkDone.Store(true)
	})
	return s.dk, s.dkErr
}

// closed is a closed channel.
var closed = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// unwrapAside starts unwrapping the data key (reading the identities, an
// X25519 or two, reading two files) on another goroutine, so that it runs
// beside the reading of the secrets, and returns a channel closed when it
// is done. The caller must wait for it before it returns: the unwrapping
// reads from the source, which Close may release. Its error is the one
// dataKey returns; a caller that needs no key ignores it.
func (s *Secrets) unwrapAside() <-chan struct{} {
	if s.dkDone.Load() {
		return closed
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.dataKey()
	}()
	return done
}

func (s *Secrets) unwrap() (*cipher.DataKey, error) {
	if s.passphrase != "" {
		if wrapped, err := s.src.file(versioning.PassphrasePath(s.env)); err == nil {
			dk, err := cipher.UnwrapDataKeyPassphrase(wrapped, s.passphrase)
			if err == nil {
				return dk, nil
			}
			if !errors.Is(err, cipher.ErrSecret) {
				return nil, fmt.Errorf("unlocking %s with the passphrase: %w", s.env, err)
			}
		}
	}
	wrapped, err := s.src.file(versioning.DataKeyPath(s.env))
	if err != nil {
		return nil, fmt.Errorf("reading the data key of %s: %w", s.env, err)
	}
	var ids *cipher.Identities
	if s.loadIdentities != nil {
		ids, err = s.loadIdentities()
	} else {
		ids, err = cipher.LoadIdentities(s.identity)
	}
	if err != nil {
		return nil, err
	}
	// The recipients, in wrap order, let each identity try its own stanza
	// first (one X25519 instead of half the team's); unreadable, they are
	// only a lost shortcut.
	var order []cipher.Recipient
	if data, err := s.src.file(versioning.RecipientsPath(s.env)); err == nil {
		order, _ = cipher.ParseRecipients(data)
	}
	dk, err := cipher.UnwrapDataKeyFor(wrapped, ids, order)
	if err != nil {
		return nil, fmt.Errorf("environment %s at %s: %w", s.env, s.commit.String()[:7], err)
	}
	return dk, nil
}

func (s *Secrets) open(kind, name string, sealed []byte) ([]byte, error) {
	if versioning.IsConflict(sealed) { // a merge conflict committed as is
		return nil, &versioning.SecretError{Env: s.env, Name: name, Commit: s.commit, Err: versioning.ConflictError(s.env, kind, name)}
	}
	dk, err := s.dataKey()
	if err != nil {
		return nil, err
	}
	b := cipher.Binding{StoreID: s.storeID, Env: s.env, Kind: kind, Name: name}
	v, err := cipher.Open(dk, b, sealed)
	if err != nil {
		return nil, &versioning.SecretError{Env: s.env, Name: name, Commit: s.commit, Err: err}
	}
	return v, nil
}

// Get decrypts one secret. A secret that does not exist gives an error
// wrapping ErrNotFound; one that does not decrypt, cipher.ErrSecret.
func (s *Secrets) Get(name string) ([]byte, error) {
	if err := cipher.ValidName(name); err != nil {
		return nil, fmt.Errorf("secret name: %w: %w", err, versioning.ErrInvalid)
	}
	unwrapped := s.unwrapAside()
	sealed, err := s.src.fileIn(s.secretsDir(), name)
	<-unwrapped
	if errors.Is(err, errNoFile) {
		return nil, fmt.Errorf("secret %s does not exist in %s at %s: %w", name, s.env, s.commit.String()[:7], ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	return s.open(cipher.KindSecret, name, sealed)
}

// All decrypts every secret. It fails as Get would on the first secret, in
// name order, that does not decrypt.
func (s *Secrets) All() (map[string][]byte, error) {
	unwrapped := s.unwrapAside()
	names, err := s.listNames()
	<-unwrapped
	if err != nil {
		return nil, err
	}
	if len(names) > 0 {
		if _, err := s.dataKey(); err != nil {
			return nil, err
		}
	}
	// Each secret is decrypted as it is read, on the reading goroutines
	// (which may be several): only the values are kept, not the files.
	values := make([][]byte, len(names))
	errs := make([]error, len(names))
	err = s.src.eachFile(s.secretsDir(), names, func(i int, sealed []byte) error {
		values[i], errs[i] = s.open(cipher.KindSecret, names[i], sealed)
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(names))
	for i, n := range names {
		if errs[i] != nil {
			return nil, errs[i]
		}
		out[n] = values[i]
	}
	return out, nil
}

func (s *Secrets) keyring(name string) (*cipher.Keyring, error) {
	if err := cipher.ValidName(name); err != nil {
		return nil, fmt.Errorf("key name: %w: %w", err, versioning.ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if k, ok := s.keyrings[name]; ok {
		return k, nil
	}
	sealed, err := s.src.file(versioning.KeyPath(s.env, name))
	if errors.Is(err, errNoFile) {
		return nil, fmt.Errorf("key %s does not exist in %s at %s: %w", name, s.env, s.commit.String()[:7], ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	plain, err := s.open(cipher.KindKeyring, name, sealed)
	if err != nil {
		return nil, err
	}
	k, err := cipher.UnmarshalKeyring(plain)
	if err != nil {
		return nil, &versioning.SecretError{Env: s.env, Name: name, Commit: s.commit, Err: err}
	}
	if s.keyrings == nil {
		s.keyrings = map[string]*cipher.Keyring{}
	}
	s.keyrings[name] = k
	return k, nil
}

// EncryptWithKey encrypts plaintext (valid UTF-8) with the named key's
// primary version, in the hosted platform's payload format.
func (s *Secrets) EncryptWithKey(name string, plaintext []byte) (string, error) {
	k, err := s.keyring(name)
	if err != nil {
		return "", err
	}
	return k.Encrypt(plaintext)
}

// DecryptWithKey decrypts a payload made with any version of the named key.
// A wrong or tampered payload gives an error wrapping cipher.ErrSecret.
func (s *Secrets) DecryptWithKey(name, payload string) ([]byte, error) {
	k, err := s.keyring(name)
	if err != nil {
		return nil, err
	}
	return k.Decrypt(payload)
}

// errNoFile: a source has no file at that path.
var errNoFile = errors.New("no such file")

// source is where an environment's files come from: git objects at a
// commit, or a bundle.
type source interface {
	// file returns a file's content; errNoFile when it is absent.
	file(p string) ([]byte, error)
	// fileIn is file(dir + "/" + name), without building the path: reading
	// a thousand secrets is the runtime's hot path.
	fileIn(dir, name string) ([]byte, error)
	// dir lists the valid names of regular files in a directory, sorted;
	// nil when the directory is absent.
	dir(p string) ([]string, error)
	// eachFile is fileIn for many names of one directory: it calls
	// fn(i, content of names[i]) for every i, in any order and possibly
	// from several goroutines at once. The content is lent until fn
	// returns, and fn must not read from the source. A name that is absent
	// fails as fileIn does; an error from fn stops the calls and is
	// returned.
	eachFile(dir string, names []string, fn func(i int, data []byte) error) error
}

// eachFileOneByOne is eachFile for a source that has nothing faster.
func eachFileOneByOne(src source, dir string, names []string, fn func(int, []byte) error) error {
	for i, n := range names {
		b, err := src.fileIn(dir, n)
		if err != nil {
			return fileErr(n, err)
		}
		if err := fn(i, b); err != nil {
			return err
		}
	}
	return nil
}

// fileErr names the secret a source could not read.
func fileErr(name string, err error) error {
	if errors.Is(err, errNoFile) {
		return fmt.Errorf("secret %s: %w", name, ErrNotFound)
	}
	return err
}

// repoSource reads git objects at one commit. Directory listings are cached,
// so reading every secret costs one tree read, not one per secret (reading
// each path from the root tree re-parsed the secrets tree every time: 2.5 s
// for 1000 secrets); a file read before its directory is listed is looked up
// alone, so Open + Get of one secret lists nothing.
type repoSource struct {
	r      objectReader
	commit repo.Hash

	mu   sync.Mutex
	dirs map[string]*listing
}

// listing is one directory's entries in tree order. Git keeps tree entries
// sorted (by name, a directory's name taken with a trailing '/'), so a name
// is found by binary search; a tree that is not sorted is searched linearly.
type listing struct {
	entries []repo.TreeEntry
	sorted  bool
}

func treeKey(e repo.TreeEntry) string {
	if e.Mode.IsDir() {
		return e.Name + "/"
	}
	return e.Name
}

func newListing(entries []repo.TreeEntry) *listing {
	l := &listing{entries: entries, sorted: true}
	for i := 1; i < len(entries); i++ {
		if treeKey(entries[i-1]) >= treeKey(entries[i]) {
			l.sorted = false
			break
		}
	}
	return l
}

// find returns the entry of a file (not a directory) called name.
func (l *listing) find(name string) (repo.TreeEntry, bool) {
	if l.sorted {
		i := sort.Search(len(l.entries), func(i int) bool { return treeKey(l.entries[i]) >= name })
		if i < len(l.entries) && l.entries[i].Name == name && !l.entries[i].Mode.IsDir() {
			return l.entries[i], true
		}
		return repo.TreeEntry{}, false
	}
	for _, e := range l.entries {
		if e.Name == name && !e.Mode.IsDir() {
			return e, true
		}
	}
	return repo.TreeEntry{}, false
}

func (rs *repoSource) listing(dir string) (*listing, error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if l, ok := rs.dirs[dir]; ok {
		return l, nil
	}
	list, err := rs.r.DirAt(rs.commit, dir)
	if errors.Is(err, repo.ErrPathNotFound) {
		list, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	if rs.dirs == nil {
		rs.dirs = map[string]*listing{}
	}
	l := newListing(list)
	rs.dirs[dir] = l
	return l, nil
}

func (rs *repoSource) file(p string) ([]byte, error) {
	dir, base := path.Split(p)
	return rs.fileIn(strings.TrimSuffix(dir, "/"), base)
}

func (rs *repoSource) fileIn(dir, name string) ([]byte, error) {
	rs.mu.Lock()
	l, listed := rs.dirs[dir]
	rs.mu.Unlock()
	var e repo.TreeEntry
	if listed {
		var ok bool
		if e, ok = l.find(name); !ok {
			return nil, errNoFile
		}
	} else {
		var err error
		if e, err = rs.r.TreeEntryAt(rs.commit, dir+"/"+name); errors.Is(err, repo.ErrPathNotFound) {
			return nil, errNoFile
		} else if err != nil {
			return nil, err
		}
	}
	if e.Mode != repo.ModeFile && e.Mode != repo.ModeExec {
		return nil, errNoFile
	}
	return rs.r.ReadBlob(e.Hash)
}

// blobsReader reads many blobs at once (a *repo.Repo does, in parallel).
type blobsReader interface {
	EachBlob(hs []repo.Hash, fn func(i int, data []byte) error) error
}

func (rs *repoSource) eachFile(dir string, names []string, fn func(int, []byte) error) error {
	br, ok := rs.r.(blobsReader)
	if !ok {
		return eachFileOneByOne(rs, dir, names, fn)
	}
	l, err := rs.listing(dir)
	if err != nil {
		return err
	}
	hs := make([]repo.Hash, len(names))
	for i, n := range names {
		e, ok := l.find(n)
		if !ok || (e.Mode != repo.ModeFile && e.Mode != repo.ModeExec) {
			return fileErr(n, errNoFile)
		}
		hs[i] = e.Hash
	}
	return br.EachBlob(hs, fn)
}

func (rs *repoSource) dir(p string) ([]string, error) {
	l, err := rs.listing(p)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(l.entries))
	for _, e := range l.entries {
		if e.Mode == repo.ModeFile && cipher.ValidName(e.Name) == nil {
			names = append(names, e.Name)
		}
	}
	if !l.sorted {
		sort.Strings(names)
	}
	return names, nil
}

type mapSource map[string][]byte

func (m mapSource) eachFile(dir string, names []string, fn func(int, []byte) error) error {
	return eachFileOneByOne(m, dir, names, fn)
}

func (m mapSource) fileIn(dir, name string) ([]byte, error) { return m.file(dir + "/" + name) }

func (m mapSource) file(p string) ([]byte, error) {
	if data, ok := m[p]; ok {
		return data, nil
	}
	return nil, errNoFile
}

func (m mapSource) dir(p string) ([]string, error) {
	var names []string
	for k := range m {
		if rest, ok := strings.CutPrefix(k, p+"/"); ok && path.Base(k) == rest && cipher.ValidName(rest) == nil {
			names = append(names, rest)
		}
	}
	sort.Strings(names)
	return names, nil
}
