package repo

// CommitChanges makes one commit that touches only the given paths, on the
// current branch, without going through the user's index: the commit is
// built from the branch tip's tree, the ref moves with compare-and-swap, and
// only then are the changed paths' index entries and working-tree files
// brought in line. Its cost is flat in history depth and working-tree size;
// the one O(repository) step is the streamed index copy (index.go).
//
// Invariants, which commit.go, index.go, lock.go and journal.go keep
// together:
//
//  1. Before the ref moves, nothing the user sees changes. What may exist by
//     then — unreachable objects, index.lock, <ref>.lock, temporary files —
//     is either harmless to git or registered in the journal.
//  2. The journal record is written before the ref moves, so whenever the
//     ref has moved ahead of the index and working tree a record says which
//     paths lag and what they should hold. The new objects become visible
//     (fsynced, then linked from their temporary names) only once the ref's
//     lock is held and the compare-and-swap has succeeded, and before the
//     reflog or the ref names them: a lost race leaves no object behind, and
//     nothing ever points at a missing or truncated object.
//  3. A working-tree file is replaced by renaming a complete temporary file
//     over it, and the index by renaming index.lock, so each reads its old
//     or its new content, never a mix.
//  4. The index is only ever copied through index.lock with the changed
//     paths' entries spliced in: every other entry stays byte for byte the
//     user's, staged or not, and the user's unstaged and untracked files are
//     never read or written.
//  5. Before anything is written, each changed path's index entry and
//     working-tree file must hold the tip's content (or already the new
//     content): otherwise the commit stops with a DirtyPathError and the
//     user's edits stay as they were.
//  6. All of it runs under the gitseal lock. Finding a journal when taking
//     the lock means its writer died; recovery rolls the index and working
//     tree forward to the moved ref, or drops what never took effect, so the
//     next command needs no manual cleanup.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// DirtyPathError reports a path that a commit would write while the user has
// uncommitted changes to it. errors.Is(err, ErrDirtyPath) holds.
type DirtyPathError struct {
	// Path is the '/'-separated path from the repository root.
	Path string
	kind string
}

func (e *DirtyPathError) Error() string {
	switch e.kind {
	case "staged":
		return fmt.Sprintf("%s has staged changes; commit or discard them first (git checkout HEAD -- %s)", e.Path, e.Path)
	case "untracked":
		return fmt.Sprintf("%s exists in the working tree but is not tracked; move or remove it first", e.Path)
	case "conflict":
		return fmt.Sprintf("%s has unresolved merge conflicts; resolve them first", e.Path)
	case "blocked":
		return fmt.Sprintf("%s cannot be written: a file, symbolic link or directory is in the way in the working tree; move it away first", e.Path)
	}
	return fmt.Sprintf("%s has uncommitted changes; commit or discard them first (git checkout -- %s)", e.Path, e.Path)
}

// Is makes errors.Is(err, ErrDirtyPath) hold.
func (e *DirtyPathError) Is(target error) bool { return target == ErrDirtyPath }

// Change is one path to write or delete. Path is '/'-separated from the
// repository root; files are written as regular files (mode 100644, or
// 100755 when the tip already has the path executable).
type Change struct {
	Path   string
	Data   []byte
	Delete bool
}

// CommitRequest is a commit for CommitChanges.
type CommitRequest struct {
	Changes []Change
	// Message is the full commit message (subject, blank line, trailers).
	Message string
	// Expect, when ExpectSet, is the tip the caller based its changes on
	// (ZeroHash: an unborn branch); if the branch has moved since, nothing
	// is written and the error wraps ErrRefChanged. Without ExpectSet the
	// changes apply to whatever the tip is now (still moved with
	// compare-and-swap against the tip read at the start).
	Expect    Hash
	ExpectSet bool
	// Stage writes the blobs and updates the index entries and
	// working-tree files only: no commit, the ref is untouched (for
	// `--stage`). A path with merge conflicts, or with staged content that
	// matches its working-tree file, may be overwritten as `git add` would.
	Stage bool
	// NoSign makes the commit unsigned even when git config asks for
	// signed commits (commit.gpgSign; see sign.go).
	NoSign bool
}

