package versioning

// Git's diff and merge drivers (DESIGN §8). Git hands them file contents
// only, never the commit they came from: textconv gets a temporary file
// named after the secret (".../git-blob-XXXXXX/NAME", or "XXXXXX_NAME" in
// older git) or, for an up-to-date work-tree file, its path from the
// repository root; the merge driver gets three temporary files and the real
// path (%P). So the data key that opens a sealed file must be found rather
// than read at a known commit: keyFinder tries the data keys of the commits
// in play, widening the search only when the closer ones fail.
//
// Invariants:
//
//   - Nothing these drivers write contains plaintext: a merged value is
//     sealed again before it is written, and a conflict is written as the
//     three sealed inputs, which are already in the repository.
//   - textconv never fails in a way that breaks `git log -p`: a file it
//     cannot open becomes one placeholder line that still changes when the
//     sealed file changes.
//   - The merge result is sealed under the data key of the merged tree: the
//     key of the side that changed the environment's data key (a rotation),
//     or the common one. When both sides changed it differently there is no
//     such key and the file is left in conflict.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/gitseal/gitseal/cipher"
	"github.com/gitseal/gitseal/repo"
)

const conflictTag = "gitseal:conflict:v1"

// IsConflict reports whether a secret or key file is a merge conflict
// written by the merge driver (see MergeSealed).
func IsConflict(data []byte) bool {
	return bytes.HasPrefix(data, []byte(conflictTag+"\n"))
}

// ConflictError describes a conflict file for a person: the commands that
// resolve it (the caller names the secret).
func ConflictError(env, kind, name string) error {
	return fmt.Errorf("%w between two branches that both changed it; resolve it with %s", ErrConflict, conflictFix(env, kind, name))
}

func conflictFix(env, kind, name string) string {
	if kind == cipher.KindKeyring {
		return fmt.Sprintf("`gitseal --env %s key import %s --stage` with the key it should have, then `git commit`", env, name)
	}
	return fmt.Sprintf("`gitseal --env %s set %s --stage` with the value it should have, then `git commit`", env, name)
}

// sealedPath is what a path under .gitseal says about a sealed file.
type sealedPath struct {
	env, kind, name string
}

// parseSealedPath reads env, kind and name from a repository path whose
// last four parts are .gitseal/ENV/secrets/NAME or .gitseal/ENV/keys/NAME,
// such as ".gitseal/prod/secrets/DB_PASSWORD".
func parseSealedPath(p string) (sealedPath, bool) {
	parts := strings.Split(filepath.ToSlash(p), "/")
	if len(parts) < 4 {
		return sealedPath{}, false
	}
	parts = parts[len(parts)-4:]
	if parts[0] != ".gitseal" || cipher.ValidName(parts[1]) != nil || cipher.ValidName(parts[3]) != nil {
		return sealedPath{}, false
	}
	switch parts[2] {
	case "secrets":
		return sealedPath{env: parts[1], kind: cipher.KindSecret, name: parts[3]}, true
	case "keys":
		return sealedPath{env: parts[1], kind: cipher.KindKeyring, name: parts[3]}, true
	}
	return sealedPath{}, false
}

// candidate is a data key found at some commit, with what it binds to.
type candidate struct {
	storeID, env string
	dk           *cipher.DataKey
}

// keyFinder collects the data keys the caller's identities can unwrap, from
// the commits most likely to hold the one wanted first.
type keyFinder struct {
	s          *Store
	cands      []candidate
	wrapped    map[repo.Hash]bool // datakey.age blobs already tried
	commits    map[repo.Hash]bool // commits already scanned
	stage      int
	identities *cipher.Identities
	idErr      error
}

func (s *Store) newKeyFinder() *keyFinder {
	kf := &keyFinder{s: s, wrapped: map[repo.Hash]bool{}, commits: map[repo.Hash]bool{}}
	kf.identities, kf.idErr = s.Identities()
	return kf
}

