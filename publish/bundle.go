package publish

// A bundle (FORMAT.md §4) is one environment's files, still encrypted, at one
// commit, in one file, for images that ship without .git. Its last line seals
// a SHA-256 digest of everything before it under the environment's data key,
// so a bundle opens only if no byte of it changed, and only a holder of the
// data key can make one.

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/gitseal/gitseal/cipher"
	"github.com/gitseal/gitseal/repo"
	"github.com/gitseal/gitseal/versioning"
)

const (
	bundleTag = "gitseal-bundle v1"
	// maxBundle bounds what is read as a bundle.
	maxBundle = 256 << 20
	// manifestName is the binding name of the bundle seal; its Env is
	// "<env>/bundle", which no environment name can be, so the seal cannot
	// be confused with, or swapped for, any secret.
	manifestName = "manifest"
)

func manifestBinding(storeID, env string) cipher.Binding {
	return cipher.Binding{StoreID: storeID, Env: env + "/bundle", Kind: cipher.KindSecret, Name: manifestName}
}

// BundleInfo describes a bundle.
type BundleInfo struct {
	Env     string
	Commit  repo.Hash
	StoreID string
	// Files is how many files it carries.
	Files int
}

// BundleOptions configure WriteBundle.
type BundleOptions struct {
	// Env is the environment to bundle.
	Env string
	// Rev is the commit to bundle; "" means env's pin.
	Rev string
	// Identity and Passphrase unwrap the data key that seals the bundle.
	Identity   cipher.IdentitySource
	Passphrase string
}

// WriteBundle writes env's files at its pin (or at o.Rev) to w. It needs an
// identity that can unwrap the environment's data key.
func WriteBundle(w io.Writer, r *repo.Repo, o BundleOptions) (BundleInfo, error) {
	env := o.Env
	if err := validEnv(env); err != nil {
		return BundleInfo{}, err
	}
	var c repo.Hash
	var err error
	if o.Rev != "" {
		if c, err = r.ResolveCommit(o.Rev); err != nil {
			return BundleInfo{}, fmt.Errorf("bundle %s: %w", env, err)
		}
	} else {
		if c, err = current(r, PinRef(env)); err != nil {
			return BundleInfo{}, fmt.Errorf("bundle %s: %w", env, err)
		}
		if c.IsZero() {
			return BundleInfo{}, fmt.Errorf("bundle: %s is not published; publish it first (`gitseal publish %s`) or name a commit with --at: %w", env, env, ErrNotFound)
		}
	}
	id, err := checkEnvAt(r, c, env)
	if err != nil {
		return BundleInfo{}, fmt.Errorf("bundle %s: %w", env, err)
	}
	files := map[string][]byte{}
	if files[versioning.StorePath], _, err = r.FileAt(c, versioning.StorePath); err != nil {
		return BundleInfo{}, err
	}
	if err := collect(r, c, versioning.EnvDir(env), files); err != nil {
		return BundleInfo{}, fmt.Errorf("bundle %s: %w", env, err)
	}
	if rec, ok, err := recordOf(r, env, c); err != nil {
		return BundleInfo{}, fmt.Errorf("bundle %s: %w", env, err)
	} else if ok {
		files[bundleRecord] = rec.Marshal()
		if rec.Signature != nil {
			files[bundleSignature] = rec.Signature
		}
	}
	s := &Secrets{src: &repoSource{r: r, commit: c}, env: env, storeID: id, commit: c,
		identity: o.Identity, passphrase: o.Passphrase}
	dk, err := s.dataKey()
	if err != nil {
		return BundleInfo{}, fmt.Errorf("bundle %s: %w", env, err)
	}
	info := BundleInfo{Env: env, Commit: c, StoreID: id, Files: len(files)}
	body := bundleBody(info, files)
	digest := sha256.Sum256(body)
	seal, err := cipher.Seal(dk, manifestBinding(id, env), digest[:])
	if err != nil {
		return BundleInfo{}, fmt.Errorf("bundle %s: sealing: %w", env, err)
	}
	if _, err := w.Write(append(append(body, "seal "...), seal...)); err != nil {
		return BundleInfo{}, fmt.Errorf("bundle %s: %w", env, err)
	}
	return info, nil
}

// recordOf finds the newest publish record of env that pins c, if any.
func recordOf(r *repo.Repo, env string, c repo.Hash) (Record, bool, error) {
	recs, err := History(r, env)
	if err != nil {
		return Record{}, false, err
	}
	for _, rec := range recs {
		if rec.Action == ActionPublish && rec.Commit == c {
			return rec, true, nil
		}
	}
	return Record{}, false, nil
}