// CommitResult describes what CommitChanges did.
type CommitResult struct {
	// Commit is the new commit (zero for Stage); when Unchanged, the tip.
	Commit Hash
	// Parent is the tip the commit was made on (zero on an unborn branch).
	Parent Hash
	// Branch is the full name of the branch ("refs/heads/main"), "" when
	// HEAD is detached (the commit then moves HEAD itself).
	Branch string
	// Unchanged reports that the tip already held every change: no commit
	// was made.
	Unchanged bool
}

// pathChange is one changed path as the commit works through it.
type pathChange struct {
	path     string
	data     []byte
	delete   bool
	old, new fileState // at the tip, in the new commit

	// Decided by the checks.
	writeFile bool   // write (or delete) the working-tree file
	fileIsNew bool   // the working-tree file already holds the new content
	setIndex  bool   // replace the path's index entries with the new state
	keepIndex bool   // leave the index alone (recovery)
	xflags    uint16 // extended index flags to keep (skip-worktree)
}

// CommitChanges commits changes on the current branch (or a detached HEAD)
// as described at the top of this file. The caller must hold the lock
// (Repo.Lock). Errors: ErrNoIdentity, ErrRefChanged, ErrGitLocked,
// ErrIndexUnsupported, and *DirtyPathError, all before anything the user
// sees has changed. An error after the ref moved (reported with the new
// commit in CommitResult) leaves the journal, and the next Lock finishes the
// index and working-tree update.
func (r *Repo) CommitChanges(ctx context.Context, req CommitRequest) (CommitResult, error) {
	j := r.heldJournal()
	if j == nil {
		return CommitResult{}, errors.New("committing: the gitseal lock is not held (call Repo.Lock first)")
	}
	if err := ctx.Err(); err != nil {
		return CommitResult{}, fmt.Errorf("committing: %w", err)
	}
	if j.depth == 0 {
		if err := r.recoverJournal(j); err != nil {
			return CommitResult{}, err
		}
	}
	changes, err := preparePathChanges(req.Changes)
	if err != nil {
		return CommitResult{}, err
	}
	if !req.Stage && strings.TrimSpace(req.Message) == "" {
		return CommitResult{}, errors.New("committing: empty commit message")
	}
	ref, tip, err := r.headRef()
	if err != nil {
		return CommitResult{}, fmt.Errorf("committing: %w", err)
	}
	res := CommitResult{Parent: tip}
	if ref != "HEAD" {
		res.Branch = ref
	}
	if req.ExpectSet && tip != req.Expect {
		return res, fmt.Errorf("committing on %s: %w (expected %s, found %s)", ref, ErrRefChanged, describeID(req.Expect), describeID(tip))
	}
	var author, committer Signature
	if !req.Stage {
		now := time.Now()
		if author, err = r.Signature("author", now); err != nil {
			return res, fmt.Errorf("committing: %w", err)
		}
		if committer, err = r.Signature("committer", now); err != nil {
			return res, fmt.Errorf("committing: %w", err)
		}
	}
	tb := &treeBuilder{r: r, trees: map[Hash][]TreeEntry{}}
	baseTree := ZeroHash
	if !tip.IsZero() {
		if baseTree, err = commitTree(r, tip); err != nil {
			return res, fmt.Errorf("committing: %w", err)
		}
	}
	if err := tb.resolve(baseTree, changes); err != nil {
		return res, err
	}

	j.begin()
	clean := true
	defer func() { j.end(clean) }()
	var wu *worktreeUpdate
	if r.workTree != "" {
		wu = &worktreeUpdate{r: r, gitDir: r.gitDir, workTree: r.workTree, changes: changes}
		if err := wu.lockAndScan(); err != nil {
			return res, fmt.Errorf("committing: %w", err)
		}
		defer wu.release()
		if err := wu.check(req.Stage); err != nil {
			var de *DirtyPathError
			if errors.As(err, &de) {
				return res, de // says what and how to fix it, on its own
			}
			return res, fmt.Errorf("committing: %w", err)
		}
	} else if req.Stage {
		return res, errors.New("staging: a bare repository has no index")
	}
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("committing: %w", err)
	}

	ow := r.newObjectWriter()
	defer ow.abort()
	for _, pc := range changes {
		if !pc.delete {
			if _, err := ow.write(BlobObject, pc.data); err != nil {
				return res, fmt.Errorf("committing: %w", err)
			}
		}
	}
	block := &journalBlock{stage: req.Stage, ref: ref, old: tip, gitDir: r.gitDir, workTree: r.workTree}
	for _, pc := range changes {
		block.paths = append(block.paths, journalPath{path: pc.path, old: pc.old, new: pc.new})
	}
	if !req.Stage {
		newTree, err := tb.buildRoot(ow, baseTree, changes)
		if err != nil {
			return res, err
		}
		if !tip.IsZero() && newTree == baseTree {
			res.Commit, res.Unchanged = tip, true
			return res, nil
		}
		var parents []Hash
		if !tip.IsZero() {
			parents = []Hash{tip}
		}
		spec := CommitSpec{Tree: newTree, Parents: parents, Author: author, Committer: committer, Message: req.Message}
		if !req.NoSign {
			if err := r.SignCommit(&spec); err != nil {
				return res, fmt.Errorf("committing: %w", err)
			}
		}
		block.new, err = ow.write(CommitObject, encodeCommit(spec))
		if err != nil {
			return res, fmt.Errorf("committing: %w", err)
		}
	}
	if err := j.add(block.encode()); err != nil {
		return res, fmt.Errorf("committing: %w", err)
	}
	if req.Stage {
		if err := ow.flush(); err != nil {
			return res, fmt.Errorf("staging: %w", err)
		}
	} else {
		hook("before-ref")
		if err := r.updateRef(ref, block.new, tip, reflogMessage(req.Message, tip.IsZero()), committer, ow.flushWithRef(r)); err != nil {
			return res, fmt.Errorf("committing: %w", err)
		}
		res.Commit = block.new
	}
	// The point of no return: the ref has moved.
	hook("after-ref")
	if wu != nil {
		if err := wu.apply(); err != nil {
			clean = false
			if req.Stage {
				return res, fmt.Errorf("staging: %w (the next gitseal command finishes it)", err)
			}
			return res, fmt.Errorf("committed %s, but updating the index and working tree failed: %w (the next gitseal command finishes it)", block.new.short(), err)
		}
	}
	return res, nil
}