// headCommits are the commits of the operation in progress: HEAD, the
// commits being merged (GITHEAD_<id> variables that git merge sets for its
// drivers, MERGE_HEAD and friends), and ORIG_HEAD.
func (kf *keyFinder) headCommits() []repo.Hash {
	r := kf.s.repo
	var out []repo.Hash
	if h, err := r.Head(); err == nil && !h.Commit.IsZero() {
		out = append(out, h.Commit)
	}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if hexID, ok := strings.CutPrefix(k, "GITHEAD_"); ok {
			if h, err := repo.ParseHash(hexID); err == nil {
				out = append(out, h)
			}
		}
	}
	for _, f := range []string{"MERGE_HEAD", "CHERRY_PICK_HEAD", "REVERT_HEAD", "REBASE_HEAD", "ORIG_HEAD"} {
		b, err := os.ReadFile(filepath.Join(r.GitDir(), f))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if h, err := repo.ParseHash(strings.TrimSpace(line)); err == nil {
				out = append(out, h)
			}
		}
	}
	return out
}

// branchTips are the local and remote-tracking branches' commits.
func (kf *keyFinder) branchTips() []repo.Hash {
	var out []repo.Hash
	for _, prefix := range []string{"refs/heads/", "refs/remotes/"} {
		refs, err := kf.s.repo.Refs(prefix)
		if err != nil {
			continue
		}
		names := make([]string, 0, len(refs))
		for n := range refs {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			out = append(out, refs[n])
		}
	}
	return out
}

// addCommit unwraps the data keys of every environment at c.
func (kf *keyFinder) addCommit(c repo.Hash) {
	if kf.commits[c] || kf.idErr != nil {
		return
	}
	kf.commits[c] = true
	r := kf.s.repo
	data, _, err := r.FileAt(c, storePath)
	if err != nil {
		return
	}
	m, err := parseMeta(data)
	if err != nil {
		return
	}
	entries, err := r.DirAt(c, Root)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.Mode != repo.ModeDir || cipher.ValidName(e.Name) != nil {
			continue
		}
		ent, err := r.TreeEntryAt(c, dataKeyPath(e.Name))
		if err != nil {
			continue
		}
		kf.addWrapped(m.ID, e.Name, ent.Hash)
	}
}

func (kf *keyFinder) addWrapped(storeID, env string, blob repo.Hash) {
	if kf.wrapped[blob] {
		return
	}
	kf.wrapped[blob] = true
	wrapped, err := kf.s.repo.ReadBlob(blob)
	if err != nil {
		return
	}
	dk, err := cipher.UnwrapDataKey(wrapped, kf.identities)
	if err != nil {
		return // not a recipient of that version: another may be
	}
	kf.cands = append(kf.cands, candidate{storeID: storeID, env: env, dk: dk})
}

// widen adds the next ring of commits; it reports false when there is
// nothing left to search.
func (kf *keyFinder) widen() bool {
	kf.stage++
	switch kf.stage {
	case 1:
		for _, c := range kf.headCommits() {
			kf.addCommit(c)
		}
	case 2:
		for _, c := range kf.branchTips() {
			kf.addCommit(c)
		}
	case 3:
		// Every version of every environment's data key in the history of
		// the commits above: old files are sealed under old keys.
		starts := append(kf.headCommits(), kf.branchTips()...)
		done := map[string]bool{}
		for _, start := range starts {
			data, _, err := kf.s.repo.FileAt(start, storePath)
			if err != nil {
				continue
			}
			m, err := parseMeta(data)
			if err != nil {
				continue
			}
			entries, err := kf.s.repo.DirAt(start, Root)
			if err != nil {
				continue
			}
			for _, e := range entries {
				key := start.String() + "/" + e.Name
				if e.Mode != repo.ModeDir || cipher.ValidName(e.Name) != nil || done[key] {
					continue
				}
				done[key] = true
				kf.s.repo.PathLog(start, dataKeyPath(e.Name), func(_ *repo.Commit, blob repo.Hash) error {
					if !blob.IsZero() {
						kf.addWrapped(m.ID, e.Name, blob)
					}
					return nil
				})
			}
		}
	default:
		return false
	}
	return true
}