// collect adds every regular file under dir at c to files.
func collect(r *repo.Repo, c repo.Hash, dir string, files map[string][]byte) error {
	entries, err := r.DirAt(c, dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		p := dir + "/" + e.Name
		switch {
		case e.Mode.IsDir():
			if err := collect(r, c, p, files); err != nil {
				return err
			}
		case e.Mode == repo.ModeFile || e.Mode == repo.ModeExec:
			data, err := r.ReadBlob(e.Hash)
			if err != nil {
				return err
			}
			files[p] = data
		}
	}
	return nil
}

func bundleBody(info BundleInfo, files map[string][]byte) []byte {
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\nenv %s\ncommit %s\nstore %s\nfiles %d\n", bundleTag, info.Env, info.Commit, info.StoreID, len(paths))
	for _, p := range paths {
		fmt.Fprintf(&b, "file %s %d\n", p, len(files[p]))
		b.Write(files[p])
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// parseBundle checks a bundle's structure (not its seal) and returns its
// header, files, body and seal. Damage after a valid tag is reported as
// cipher.ErrSecret: it can only come from corruption or tampering.
func parseBundle(data []byte) (BundleInfo, map[string][]byte, []byte, []byte, error) {
	var info BundleInfo
	tag, _, _ := bytes.Cut(data, []byte("\n"))
	if string(tag) != bundleTag {
		if bytes.HasPrefix(tag, []byte("gitseal-bundle ")) {
			return info, nil, nil, nil, fmt.Errorf("bundle version %q is not known to this gitseal; upgrade gitseal: %w", clip(string(tag)), cipher.ErrUnknownVersion)
		}
		return info, nil, nil, nil, errors.New("not a gitseal bundle")
	}
	damaged := func(what string) error {
		return fmt.Errorf("bundle is damaged or was tampered with (%s): %w", what, cipher.ErrSecret)
	}
	rest := data[len(tag)+1:]
	line := func() (string, bool) {
		l, after, ok := bytes.Cut(rest, []byte("\n"))
		if !ok {
			return "", false
		}
		rest = after
		return string(l), true
	}
	field := func(key string) (string, error) {
		l, ok := line()
		v, found := strings.CutPrefix(l, key+" ")
		if !ok || !found || v == "" {
			return "", damaged("header " + key)
		}
		return v, nil
	}
	var err error
	if info.Env, err = field("env"); err != nil {
		return info, nil, nil, nil, err
	}
	if validEnv(info.Env) != nil {
		return info, nil, nil, nil, damaged("environment name")
	}
	v, err := field("commit")
	if err != nil {
		return info, nil, nil, nil, err
	}
	if info.Commit, err = repo.ParseHash(v); err != nil {
		return info, nil, nil, nil, damaged("commit id")
	}
	if info.StoreID, err = field("store"); err != nil {
		return info, nil, nil, nil, err
	}
	if v, err = field("files"); err != nil {
		return info, nil, nil, nil, err
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1<<20 {
		return info, nil, nil, nil, damaged("file count")
	}
	files := make(map[string][]byte, n)
	prev := ""
	for i := 0; i < n; i++ {
		v, err := field("file")
		if err != nil {
			return info, nil, nil, nil, err
		}
		p, size, ok := strings.Cut(v, " ")
		sz, err := strconv.Atoi(size)
		if !ok || err != nil || sz < 0 || sz >= len(rest) || rest[sz] != '\n' || p <= prev || !bundlePathOK(info.Env, p) {
			return info, nil, nil, nil, damaged("file entry " + fmt.Sprint(i+1))
		}
		files[p] = rest[:sz:sz]
		rest = rest[sz+1:]
		prev = p
	}
	body := data[:len(data)-len(rest)]
	seal, ok := bytes.CutPrefix(rest, []byte("seal "))
	if !ok || len(seal) == 0 || bytes.IndexByte(seal, '\n') != len(seal)-1 {
		return info, nil, nil, nil, damaged("seal")
	}
	info.Files = n
	return info, files, body, seal, nil
}

// bundlePathOK: store.json, the publish record and its signature, or a
// clean path inside the environment's directory.
func bundlePathOK(env, p string) bool {
	if p == versioning.StorePath || p == bundleRecord || p == bundleSignature {
		return true
	}
	return strings.HasPrefix(p, versioning.EnvDir(env)+"/") && path.Clean(p) == p && !strings.Contains(p, "/.")
}

// ReadBundleInfo reads a bundle's header and checks its structure, without a
// key: it does not prove that the bundle was not tampered with.
func ReadBundleInfo(file string) (BundleInfo, error) {
	data, err := readBundleFile(file)
	if err != nil {
		return BundleInfo{}, err
	}
	info, _, _, _, err := parseBundle(data)
	if err != nil {
		return BundleInfo{}, fmt.Errorf("reading bundle %s: %w", file, err)
	}
	return info, nil
}

func readBundleFile(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("reading bundle: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxBundle+1))
	if err != nil {
		return nil, fmt.Errorf("reading bundle %s: %w", file, err)
	}
	if len(data) > maxBundle {
		return nil, fmt.Errorf("reading bundle %s: larger than %d bytes", file, maxBundle)
	}
	return data, nil
}

// openBundle opens a bundle: it checks the structure, unwraps the data key
// and checks the seal before anything is returned.
func openBundle(o Options) (*Secrets, error) {
	keys, err := trustedKeys(o)
	if err != nil {
		return nil, err
	}
	data, err := readBundleFile(o.Bundle)
	if err != nil {
		return nil, err
	}
	info, files, body, seal, err := parseBundle(data)
	if err != nil {
		return nil, fmt.Errorf("reading bundle %s: %w", o.Bundle, err)
	}
	env := o.Env
	if env == "" && o.Getenv != nil {
		env = o.Getenv(envVarEnv)
	}
	if env != "" && env != info.Env {
		return nil, fmt.Errorf("bundle %s holds environment %s, not %s: %w", o.Bundle, info.Env, env, ErrEnvNotFound)
	}
	s := &Secrets{src: mapSource(files), env: info.Env, storeID: info.StoreID, commit: info.Commit, from: FromBundle,
		identity: o.Identity, passphrase: o.Passphrase}
	if _, ok := files[versioning.DataKeyPath(info.Env)]; !ok {
		return nil, fmt.Errorf("reading bundle %s: no data key for %s: %w", o.Bundle, info.Env, cipher.ErrSecret)
	}
	dk, err := s.dataKey()
	if err != nil {
		return nil, fmt.Errorf("reading bundle %s: %w", o.Bundle, err)
	}
	want, err := cipher.Open(dk, manifestBinding(info.StoreID, info.Env), seal)
	got := sha256.Sum256(body)
	if err != nil || subtle.ConstantTimeCompare(want, got[:]) != 1 {
		return nil, fmt.Errorf("reading bundle %s: bundle is damaged or was tampered with (its seal does not match its content): %w", o.Bundle, cipher.ErrSecret)
	}
	// Only now, with the content proven, is store.json read.
	storeFile, ok := files[versioning.StorePath]
	if !ok {
		return nil, fmt.Errorf("reading bundle %s: no %s: %w", o.Bundle, versioning.StorePath, cipher.ErrSecret)
	}
	st, err := versioning.ParseStoreFile(storeFile)
	if err != nil {
		return nil, fmt.Errorf("reading bundle %s: %w", o.Bundle, err)
	}
	if st.ID != info.StoreID {
		return nil, fmt.Errorf("reading bundle %s: header and store.json disagree on the store id: %w", o.Bundle, cipher.ErrSecret)
	}
	if keys != nil {
		if err := verifyBundleTrust(files, info, keys); err != nil {
			return nil, fmt.Errorf("reading bundle %s: %w", o.Bundle, err)
		}
	}
	return s, nil
}

// verifyBundleTrust checks the publish record a bundle carries, as
// verifyTrust checks a repository's (the bundle's seal already proved the
// bytes are the ones bundled).
func verifyBundleTrust(files map[string][]byte, info BundleInfo, keys *cipher.TrustedKeys) error {
	data, ok := files[bundleRecord]
	if !ok {
		return fmt.Errorf("refusing %s at %s (from bundle): trusted publishers are set, and the bundle carries no publish record (bundle a signed publish: `gitseal publish --sign`, then `gitseal bundle`): %w",
			info.Env, info.Commit.String()[:7], cipher.ErrUntrusted)
	}
	rec, err := ParseRecord(data)
	if err != nil {
		return fmt.Errorf("%v: %w", err, cipher.ErrUntrusted)
	}
	rec.Signature = files[bundleSignature]
	if err := checkRecord(rec, info.Env, info.StoreID, info.Commit, keys); err != nil {
		return fmt.Errorf("refusing %s at %s (from bundle): %w", info.Env, info.Commit.String()[:7], err)
	}
	return nil
}