// CommitOnRef commits changes on an arbitrary ref (such as
// "refs/gitseal/audit"): the parent is the ref's current value (none when it
// does not exist), the tree is the parent's with the changes applied, and
// the ref moves with compare-and-swap (ErrRefChanged when another writer
// moved it first). No index or working tree is involved. When the changes
// leave the tree as it was, no commit is made and the current value is
// returned. Holding the gitseal lock is recommended but not required.
func (r *Repo) CommitOnRef(ctx context.Context, ref string, changes []Change, message string) (Hash, error) {
	if !strings.HasPrefix(ref, "refs/") || !validRefName(ref) {
		return ZeroHash, fmt.Errorf("committing on %q: invalid ref name", clip(ref))
	}
	if strings.TrimSpace(message) == "" {
		return ZeroHash, fmt.Errorf("committing on %s: empty commit message", ref)
	}
	if err := ctx.Err(); err != nil {
		return ZeroHash, fmt.Errorf("committing on %s: %w", ref, err)
	}
	pcs, err := preparePathChanges(changes)
	if err != nil {
		return ZeroHash, err
	}
	now := time.Now()
	author, err := r.Signature("author", now)
	if err != nil {
		return ZeroHash, fmt.Errorf("committing on %s: %w", ref, err)
	}
	committer, err := r.Signature("committer", now)
	if err != nil {
		return ZeroHash, fmt.Errorf("committing on %s: %w", ref, err)
	}
	if j := r.heldJournal(); j != nil {
		j.begin()
		defer j.end(true) // only unreachable objects can be left behind
	}
	cur, err := r.resolveRefIn(r.gitDir, ref)
	if err != nil && !errors.Is(err, ErrRefNotFound) {
		return ZeroHash, fmt.Errorf("committing on %s: %w", ref, err)
	}
	tb := &treeBuilder{r: r, trees: map[Hash][]TreeEntry{}}
	baseTree := ZeroHash
	if !cur.IsZero() {
		if baseTree, err = commitTree(r, cur); err != nil {
			return ZeroHash, fmt.Errorf("committing on %s: %w", ref, err)
		}
	}
	if err := tb.resolve(baseTree, pcs); err != nil {
		return ZeroHash, err
	}
	ow := r.newObjectWriter()
	defer ow.abort()
	for _, pc := range pcs {
		if !pc.delete {
			if _, err := ow.write(BlobObject, pc.data); err != nil {
				return ZeroHash, fmt.Errorf("committing on %s: %w", ref, err)
			}
		}
	}
	tree, err := tb.buildRoot(ow, baseTree, pcs)
	if err != nil {
		return ZeroHash, err
	}
	if !cur.IsZero() && tree == baseTree {
		return cur, nil
	}
	var parents []Hash
	if !cur.IsZero() {
		parents = []Hash{cur}
	}
	commit, err := ow.write(CommitObject, encodeCommit(CommitSpec{Tree: tree, Parents: parents, Author: author, Committer: committer, Message: message}))
	if err != nil {
		return ZeroHash, fmt.Errorf("committing on %s: %w", ref, err)
	}
	if err := r.updateRef(ref, commit, cur, reflogMessage(message, cur.IsZero()), committer, ow.flushWithRef(r)); err != nil {
		return ZeroHash, fmt.Errorf("committing on %s: %w", ref, err)
	}
	return commit, nil
}