// open finds a candidate that opens sealed as kind/name, in env when env is
// not empty. It returns the plaintext and the candidate, or an error
// wrapping cipher.ErrSecret (or the identity error) when none does.
func (kf *keyFinder) open(env, kind, name string, sealed []byte) ([]byte, candidate, error) {
	if err := cipher.CheckSealed(sealed); err != nil {
		return nil, candidate{}, err
	}
	tried := 0
	for {
		for _, c := range kf.cands[tried:] {
			if env != "" && c.env != env {
				continue
			}
			b := cipher.Binding{StoreID: c.storeID, Env: c.env, Kind: kind, Name: name}
			if v, err := cipher.Open(c.dk, b, sealed); err == nil {
				return v, c, nil
			}
		}
		tried = len(kf.cands)
		if !kf.widen() {
			break
		}
	}
	if kf.idErr != nil {
		return nil, candidate{}, kf.idErr
	}
	return nil, candidate{}, fmt.Errorf("%w: none of the data keys your identities unwrap opens it", cipher.ErrSecret)
}

// Textconv renders a sealed file for `git diff` and `git log -p`
// (diff.gitseal.textconv). file is the path git passes; content is its
// bytes. It never fails: what it cannot decrypt becomes a placeholder line.
func (s *Store) Textconv(file string, content []byte) []byte {
	if IsConflict(content) {
		return []byte("gitseal: unresolved merge conflict (" + shortSum(content) + ")\n")
	}
	if err := cipher.CheckSealed(content); err != nil {
		if errors.Is(err, cipher.ErrUnknownVersion) {
			return []byte("gitseal: sealed by a newer gitseal (" + shortSum(content) + ")\n")
		}
		return content // not a sealed file: show it as git would
	}
	kf := s.newKeyFinder()
	for _, c := range textconvCandidates(file) {
		v, _, err := kf.open(c.env, c.kind, c.name, content)
		if err != nil {
			continue
		}
		if c.kind == cipher.KindKeyring {
			return describeKeyring(v, content)
		}
		return renderValue(v)
	}
	return []byte("gitseal: sealed value; no identity of yours decrypts it (" + shortSum(content) + ")\n")
}

// textconvCandidates is what a textconv path may say about the file: the
// full binding for a repository path, else the name (from git's temporary
// file name) with any environment and either kind.
func textconvCandidates(file string) []sealedPath {
	if sp, ok := parseSealedPath(file); ok {
		return []sealedPath{sp}
	}
	base := filepath.Base(file)
	var names []string
	if cipher.ValidName(base) == nil {
		names = append(names, base)
	}
	// git before 2.26 named the temporary file XXXXXX_NAME.
	if len(base) > 7 && base[6] == '_' && cipher.ValidName(base[7:]) == nil {
		names = append(names, base[7:])
	}
	var out []sealedPath
	for _, kind := range []string{cipher.KindSecret, cipher.KindKeyring} {
		for _, n := range names {
			out = append(out, sealedPath{kind: kind, name: n})
		}
	}
	return out
}

// renderValue shows a value as diff text: text as is (with a final newline
// so a change in it is a line change), anything else as base64.
func renderValue(v []byte) []byte {
	if utf8.Valid(v) && bytes.IndexByte(v, 0) < 0 {
		if len(v) == 0 || v[len(v)-1] != '\n' {
			v = append(v, '\n')
		}
		return v
	}
	return []byte(fmt.Sprintf("gitseal: binary value, %d bytes, base64:\n%s\n", len(v), base64.StdEncoding.EncodeToString(v)))
}

// describeKeyring shows a named key's versions, never its key bytes.
func describeKeyring(plain, sealed []byte) []byte {
	k, err := cipher.UnmarshalKeyring(plain)
	if err != nil {
		return []byte("gitseal: keyring that does not parse (" + shortSum(sealed) + ")\n")
	}
	var b bytes.Buffer
	for _, v := range k.Versions() {
		primary := ""
		if v.Primary {
			primary = " primary"
		}
		fmt.Fprintf(&b, "key version %d: AES-%d, created %s%s\n", v.Version, v.Bits, v.Created.Format("2006-01-02T15:04:05Z"), primary)
	}
	return b.Bytes()
}

// shortSum identifies a file's content without showing it.
func shortSum(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256 " + hex.EncodeToString(sum[:6])
}

// MergeResult is what MergeSealed decided.
type MergeResult struct {
	// Data is what to write as the merged file: a sealed file when Clean,
	// a conflict file otherwise. It never holds plaintext.
	Data []byte
	// Clean reports a merge without conflict.
	Clean bool
	// Reason says, for a person, why the merge is not clean.
	Reason string
}

// MergeSealed merges three versions of the sealed file at repoPath (git's
// %P: ".gitseal/ENV/secrets/NAME" or ".../keys/NAME"): base (nil or empty
// when the file did not exist in the merge base), ours and theirs. Equal
// values, or a value changed on one side only, merge cleanly; the result is
// sealed under the data key of the merged tree. Anything else is a conflict
// file that names the secret and how to resolve it.
func (s *Store) MergeSealed(repoPath string, base, ours, theirs []byte) (MergeResult, error) {
	sp, ok := parseSealedPath(repoPath)
	if !ok {
		return MergeResult{}, fmt.Errorf("merge driver: %q is not a gitseal secret or key file (.gitseal/ENV/secrets/NAME)", clipText(repoPath))
	}
	conflict := func(reason string) (MergeResult, error) {
		return MergeResult{Data: conflictFile(sp, reason, base, ours, theirs), Reason: reason}, nil
	}
	for _, f := range [][]byte{base, ours, theirs} {
		if IsConflict(f) {
			return conflict("one side already holds an unresolved conflict")
		}
	}
	kf := s.newKeyFinder()
	vA, cA, err := kf.open(sp.env, sp.kind, sp.name, ours)
	if err != nil {
		return conflict("ours cannot be decrypted: " + err.Error())
	}
	vB, cB, err := kf.open(sp.env, sp.kind, sp.name, theirs)
	if err != nil {
		return conflict("theirs cannot be decrypted: " + err.Error())
	}
	var vO []byte
	var cO candidate
	hasBase := len(base) > 0
	if hasBase {
		if vO, cO, err = kf.open(sp.env, sp.kind, sp.name, base); err != nil {
			return conflict("the merge base cannot be decrypted: " + err.Error())
		}
	}
	var value []byte
	var fromOurs bool
	switch {
	case bytes.Equal(vA, vB):
		value, fromOurs = vA, true
	case hasBase && bytes.Equal(vA, vO):
		value = vB
	case hasBase && bytes.Equal(vB, vO):
		value, fromOurs = vA, true
	case hasBase:
		reason := "both branches changed the value"
		if !cB.dk.Equal(cA.dk) && cA.dk.Equal(cO.dk) {
			// set --stage seals under HEAD's data key, not the merged one.
			reason += "; theirs also changed the data key, so after committing the resolution run `gitseal reseal`"
		}
		return conflict(reason)
	default:
		return conflict("both branches added it with different values")
	}
	var into candidate
	switch {
	case cA.dk.Equal(cB.dk) && cA.storeID == cB.storeID:
		into = cA
	case hasBase && cA.dk.Equal(cO.dk):
		into = cB // theirs changed the data key
	case hasBase && cB.dk.Equal(cO.dk):
		into = cA // ours changed the data key
	default:
		return conflict("both branches changed the environment's data key")
	}
	// Keep a side's file byte for byte when it already is the answer.
	if fromOurs && into.dk.Equal(cA.dk) {
		return MergeResult{Data: ours, Clean: true}, nil
	}
	if bytes.Equal(value, vB) && into.dk.Equal(cB.dk) {
		return MergeResult{Data: theirs, Clean: true}, nil
	}
	sealed, err := cipher.Seal(into.dk, cipher.Binding{StoreID: into.storeID, Env: sp.env, Kind: sp.kind, Name: sp.name}, value)
	if err != nil {
		return MergeResult{}, fmt.Errorf("merge driver: sealing %s/%s: %w", sp.env, sp.name, err)
	}
	return MergeResult{Data: sealed, Clean: true}, nil
}