// reflogMessage is what `git commit` logs: "commit: <subject>", or
// "commit (initial): <subject>" for a root commit.
func reflogMessage(msg string, initial bool) string {
	subject, _, _ := strings.Cut(strings.TrimLeft(msg, "\n"), "\n")
	if initial {
		return "commit (initial): " + subject
	}
	return "commit: " + subject
}

// headRef returns the ref a commit on HEAD moves ("refs/heads/main", or
// "HEAD" when detached) and its current value (zero on an unborn branch).
func (r *Repo) headRef() (string, Hash, error) {
	b, err := os.ReadFile(filepath.Join(r.gitDir, "HEAD"))
	if err != nil {
		return "", ZeroHash, fmt.Errorf("reading HEAD: %w", err)
	}
	h, target, err := parseRefFile(b)
	if err != nil {
		return "", ZeroHash, fmt.Errorf("reading HEAD: %w", err)
	}
	if target == "" {
		return "HEAD", h, nil
	}
	// A symbolic ref to a symbolic ref is followed as git does.
	for depth := 0; depth < maxSymrefDepth; depth++ {
		b, err := os.ReadFile(r.refFile(target))
		if err != nil {
			break
		}
		_, next, err := parseRefFile(b)
		if err != nil || next == "" {
			break
		}
		target = next
	}
	tip, err := r.currentRef(target)
	if err != nil {
		return "", ZeroHash, fmt.Errorf("reading %s: %w", target, err)
	}
	return target, tip, nil
}

// preparePathChanges validates and sorts changes.
func preparePathChanges(changes []Change) ([]*pathChange, error) {
	if len(changes) == 0 {
		return nil, errors.New("committing: no changes")
	}
	out := make([]*pathChange, 0, len(changes))
	for _, c := range changes {
		if err := checkPath(c.Path); err != nil {
			return nil, err
		}
		pc := &pathChange{path: c.Path, delete: c.Delete}
		if !c.Delete {
			pc.data = c.Data
			if pc.data == nil {
				pc.data = []byte{}
			}
		}
		out = append(out, pc)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	for i := 1; i < len(out); i++ {
		if out[i-1].path == out[i].path {
			return nil, fmt.Errorf("committing: %s changed twice", out[i].path)
		}
	}
	// A path cannot be both a file and a directory of another changed path.
	for i, a := range out {
		for _, b := range out[i+1:] {
			if strings.HasPrefix(b.path, a.path+"/") {
				return nil, fmt.Errorf("committing: %s is changed both as a file and as a directory", a.path)
			}
		}
	}
	return out, nil
}

// checkPath refuses paths git would refuse in a tree, or that could reach
// outside the working tree.
func checkPath(p string) error {
	if p == "" || strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || strings.ContainsAny(p, "\x00\\") {
		return fmt.Errorf("committing: invalid path %q", clip(p))
	}
	for _, c := range strings.Split(p, "/") {
		if c == "" || c == "." || c == ".." || strings.EqualFold(c, ".git") {
			return fmt.Errorf("committing: invalid path %q", clip(p))
		}
	}
	return nil
}

// treeBuilder reads trees along the changed paths and writes new ones.
type treeBuilder struct {
	r     *Repo
	trees map[Hash][]TreeEntry
}

func (tb *treeBuilder) read(h Hash) ([]TreeEntry, error) {
	if h.IsZero() {
		return nil, nil
	}
	if t, ok := tb.trees[h]; ok {
		return t, nil
	}
	t, err := tb.r.ReadTree(h)
	if err != nil {
		return nil, err
	}
	tb.trees[h] = t
	return t, nil
}

// resolve fills in each change's old state (from the tree root) and new
// state.
func (tb *treeBuilder) resolve(root Hash, changes []*pathChange) error {
	for _, pc := range changes {
		cur := root
		parts := strings.Split(pc.path, "/")
		for i, name := range parts {
			entries, err := tb.read(cur)
			if err != nil {
				return fmt.Errorf("committing %s: %w", pc.path, err)
			}
			var e TreeEntry
			found := false
			for _, te := range entries {
				if te.Name == name {
					e, found = te, true
					break
				}
			}
			if !found {
				break
			}
			if i == len(parts)-1 {
				if e.Mode != ModeFile && e.Mode != ModeExec {
					return fmt.Errorf("committing %s: the tip has a directory, symbolic link or submodule there, not a file", pc.path)
				}
				pc.old = fileState{mode: e.Mode, hash: e.Hash}
				break
			}
			if !e.Mode.IsDir() {
				if pc.delete {
					break // nothing to delete below a file
				}
				return fmt.Errorf("committing %s: %s is not a directory at the tip", pc.path, strings.Join(parts[:i+1], "/"))
			}
			cur = e.Hash
		}
		if !pc.delete {
			mode := ModeFile
			if pc.old.mode == ModeExec {
				mode = ModeExec
			}
			pc.new = fileState{mode: mode, hash: hashObject(BlobObject, pc.data)}
		}
	}
	return nil
}

// buildRoot writes the trees along the changed paths and returns the new
// root tree (the empty tree when nothing is left).
func (tb *treeBuilder) buildRoot(ow *objectWriter, base Hash, changes []*pathChange) (Hash, error) {
	items := make([]treeItem, len(changes))
	for i, pc := range changes {
		items[i] = treeItem{rest: pc.path, pc: pc}
	}
	h, empty, err := tb.build(ow, base, items, "")
	if err != nil {
		return ZeroHash, err
	}
	if empty {
		return ow.write(TreeObject, nil)
	}
	return h, nil
}

type treeItem struct {
	rest string // the path below the tree being built
	pc   *pathChange
}

// build returns base with items applied; empty reports a tree with no
// entries left (which its parent then drops, as git has no empty trees).
func (tb *treeBuilder) build(ow *objectWriter, base Hash, items []treeItem, dir string) (Hash, bool, error) {
	old, err := tb.read(base)
	if err != nil {
		return ZeroHash, false, fmt.Errorf("committing: %w", err)
	}
	entries := make(map[string]TreeEntry, len(old)+len(items))
	for _, e := range old {
		entries[e.Name] = e
	}
	subs := map[string][]treeItem{}
	var subNames []string
	for _, it := range items {
		name, rest, deeper := strings.Cut(it.rest, "/")
		if deeper {
			if _, ok := subs[name]; !ok {
				subNames = append(subNames, name)
			}
			subs[name] = append(subs[name], treeItem{rest: rest, pc: it.pc})
			continue
		}
		if e, ok := entries[name]; ok && e.Mode.IsDir() {
			return ZeroHash, false, fmt.Errorf("committing %s: it is a directory at the tip", it.pc.path)
		}
		delete(entries, name)
		if !it.pc.delete {
			entries[name] = TreeEntry{Name: name, Mode: it.pc.new.mode, Hash: it.pc.new.hash}
		}
	}
	for _, name := range subNames {
		childBase := ZeroHash
		if e, ok := entries[name]; ok {
			if !e.Mode.IsDir() {
				// resolve() refused this unless every change below is a
				// delete, which then has nothing to do.
				continue
			}
			childBase = e.Hash
		}
		h, empty, err := tb.build(ow, childBase, subs[name], dir+name+"/")
		if err != nil {
			return ZeroHash, false, err
		}
		delete(entries, name)
		if !empty {
			entries[name] = TreeEntry{Name: name, Mode: ModeDir, Hash: h}
		}
	}
	if len(entries) == 0 {
		return ZeroHash, true, nil
	}
	list := make([]TreeEntry, 0, len(entries))
	for _, e := range entries {
		list = append(list, e)
	}
	data, err := encodeTree(list)
	if err != nil {
		return ZeroHash, false, fmt.Errorf("committing: %w", err)
	}
	if h := hashObject(TreeObject, data); h == base {
		return base, false, nil
	}
	h, err := ow.write(TreeObject, data)
	if err != nil {
		return ZeroHash, false, fmt.Errorf("committing: %w", err)
	}
	return h, false, nil
}

// worktreeUpdate brings one worktree's index and files in line with a set of
// path changes.
type worktreeUpdate struct {
	r                *Repo
	gitDir, workTree string
	changes          []*pathChange // sorted by path
	lock             *gitLock
	scan             *indexScan
	autocrlf         bool
}

// testHook, when set by a test, runs at named points of CommitChanges:
// "before-ref" (the journal record is written, the ref about to move),
// "after-ref" and "after-files" (working-tree files written, the index
// not yet). Tests use it to lose a race or to die at a chosen instant.
var testHook func(point string)

func hook(point string) {
	if testHook != nil {
		testHook(point)
	}
}

// indexLockTimeout is how long gitseal waits for a git process's
// index.lock to go away (a shell prompt running `git status` holds it
// briefly and often). A variable so that tests can shorten it.
var indexLockTimeout = 2 * time.Second

// lockAndScan takes index.lock and scans the index for the changed paths.
func (w *worktreeUpdate) lockAndScan() error {
	if v, ok := w.r.Config("core.autocrlf"); ok {
		b, isBool := parseBool(v)
		w.autocrlf = (isBool && b) || strings.EqualFold(v, "input")
	}
	indexPath := filepath.Join(w.gitDir, "index")
	lk, err := w.r.acquireGitLock(indexPath, indexLockTimeout)
	if err != nil {
		return err
	}
	w.lock = lk
	var probes, children []string
	for _, pc := range w.changes {
		probes = append(probes, pc.path)
		children = append(children, pc.path)
		for d := pc.path; ; {
			i := strings.LastIndexByte(d, '/')
			if i < 0 {
				break
			}
			d = d[:i]
			probes = append(probes, d)
		}
	}
	s, err := scanIndex(indexPath, probes, children)
	if err != nil {
		lk.rollback()
		w.lock = nil
		if errors.Is(err, ErrIndexUnsupported) {
			return err
		}
		return fmt.Errorf("reading %s: %w", indexPath, err)
	}
	w.scan = s
	return nil
}

func (w *worktreeUpdate) release() {
	if w.scan != nil {
		w.scan.close()
	}
	w.lock.rollback()
}

// wtState is what a changed path's working-tree file holds.
type wtState struct {
	present bool
	hash    Hash // of the content, when present
	isOld   bool // matches the tip (absent when the tip has no such file)
	isNew   bool // matches the new commit
	blocked bool // something other than a regular file or directories is in the way
}

func (w *worktreeUpdate) worktreeState(pc *pathChange) (wtState, error) {
	var st wtState
	parts := strings.Split(pc.path, "/")
	d := w.workTree
	for _, name := range parts[:len(parts)-1] {
		d = filepath.Join(d, name)
		fi, err := os.Lstat(d)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return st, err
		}
		if err != nil || !fi.IsDir() {
			// A missing directory, or a file or symbolic link where a
			// directory should be: the path itself is absent.
			st.blocked = err == nil
			st.isOld, st.isNew = !pc.old.present(), !pc.new.present()
			return st, nil
		}
	}
	full := filepath.Join(w.workTree, filepath.FromSlash(pc.path))
	fi, err := os.Lstat(full)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		st.isOld, st.isNew = !pc.old.present(), !pc.new.present()
		return st, nil
	case err != nil:
		return st, err
	case !fi.Mode().IsRegular():
		st.blocked = true
		return st, nil
	}
	data, err := os.ReadFile(full)
	if err != nil {
		return st, err
	}
	st.present = true
	st.hash = hashObject(BlobObject, data)
	st.isOld = pc.old.present() && w.sameContent(data, st.hash, pc.old.hash)
	st.isNew = pc.new.present() && w.sameContent(data, st.hash, pc.new.hash)
	return st, nil
}