// conflictFile is the merge driver's output for a conflict: a version tag,
// comments for a person, and the sealed inputs (never their plaintext).
func conflictFile(sp sealedPath, reason string, base, ours, theirs []byte) []byte {
	var b bytes.Buffer
	b.WriteString(conflictTag + "\n")
	fmt.Fprintf(&b, "# Unresolved merge conflict in %s: %s.\n", path.Join(Root, sp.env, map[string]string{cipher.KindSecret: "secrets", cipher.KindKeyring: "keys"}[sp.kind], sp.name), oneLine(reason))
	fmt.Fprintf(&b, "# Resolve it with %s.\n", conflictFix(sp.env, sp.kind, sp.name))
	for _, side := range []struct {
		name string
		data []byte
	}{{"ours", ours}, {"theirs", theirs}, {"base", base}} {
		line := strings.TrimRight(string(side.data), "\r\n")
		if len(side.data) == 0 {
			line = "-"
		} else if cipher.CheckSealed(side.data) != nil || strings.ContainsAny(line, "\r\n") {
			line = "(not a sealed file; " + shortSum(side.data) + ")"
		}
		fmt.Fprintf(&b, "%s %s\n", side.name, line)
	}
	return b.Bytes()
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// StaleFile is a sealed file at the branch tip that its environment's
// current data key does not open.
type StaleFile struct {
	Env, Kind, Name string
	// Opens reports that an older data key of the environment (from the
	// history of the branches) opens it, so Reseal can seal it again.
	Opens bool
	// Conflict reports a committed merge conflict file (see IsConflict).
	Conflict bool
}

// StaleFiles lists the sealed files at the branch tip that their
// environment's current data key does not open. This is what a merge leaves
// when one branch rotated the data key and the other added a secret (git
// takes the added file as it is, sealed under the old key, without running
// the merge driver), or when a conflict was resolved with `set --stage`
// under the old key. Environments the caller cannot decrypt are skipped.
func (s *Store) StaleFiles() ([]StaleFile, error) {
	sn, err := s.Snapshot("")
	if err != nil {
		return nil, err
	}
	stale, _, err := s.staleFiles(sn, false)
	return stale, err
}

// Reseal seals every stale file that an older data key of its environment
// opens again under the current key, in one commit, and returns what it
// resealed. Trust: it accepts the value such a file holds, as a merge does;
// someone who held an old data key (a removed recipient with push access)
// could have written that file, so look at the list before pushing.
func (s *Store) Reseal(ctx context.Context, w WriteOptions) (Result, []StaleFile, error) {
	var done []StaleFile
	res, err := s.mutateStore(ctx, w, func(sn *Snapshot) ([]repo.Change, string, error) {
		stale, changes, err := s.staleFiles(sn, true)
		if err != nil {
			return nil, "", err
		}
		for _, f := range stale {
			if f.Opens {
				done = append(done, f)
			}
		}
		msg := message("reseal", fmt.Sprintf("reseal %d files under the current data keys", len(changes)), "", "")
		return changes, msg, nil
	})
	return res, done, err
}

func (s *Store) staleFiles(sn *Snapshot, seal bool) ([]StaleFile, []repo.Change, error) {
	envs, err := sn.Envs()
	if err != nil {
		return nil, nil, err
	}
	kf := s.newKeyFinder()
	var stale []StaleFile
	var changes []repo.Change
	for _, name := range envs {
		e, err := sn.Env(name)
		if err != nil {
			return nil, nil, err
		}
		dk, err := e.DataKey()
		if err != nil {
			continue // not ours to read
		}
		for _, kind := range []string{cipher.KindSecret, cipher.KindKeyring} {
			names, p := e.Names, secretPath
			if kind == cipher.KindKeyring {
				names, p = e.KeyNames, keyPath
			}
			list, err := names()
			if err != nil {
				return nil, nil, err
			}
			for _, n := range list {
				sealed, _, err := s.repo.FileAt(sn.commit, p(name, n))
				if err != nil {
					return nil, nil, err
				}
				if _, err := cipher.Open(dk, e.binding(kind, n), sealed); err == nil {
					continue
				}
				f := StaleFile{Env: name, Kind: kind, Name: n, Conflict: IsConflict(sealed)}
				if !f.Conflict {
					if v, _, err := kf.open(name, kind, n, sealed); err == nil {
						f.Opens = true
						if seal {
							again, err := cipher.Seal(dk, e.binding(kind, n), v)
							if err != nil {
								return nil, nil, err
							}
							changes = append(changes, repo.Change{Path: p(name, n), Data: again})
						}
					}
				}
				stale = append(stale, f)
			}
		}
	}
	return stale, changes, nil
}