// sameContent reports whether working-tree data stores as blob want, allowing
// for core.autocrlf having turned LF into CRLF on checkout.
func (w *worktreeUpdate) sameContent(data []byte, h, want Hash) bool {
	if h == want {
		return true
	}
	if !w.autocrlf || !strings.Contains(string(data), "\r\n") {
		return false
	}
	return hashObject(BlobObject, []byte(strings.ReplaceAll(string(data), "\r\n", "\n"))) == want
}

// idxState is what the index holds for a changed path.
type idxState struct {
	isOld, isNew bool
	conflicted   bool
	entry        *indexEntry // the stage-0 entry, if any
	skipWorktree bool
	xflags       uint16
	inTheWay     bool // an ancestor is a file in the index, or the path is a directory there
}

func (w *worktreeUpdate) indexState(pc *pathChange) idxState {
	var st idxState
	sp := w.scan.spot(pc.path)
	for i := range sp.entries {
		e := &sp.entries[i]
		if e.stage() != 0 {
			st.conflicted = true
			continue
		}
		st.entry = e
	}
	if st.entry != nil {
		st.skipWorktree = st.entry.xflags&ceSkipWorktree != 0
		st.xflags = st.entry.xflags & ceSkipWorktree
	}
	matches := func(fs fileState) bool {
		if !fs.present() {
			return len(sp.entries) == 0
		}
		return !st.conflicted && st.entry != nil && st.entry.xflags&ceIntentToAdd == 0 &&
			st.entry.hash == fs.hash && st.entry.mode == uint32(fs.mode)
	}
	st.isOld, st.isNew = matches(pc.old), matches(pc.new)
	for d := pc.path; ; {
		i := strings.LastIndexByte(d, '/')
		if i < 0 {
			break
		}
		d = d[:i]
		if a := w.scan.spot(d); a != nil && len(a.entries) > 0 {
			st.inTheWay = true
		}
	}
	if !pc.delete && w.scan.hasChildren(pc.path) {
		st.inTheWay = true
	}
	return st
}

// check applies the dirty-path rules (invariant 5) and decides what to do
// for each path.
func (w *worktreeUpdate) check(stage bool) error {
	for _, pc := range w.changes {
		ws, err := w.worktreeState(pc)
		if err != nil {
			return fmt.Errorf("reading %s in the working tree: %w", pc.path, err)
		}
		is := w.indexState(pc)
		if is.inTheWay {
			return &DirtyPathError{Path: pc.path, kind: "staged"}
		}
		if !pc.delete && ws.blocked && !is.skipWorktree {
			return &DirtyPathError{Path: pc.path, kind: "blocked"}
		}
		wtOK := is.skipWorktree || ws.isOld || ws.isNew
		switch {
		case is.conflicted && stage:
			// Resolving a conflict: the working-tree file is the merge's.
			wtOK = true
		case is.conflicted:
			return &DirtyPathError{Path: pc.path, kind: "conflict"}
		case stage && is.entry != nil && ws.present && ws.hash == is.entry.hash:
			// Staged and not modified since: overwritten, as `git add` would.
			wtOK = true
		case !is.isOld && !is.isNew:
			return &DirtyPathError{Path: pc.path, kind: "staged"}
		case is.isNew && !is.isOld && ws.isOld && !ws.isNew && !is.skipWorktree:
			// The new content is staged but the file was changed back:
			// an unstaged edit that the update would undo.
			return &DirtyPathError{Path: pc.path}
		}
		if !wtOK {
			if !pc.old.present() && ws.present {
				return &DirtyPathError{Path: pc.path, kind: "untracked"}
			}
			return &DirtyPathError{Path: pc.path}
		}
		pc.writeFile = !is.skipWorktree && !ws.isNew
		pc.fileIsNew = ws.isNew
		pc.setIndex = true
		pc.xflags = is.xflags
	}
	return nil
}

// apply writes the working-tree files, then the index (invariant 3).
//
// A file that exists with the mode it keeps is overwritten in place rather
// than replaced by a renamed temporary file: creating a file costs about a
// millisecond on the file systems measured here, truncating one a quarter of
// that, and a re-key writes every secret's file. An in-place write killed
// half way leaves a torn file, so the paths are first recorded in the
// journal ("torn"), and recovery brings a recorded path that holds neither
// the old nor the new content to the new content.
func (w *worktreeUpdate) apply() error {
	j := w.r.heldJournal()
	inPlace := map[string]bool{}
	var torn strings.Builder
	for _, pc := range w.changes {
		if !pc.writeFile || pc.delete || pc.old.mode != pc.new.mode || !pc.old.present() {
			continue
		}
		full := filepath.Join(w.workTree, filepath.FromSlash(pc.path))
		if fi, err := os.Lstat(full); err == nil && fi.Mode().IsRegular() {
			inPlace[pc.path] = true
			torn.WriteString("torn " + strconv.Quote(pc.path) + "\n")
		}
	}
	if j != nil && torn.Len() > 0 {
		if err := j.add(torn.String()); err != nil {
			return err
		}
	} else if j == nil {
		clear(inPlace)
	}
	var idx []indexChange
	for _, pc := range w.changes {
		full := filepath.Join(w.workTree, filepath.FromSlash(pc.path))
		if pc.writeFile {
			if pc.delete {
				if err := os.Remove(full); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return fmt.Errorf("removing %s: %w", pc.path, err)
				}
				removeEmptyParents(filepath.Dir(full), w.workTree)
			} else if inPlace[pc.path] {
				if err := overwriteFile(full, pc.data); err != nil {
					return fmt.Errorf("writing %s: %w", pc.path, err)
				}
			} else if err := writeWorktreeFile(full, pc.data, pc.new.mode, j); err != nil {
				return fmt.Errorf("writing %s: %w", pc.path, err)
			}
		}
		if !pc.setIndex {
			continue
		}
		if pc.delete {
			idx = append(idx, indexChange{path: pc.path})
			continue
		}
		e := &indexEntry{mode: uint32(pc.new.mode), hash: pc.new.hash, xflags: pc.xflags, path: pc.path}
		if pc.xflags&ceSkipWorktree == 0 && (pc.writeFile || pc.fileIsNew) {
			fi, err := os.Lstat(full)
			if err != nil {
				return fmt.Errorf("writing %s: %w", pc.path, err)
			}
			e.setStat(fi)
		}
		// Otherwise the stat data stays zero, which git never takes for
		// clean: it compares the content.
		idx = append(idx, indexChange{path: pc.path, entry: e})
	}
	hook("after-files")
	if len(idx) == 0 {
		return nil
	}
	if err := writeIndex(w.lock.f, w.scan, idx); err != nil {
		return err
	}
	if w.scan.exists {
		// Racy git: see the top of index.go.
		if err := os.Chtimes(w.lock.lock, w.scan.mtime, w.scan.mtime); err != nil {
			return fmt.Errorf("writing index: %w", err)
		}
	}
	if w.r.durability().index {
		if err := w.lock.f.Sync(); err != nil {
			return fmt.Errorf("writing index: %w", err)
		}
	}
	if err := w.lock.rename(); err != nil {
		return fmt.Errorf("writing index: %w", err)
	}
	return nil
}

// overwriteFile writes data over an existing file, in place.
func overwriteFile(full string, data []byte) error {
	f, err := os.OpenFile(full, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	hook("mid-overwrite") // the file is torn: truncated, not yet written
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeWorktreeFile replaces a working-tree file by renaming a complete
// temporary file over it.
func writeWorktreeFile(full string, data []byte, mode Mode, j *journal) error {
	dir := filepath.Dir(full)
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return err
	}
	tmp := filepath.Join(dir, ".gitseal-tmp-"+filepath.Base(full))
	if j != nil {
		if err := j.add("tmp " + strconv.Quote(tmp)); err != nil {
			return err
		}
	}
	perm := os.FileMode(0o666)
	if mode == ModeExec {
		perm = 0o777
	}
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, full)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}
