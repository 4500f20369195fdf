package repo

// Talking to other repositories: listing a remote's refs, fetching objects
// into this repository (as a pack with its index under objects/pack),
// pushing ref updates with the objects they need, and fetching one commit's
// objects into memory for a runtime that has no clone.
//
// The wire protocol and its transports are gitseal's own (wire.go,
// transport.go) on go-git's pkt-line framing: file:// and plain paths (by
// running git-upload-pack and git-receive-pack), git://, ssh:// and
// scp-like user@host:path (through the ssh client, as git runs it), and
// smart http(s)://, all in protocol v0. Packs are read
// and written with go-git's plumbing/format/packfile.
//
// Invariants kept here:
//   - No ref is moved by Fetch: it only adds objects. Callers move refs,
//     with compare-and-swap, after deciding what to accept.
//   - A fetched pack is complete (thin packs are never requested) and is
//     renamed into objects/pack only after its index is written next to it
//     under a temporary name, the pack first and the index last, as git
//     does, so a reader never sees an index without its pack.
//   - Every push update is a compare-and-swap on the remote (the old value
//     it names must still be there), atomic when the remote supports it.
//   - A shallow repository stays consistent (git fsck, git log): a fetch
//     into it tells the remote its shallow commits, and a fetch that brings
//     commits without their parents (from a shallow remote) records them in
//     the shallow file, after the pack, as git does.
//   - An operation whose ctx ends returns an error wrapping ctx.Err(),
//     whatever tearing the connection down made the wire report.

import (
	"bufio"
	"bytes"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// Conditions of remote operations callers branch on.
var (
	// ErrRemoteNotFound: no remote of that name is configured.
	ErrRemoteNotFound = errors.New("no such remote")
	// ErrPushRejected: the remote refused one or more ref updates.
	ErrPushRejected = errors.New("push rejected by the remote")
	// ErrNotAdvertised: a commit asked for is at no ref of the remote, and
	// the remote does not allow fetching such commits.
	ErrNotAdvertised = errors.New("commit not advertised by the remote")
)

// packWindow is the delta window for packs gitseal sends: git's default.
const packWindow = 10

// RemoteURL returns the URL to talk to for nameOrURL: a configured remote's
// remote.NAME.url ("" means "origin"), or nameOrURL itself when it is a URL
// (scheme://…), an scp-like address (host:path) or a path. A relative path is
// taken from the top of the work tree (the git directory when bare).
func (r *Repo) RemoteURL(nameOrURL string) (string, error) {
	if nameOrURL == "" {
		nameOrURL = "origin"
	}
	if looksLikeURL(nameOrURL) {
		return r.absURL(nameOrURL), nil
	}
	url, ok := r.Config("remote." + nameOrURL + ".url")
	if !ok || url == "" {
		return "", fmt.Errorf("remote %q: %w (`git remote -v` lists the remotes; a URL or path works too)", nameOrURL, ErrRemoteNotFound)
	}
	return r.absURL(url), nil
}

// looksLikeURL tells a URL or path from a remote name, as git does: a remote
// name has no '/' and no ':'.
func looksLikeURL(s string) bool {
	return strings.ContainsAny(s, "/:") || s == "." || s == ".."
}

func (r *Repo) absURL(u string) string {
	if strings.Contains(u, "://") || filepath.IsAbs(u) {
		return u
	}
	if i := strings.IndexByte(u, ':'); i > 0 && !strings.Contains(u[:i], "/") {
		return u // scp-like host:path
	}
	base := r.workTree
	if base == "" {
		base = r.gitDir
	}
	return filepath.Join(base, u)
}

// ListRemote returns the refs a remote advertises, by full name, with
// "HEAD" when the remote has one. An empty repository has none.
func ListRemote(ctx context.Context, url string) (map[string]Hash, error) {
	c, a, err := openService(ctx, nil, url, uploadPack, "listing refs of")
	if err != nil {
		return nil, err
	}
	c.close()
	return a.refs, nil
}

// openService connects to a service of url and reads the refs it
// advertises (none for an empty repository). r, when not nil, is the
// repository whose config the transport reads (ssh.variant); without one,
// the user's config is read. op names the operation in errors. The caller
// closes the connection.
func openService(ctx context.Context, r *Repo, url, service, op string) (wireConn, *advert, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, remoteErr(ctx, op, url, err)
	}
	config := func(key string) (string, bool) { return protectedConfig().get(key) }
	if r != nil {
		config = r.Config
	}
	c, err := dial(ctx, url, service, config)
	if err != nil {
		return nil, nil, remoteErr(ctx, op, url, err)
	}
	a, err := c.advert(ctx)
	if err == nil {
		err = a.checkFormat()
	}
	if err != nil {
		c.close()
		return nil, nil, remoteErr(ctx, op, url, err)
	}
	return c, a, nil
}

// fetchPack asks the upload-pack service behind c for a pack of req and
// hands the pack stream to read. It returns the shallow list of the
// answer (empty unless req asked for a depth).
func fetchPack(ctx context.Context, c wireConn, a *advert, req fetchRequest, read func(io.Reader) error) (shallowUpdate, error) {
	if len(req.shallow) > 0 && !a.supports("shallow") {
		return shallowUpdate{}, errors.New("this repository is shallow (it has .git/shallow) and the remote does not serve shallow clients; fetch the whole history from a remote that does (git fetch --unshallow), then retry")
	}
	if req.depth > 0 && !a.supports("shallow") {
		req.depth = 0
	}
	// Checked here too: a ctx ended during a callback (Fetch's match, the
	// pick of FetchCommits) must not send a request.
	if err := ctx.Err(); err != nil {
		return shallowUpdate{}, err
	}
	caps, sideband := fetchCaps(a, req.depth)
	resp, wait, err := c.request(ctx, func(w io.Writer) error { return writeFetchRequest(w, req, caps) })
	if err != nil {
		return shallowUpdate{}, err
	}
	pack, su, err := readFetchResponse(resp, req.depth, sideband)
	if err == nil {
		err = read(pack)
	}
	if werr := wait(); err == nil && werr != nil {
		err = fmt.Errorf("sending the request: %w", werr)
	}
	return su, err
}

// FetchResult is what Fetch did.
type FetchResult struct {
	// Refs are every ref the remote advertised, by full name.
	Refs map[string]Hash
	// Objects is how many objects were received (0: nothing was missing).
	Objects int
}

// Fetch lists the remote's refs and brings into this repository every
// object reachable from those whose names match, that it lacks. It moves no
// ref: the caller decides which refs to update, and does so with
// compare-and-swap. The objects arrive as one pack, written with its index
// under objects/pack.
//
// A shallow repository (one with a shallow file) tells the remote which of
// its commits lack their parents, so that the remote sends what lies behind
// them when a wanted commit needs it. Commits the remote sends without their
// parents, because the remote is itself shallow, are added to the shallow
// file, as git does, so that the repository stays whole for git fsck and
// git log.
func (r *Repo) Fetch(ctx context.Context, url string, match func(ref string) bool) (FetchResult, error) {
	c, a, err := openService(ctx, r, url, uploadPack, "fetching from")
	if err != nil {
		return FetchResult{}, err
	}
	defer c.close()
	res := FetchResult{Refs: a.refs}
	var req fetchRequest
	seen := map[Hash]bool{}
	for _, name := range sortedKeys(res.Refs) {
		h := res.Refs[name]
		if name == "HEAD" || !match(name) || seen[h] {
			continue
		}
		seen[h] = true
		if !r.HasObject(h) {
			req.wants = append(req.wants, h)
		}
	}
	var su shallowUpdate
	if len(req.wants) > 0 {
		if req.haves, err = r.haves(); err != nil {
			return FetchResult{}, fmt.Errorf("fetching from %s: %w", redactURL(url), err)
		}
		if req.shallow, err = readShallow(r.commonDir); err != nil {
			return FetchResult{}, fmt.Errorf("fetching from %s: %w", redactURL(url), err)
		}
		su, err = fetchPack(ctx, c, a, req, func(pack io.Reader) error {
			n, err := r.writePack(pack)
			res.Objects = n
			return err
		})
		if err != nil {
			return FetchResult{}, remoteErr(ctx, "fetching from", url, err)
		}
		for _, h := range req.wants {
			if !r.HasObject(h) {
				return FetchResult{}, fmt.Errorf("fetching from %s: the remote sent no object %s", redactURL(url), h.short())
			}
		}
	}
	// Even when nothing was wanted: an earlier fetch may have stored the
	// pack and then failed to record its boundary.
	if err := r.updateShallow(append(a.shallow, su.shallow...), su.unshallow); err != nil {
		return FetchResult{}, fmt.Errorf("fetching from %s: %w", redactURL(url), err)
	}
	return res, nil
}

// readShallow reads the shallow file of the repository whose common
// directory is commonDir: the commits it has without their parents, one
// hex id a line (sorted, as git writes it). No file: none. Lines that are
// not ids are skipped, as git's reader skips them.
func readShallow(commonDir string) ([]Hash, error) {
	f, err := os.Open(filepath.Join(commonDir, "shallow"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the shallow file: %w", err)
	}
	defer f.Close()
	var out []Hash
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if h, err := ParseHash(sc.Text()); err == nil {
			out = append(out, h)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading the shallow file: %w", err)
	}
	return out, nil
}

// updateShallow records a fetch's shallow boundary: of the commits the
// remote called shallow, those this repository now has without all their
// parents are added to the shallow file; those in unshallow (whose parents
// a deepening fetch brought) are taken out. A remote shallow commit whose
// parents are here already (this repository has more history than the
// remote) is not a boundary here and is left out, as git leaves it out.
// The file is rewritten, sorted and without duplicates, under shallow.lock
// (git's lock), re-read under the lock so a concurrent writer's lines are
// kept; it is removed when nothing is left in it.
func (r *Repo) updateShallow(remote, unshallow []Hash) error {
	var add []Hash
	for _, h := range remote {
		c, err := r.ReadCommit(h)
		if err != nil {
			continue // not fetched: no boundary here
		}
		for _, p := range c.Parents {
			if !r.HasObject(p) {
				add = append(add, h)
				break
			}
		}
	}
	if len(add) == 0 && len(unshallow) == 0 {
		return nil
	}
	path := filepath.Join(r.commonDir, "shallow")
	lock, err := r.acquireGitLock(path, refLockTimeout)
	if err != nil {
		return fmt.Errorf("updating the shallow file: %w", err)
	}
	defer lock.rollback()
	old, err := readShallow(r.commonDir)
	if err != nil {
		return err
	}
	set := append(slices.Clone(old), add...)
	slices.SortFunc(set, func(a, b Hash) int { return bytes.Compare(a[:], b[:]) })
	set = slices.Compact(set)
	set = slices.DeleteFunc(set, func(h Hash) bool { return slices.Contains(unshallow, h) })
	if slices.Equal(set, old) {
		return nil
	}
	if len(set) == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("updating the shallow file: %w", err)
		}
		return nil
	}
	var b bytes.Buffer
	for _, h := range set {
		b.WriteString(h.String() + "\n")
	}
	if _, err := lock.f.Write(b.Bytes()); err != nil {
		return fmt.Errorf("updating the shallow file: %w", err)
	}
	lock.f.Chmod(0o644)
	if err := lock.commit(); err != nil {
		return fmt.Errorf("updating the shallow file: %w", err)
	}
	return nil
}

// haves lists the commits this repository has at its refs, for the remote
// to leave out of the pack.
func (r *Repo) haves() ([]Hash, error) {
	refs, err := r.Refs("refs/")
	if err != nil {
		return nil, err
	}
	seen := map[Hash]bool{}
	var out []Hash
	add := func(h Hash) {
		if !h.IsZero() && !seen[h] && r.HasObject(h) {
			seen[h] = true
			out = append(out, h)
		}
	}
	if head, err := r.Head(); err == nil {
		add(head.Commit)
	}
	for _, name := range sortedKeys(refs) {
		add(refs[name])
	}
	return out, nil
}

// HasObject reports whether the object database holds h.
func (r *Repo) HasObject(h Hash) bool {
	_, _, err := r.readObject(h)
	return err == nil
}

// writePack stores a pack stream under objects/pack with an index, and
// returns how many objects it holds. An empty stream writes nothing.
func (r *Repo) writePack(rd io.Reader) (int, error) {
	dir := filepath.Join(r.commonDir, "objects", "pack")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return 0, fmt.Errorf("writing pack: %w", err)
	}
	f, err := os.CreateTemp(dir, "tmp_pack_")
	if err != nil {
		return 0, fmt.Errorf("writing pack: %w", err)
	}
	tmpPack := f.Name()
	tmpIdx := ""
	done := false
	defer func() {
		f.Close()
		if !done {
			os.Remove(tmpPack)
			if tmpIdx != "" {
				os.Remove(tmpIdx)
			}
		}
	}()
	size, err := io.Copy(f, rd)
	if err != nil {
		return 0, fmt.Errorf("receiving pack: %w", err)
	}
	if size == 0 {
		return 0, nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, fmt.Errorf("writing pack: %w", err)
	}
	idx, sum, count, err := indexPack(f)
	if err != nil || count == 0 {
		return 0, err
	}
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("writing pack: %w", err)
	}
	fi, err := os.CreateTemp(dir, "tmp_idx_")
	if err != nil {
		return 0, fmt.Errorf("writing pack index: %w", err)
	}
	tmpIdx = fi.Name()
	if _, err := idxfile.NewEncoder(fi).Encode(idx); err != nil {
		fi.Close()
		return 0, fmt.Errorf("writing pack index: %w", err)
	}
	if err := fi.Sync(); err != nil {
		fi.Close()
		return 0, fmt.Errorf("writing pack index: %w", err)
	}
	if err := fi.Close(); err != nil {
		return 0, fmt.Errorf("writing pack index: %w", err)
	}
	// Git makes pack files read-only; so do we.
	os.Chmod(tmpPack, 0o444)
	os.Chmod(tmpIdx, 0o444)
	base := filepath.Join(dir, "pack-"+sum.String())
	if _, err := os.Stat(base + ".idx"); err == nil {
		return int(count), nil // the same pack is already there
	}
	if err := os.Rename(tmpPack, base+".pack"); err != nil {
		return 0, fmt.Errorf("writing pack: %w", err)
	}
	if err := os.Rename(tmpIdx, base+".idx"); err != nil {
		os.Remove(base + ".pack")
		return 0, fmt.Errorf("writing pack index: %w", err)
	}
	done = true
	return int(count), nil
}

// indexPack parses a received pack, checking every object's id and the
// pack's checksum, and returns its index. An empty pack has count 0.
func indexPack(rd io.Reader) (idx *idxfile.MemoryIndex, sum plumbing.Hash, count int, err error) {
	w := new(idxfile.Writer)
	p, err := packfile.NewParser(packfile.NewScanner(rd), w)
	if err != nil {
		return nil, sum, 0, fmt.Errorf("reading received pack: %w", err)
	}
	sum, err = p.Parse()
	if errors.Is(err, packfile.ErrEmptyPackfile) {
		return nil, sum, 0, nil
	}
	if err != nil {
		return nil, sum, 0, fmt.Errorf("reading received pack: %w", err)
	}
	idx, err = w.Index()
	if err != nil {
		return nil, sum, 0, fmt.Errorf("indexing received pack: %w", err)
	}
	n, err := idx.Count()
	if err != nil {
		return nil, sum, 0, fmt.Errorf("indexing received pack: %w", err)
	}
	return idx, sum, int(n), nil
}

// RefUpdate is one ref to change on a remote: from Old (zero: the ref must
// not exist) to New (zero: delete it).
type RefUpdate struct {
	Name     string
	Old, New Hash
}

// PushResult is what Push did.
type PushResult struct {
	// Remote are the refs the remote advertised before the push.
	Remote map[string]Hash
	// Updates are the updates sent; empty when plan asked for none.
	Updates []RefUpdate
	// Objects is how many objects were sent.
	Objects int
	// Rejected maps each refused ref to the remote's reason; Push's error
	// then wraps ErrPushRejected.
	Rejected map[string]string
}

// Push connects to url, gives plan the refs the remote has, and sends the
// updates plan returns, with every object they need that the remote does not
// already have (its refs say what it has). Each update is a compare-and-swap
// on the remote; when the remote supports it, all of them succeed or none
// does. plan returning no update sends nothing.
func (r *Repo) Push(ctx context.Context, url string, plan func(remote map[string]Hash) ([]RefUpdate, error)) (PushResult, error) {
	c, a, err := openService(ctx, r, url, receivePack, "pushing to")
	if err != nil {
		return PushResult{}, err
	}
	defer c.close()
	if !a.supports("report-status") {
		return PushResult{}, fmt.Errorf("pushing to %s: the remote does not report the result of a push (no report-status capability)", redactURL(url))
	}
	res := PushResult{Remote: a.refs}
	updates, err := plan(res.Remote)
	if err != nil || len(updates) == 0 {
		return res, err
	}
	var tips []Hash
	allDelete := true
	for _, u := range updates {
		if !validRefName(u.Name) || !strings.HasPrefix(u.Name, "refs/") {
			return res, fmt.Errorf("pushing to %s: invalid ref name %q", redactURL(url), clip(u.Name))
		}
		if u.New.IsZero() {
			if !a.supports("delete-refs") {
				return res, fmt.Errorf("pushing to %s: the remote does not allow deleting %s", redactURL(url), u.Name)
			}
		} else {
			allDelete = false
			tips = append(tips, u.New)
		}
	}
	res.Updates = updates
	var haves []Hash
	for _, name := range sortedKeys(res.Remote) {
		if h := res.Remote[name]; r.HasObject(h) {
			haves = append(haves, h)
		}
	}
	for _, h := range a.haves { // the remote's alternates have these too
		if r.HasObject(h) {
			haves = append(haves, h)
		}
	}
	objs, err := r.objectsToSend(tips, haves)
	if err != nil {
		return res, fmt.Errorf("pushing to %s: %w", redactURL(url), err)
	}
	res.Objects = len(objs)
	// plan may have run long, or ended ctx itself: send nothing then.
	if err := ctx.Err(); err != nil {
		return res, remoteErr(ctx, "pushing to", url, err)
	}
	caps := pushCaps(a)
	var packErr error
	write := func(w io.Writer) error {
		if err := writeCommands(w, updates, caps); err != nil {
			return err
		}
		if allDelete {
			return nil // receive-pack wants a pack unless every command is a delete
		}
		hs := make([]plumbing.Hash, len(objs))
		for i, h := range objs {
			hs[i] = plumbing.Hash(h)
		}
		_, packErr = packfile.NewEncoder(w, packSource{r}, !a.supports("ofs-delta")).Encode(hs, packWindow)
		return packErr
	}
	resp, wait, err := c.request(ctx, write)
	if err != nil {
		return res, remoteErr(ctx, "pushing to", url, err)
	}
	rep, err := readPushReport(resp)
	werr := wait()
	if packErr != nil {
		return res, fmt.Errorf("pushing to %s: making the pack: %w", redactURL(url), interrupted(ctx, packErr))
	}
	if err != nil {
		if werr != nil {
			err = fmt.Errorf("%w (sending: %v)", err, werr)
		}
		return res, remoteErr(ctx, "pushing to", url, err)
	}
	if rep.unpack != "ok" {
		return res, fmt.Errorf("pushing to %s: the remote could not unpack: %s: %w", redactURL(url), rep.unpack, ErrPushRejected)
	}
	if len(rep.rejected) > 0 {
		res.Rejected = rep.rejected
		var parts []string
		for _, name := range sortedKeys(res.Rejected) {
			parts = append(parts, name+" ("+res.Rejected[name]+")")
		}
		return res, fmt.Errorf("pushing to %s: refused %s: %w", redactURL(url), strings.Join(parts, ", "), ErrPushRejected)
	}
	return res, nil
}

// packSource lets go-git's pack encoder read this repository's objects.
// Only EncodedObject is used by the encoder; the other methods refuse.
type packSource struct{ r *Repo }

var _ storer.EncodedObjectStorer = packSource{}

var errReadOnly = errors.New("read-only object source")

func (s packSource) NewEncodedObject() plumbing.EncodedObject { return &plumbing.MemoryObject{} }
func (s packSource) SetEncodedObject(plumbing.EncodedObject) (plumbing.Hash, error) {
	return plumbing.ZeroHash, errReadOnly
}
func (s packSource) IterEncodedObjects(plumbing.ObjectType) (storer.EncodedObjectIter, error) {
	return nil, errReadOnly
}
func (s packSource) HasEncodedObject(h plumbing.Hash) error {
	if s.r.HasObject(Hash(h)) {
		return nil
	}
	return plumbing.ErrObjectNotFound
}
func (s packSource) EncodedObjectSize(h plumbing.Hash) (int64, error) {
	_, data, err := s.r.readObject(Hash(h))
	if err != nil {
		return 0, plumbing.ErrObjectNotFound
	}
	return int64(len(data)), nil
}
func (s packSource) AddAlternate(string) error { return errReadOnly }

func (s packSource) EncodedObject(t plumbing.ObjectType, h plumbing.Hash) (plumbing.EncodedObject, error) {
	typ, data, err := s.r.readObject(Hash(h))
	if errors.Is(err, ErrObjectNotFound) {
		return nil, plumbing.ErrObjectNotFound
	}
	if err != nil {
		return nil, err
	}
	pt := toPlumbingType(typ)
	if t != plumbing.AnyObject && t != pt {
		return nil, plumbing.ErrObjectNotFound
	}
	o := &plumbing.MemoryObject{}
	o.SetType(pt)
	o.SetSize(int64(len(data)))
	if _, err := o.Write(data); err != nil {
		return nil, err
	}
	return o, nil
}

func toPlumbingType(t ObjectType) plumbing.ObjectType {
	switch t {
	case CommitObject:
		return plumbing.CommitObject
	case TreeObject:
		return plumbing.TreeObject
	case BlobObject:
		return plumbing.BlobObject
	case TagObject:
		return plumbing.TagObject
	}
	return plumbing.InvalidObject
}

// walkNode is a commit met by objectsToSend's walk.
type walkNode struct {
	hash          Hash
	when          time.Time
	parents       []Hash
	tree          Hash
	uninteresting bool
	popped        bool
	index         int // in the queue; -1 when not queued
}

type walkQueue []*walkNode

func (q walkQueue) Len() int { return len(q) }
func (q walkQueue) Less(i, j int) bool {
	if !q[i].when.Equal(q[j].when) {
		return q[i].when.After(q[j].when)
	}
	return string(q[i].hash[:]) < string(q[j].hash[:])
}
func (q walkQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}
func (q *walkQueue) Push(x any) {
	n := x.(*walkNode)
	n.index = len(*q)
	*q = append(*q, n)
}
func (q *walkQueue) Pop() any {
	old := *q
	n := old[len(old)-1]
	*q = old[:len(old)-1]
	n.index = -1
	return n
}

// objectsToSend lists the objects reachable from wants and not from haves
// (which the receiver has, with everything they reach), as `git rev-list
// --objects wants --not haves` does: commits newest first, walked by commit
// date from both sides until nothing interesting is left, then the trees and
// blobs of the commits to send, minus those in the trees of the boundary
// commits. It may list an object the receiver has (harmless); it never
// leaves out one it lacks. Objects missing here (a shallow clone's cut-off
// parents) are not listed.
func (r *Repo) objectsToSend(wants, haves []Hash) ([]Hash, error) {
	nodes := map[Hash]*walkNode{}
	var q walkQueue
	interesting := 0
	var extra []Hash // wanted objects that are not commits
	load := func(h Hash) (*walkNode, error) {
		if n, ok := nodes[h]; ok {
			return n, nil
		}
		c, err := r.ReadCommit(h)
		if errors.Is(err, ErrObjectNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		n := &walkNode{hash: h, when: c.Committer.When, parents: c.Parents, tree: c.Tree, index: -1}
		nodes[h] = n
		return n, nil
	}
	var markDown func(n *walkNode)
	markDown = func(n *walkNode) {
		// n just became uninteresting: so does every ancestor already met.
		stack := []*walkNode{n}
		for len(stack) > 0 {
			m := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, p := range m.parents {
				pn := nodes[p]
				if pn == nil || pn.uninteresting {
					continue
				}
				if pn.index >= 0 {
					interesting--
				}
				pn.uninteresting = true
				if pn.popped {
					stack = append(stack, pn)
				}
			}
		}
	}
	enqueue := func(h Hash, uninteresting bool) error {
		n, err := load(h)
		if err != nil || n == nil {
			return err
		}
		if uninteresting && !n.uninteresting {
			if n.index >= 0 {
				interesting--
			}
			n.uninteresting = true
			if n.popped {
				markDown(n)
			}
		}
		if !n.popped && n.index < 0 {
			heap.Push(&q, n)
			if !n.uninteresting {
				interesting++
			}
		}
		return nil
	}
	for _, h := range haves {
		t, _, err := r.readObject(h)
		if err != nil {
			continue
		}
		if t == TagObject {
			if h, err = r.peelTags(h); err != nil {
				continue
			}
		}
		if err := enqueue(h, true); err != nil {
			return nil, err
		}
	}
	for _, h := range wants {
		t, data, err := r.readObject(h)
		if err != nil {
			return nil, err
		}
		for t == TagObject {
			extra = append(extra, h)
			if h, t, err = tagTarget(data); err != nil {
				return nil, err
			}
			if t, data, err = r.readObject(h); err != nil {
				return nil, err
			}
		}
		switch t {
		case CommitObject:
			if err := enqueue(h, false); err != nil {
				return nil, err
			}
		case TreeObject:
			extra = append(extra, h) // its content is walked below
		default:
			extra = append(extra, h)
		}
	}
	var order []*walkNode
	for interesting > 0 && q.Len() > 0 {
		n := heap.Pop(&q).(*walkNode)
		n.popped = true
		if !n.uninteresting {
			interesting--
			order = append(order, n)
		}
		for _, p := range n.parents {
			if err := enqueue(p, n.uninteresting); err != nil {
				return nil, err
			}
		}
	}

	// Trees and blobs the receiver has: those of the boundary commits.
	have := map[Hash]bool{}
	var markTree func(h Hash) error
	markTree = func(h Hash) error {
		if have[h] {
			return nil
		}
		have[h] = true
		entries, err := r.ReadTree(h)
		if errors.Is(err, ErrObjectNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, e := range entries {
			switch {
			case e.Mode == ModeSubmodule:
			case e.Mode.IsDir():
				if err := markTree(e.Hash); err != nil {
					return err
				}
			default:
				have[e.Hash] = true
			}
		}
		return nil
	}
	for _, n := range order {
		if n.uninteresting {
			continue
		}
		for _, p := range n.parents {
			if pn := nodes[p]; pn != nil && pn.uninteresting {
				if err := markTree(pn.tree); err != nil {
					return nil, err
				}
			}
		}
	}

	var out []Hash
	sent := map[Hash]bool{}
	add := func(h Hash) bool {
		if have[h] || sent[h] {
			return false
		}
		sent[h] = true
		out = append(out, h)
		return true
	}
	var addTree func(h Hash) error
	addTree = func(h Hash) error {
		if !add(h) {
			return nil
		}
		entries, err := r.ReadTree(h)
		if err != nil {
			return err
		}
		for _, e := range entries {
			switch {
			case e.Mode == ModeSubmodule:
			case e.Mode.IsDir():
				if err := addTree(e.Hash); err != nil {
					return err
				}
			default:
				add(e.Hash)
			}
		}
		return nil
	}
	for _, n := range order {
		if !n.uninteresting {
			add(n.hash)
		}
	}
	for _, n := range order {
		if n.uninteresting {
			continue
		}
		if err := addTree(n.tree); err != nil {
			return nil, err
		}
	}
	for _, h := range extra {
		if t, _, err := r.readObject(h); err == nil && t == TreeObject {
			if err := addTree(h); err != nil {
				return nil, err
			}
			continue
		}
		add(h)
	}
	return out, nil
}

// IsAncestor reports whether a is b or one of b's ancestors. Commits missing
// from the object database (a shallow clone's cut-off history) end the walk
// along that line.
func (r *Repo) IsAncestor(a, b Hash) (bool, error) {
	if a == b {
		return true, nil
	}
	seen := map[Hash]bool{b: true}
	stack := []Hash{b}
	for len(stack) > 0 {
		h := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		c, err := r.ReadCommit(h)
		if errors.Is(err, ErrObjectNotFound) {
			continue
		}
		if err != nil {
			return false, err
		}
		for _, p := range c.Parents {
			if p == a {
				return true, nil
			}
			if !seen[p] {
				seen[p] = true
				stack = append(stack, p)
			}
		}
	}
	return false, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Objects are a few commits' objects held in memory, fetched by
// FetchCommits for a runtime that has no clone: the pack as received, with
// an index made of it. Its methods read them as a Repo's do. An *Objects
// is safe for concurrent use once returned.
type Objects struct {
	db   objectDB // no directories: only p
	p    *pack    // nil when nothing was fetched
	refs map[string]Hash
}

// FetchCommits connects to url, gives pick the refs the remote advertises,
// and fetches into memory the commits pick returns with their trees and
// blobs but none of their history (a shallow fetch of depth 1). Nothing is
// written to disk. A commit that no ref points at is fetched only if the
// remote allows it (uploadpack.allowReachableSHA1InWant); otherwise the
// error wraps ErrNotAdvertised.
func FetchCommits(ctx context.Context, url string, pick func(refs map[string]Hash) ([]Hash, error)) (*Objects, error) {
	c, a, err := openService(ctx, nil, url, uploadPack, "fetching from")
	if err != nil {
		return nil, err
	}
	defer c.close()
	o := &Objects{refs: a.refs}
	wants, err := pick(o.Refs())
	if err != nil {
		return nil, err
	}
	if len(wants) == 0 {
		return o, nil
	}
	advertised := map[Hash]bool{}
	for _, h := range o.refs {
		advertised[h] = true
	}
	anyWant := a.supports("allow-reachable-sha1-in-want") || a.supports("allow-tip-sha1-in-want")
	req := fetchRequest{depth: 1}
	seen := map[Hash]bool{}
	for _, h := range wants {
		if seen[h] {
			continue
		}
		seen[h] = true
		if !advertised[h] && !anyWant {
			return nil, fmt.Errorf("fetching %s from %s: no ref of the remote points at it, and the remote does not allow fetching other commits (git config uploadpack.allowReachableSHA1InWant true): %w", h.short(), redactURL(url), ErrNotAdvertised)
		}
		req.wants = append(req.wants, h)
	}
	_, err = fetchPack(ctx, c, a, req, func(packData io.Reader) error {
		data, err := io.ReadAll(packData)
		if err != nil {
			return fmt.Errorf("receiving the pack: %w", err)
		}
		idx, _, count, err := indexPack(bytes.NewReader(data))
		if err != nil || count == 0 {
			return err
		}
		var buf bytes.Buffer
		if _, err := idxfile.NewEncoder(&buf).Encode(idx); err != nil {
			return fmt.Errorf("indexing the pack: %w", err)
		}
		ix, err := parsePackIndex(buf.Bytes())
		if err != nil {
			return fmt.Errorf("indexing the pack: %w", err)
		}
		o.p = &pack{packPath: "fetched", idx: ix, data: data}
		return nil
	})
	if err != nil {
		return nil, remoteErr(ctx, "fetching from", url, err)
	}
	for _, h := range req.wants {
		if _, err := o.readTyped(h, CommitObject); err != nil {
			return nil, fmt.Errorf("fetching from %s: the remote sent no commit %s", redactURL(url), h.short())
		}
	}
	return o, nil
}

// Refs returns the refs the remote advertised ("HEAD" included).
func (o *Objects) Refs() map[string]Hash {
	out := make(map[string]Hash, len(o.refs))
	for k, v := range o.refs {
		out[k] = v
	}
	return out
}

// readTyped reads an object of type want; the data is the caller's.
func (o *Objects) readTyped(h Hash, want ObjectType) ([]byte, error) {
	if o.p == nil {
		return nil, fmt.Errorf("reading %s %s: %w", want, h.short(), ErrObjectNotFound)
	}
	o.db.mu.Lock()
	defer o.db.mu.Unlock()
	off, found, err := o.p.idx.find(h)
	if err == nil && !found {
		err = ErrObjectNotFound
	}
	var typ ObjectType
	var data []byte
	if err == nil {
		typ, data, err = o.db.readPacked(o.p, off, 0)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s %s: %w", want, h.short(), err)
	}
	if typ != want {
		return nil, wrongType(h, typ, want)
	}
	return bytes.Clone(data), nil
}

// ReadBlob returns a blob's content. The caller owns the returned slice.
func (o *Objects) ReadBlob(h Hash) ([]byte, error) { return o.readTyped(h, BlobObject) }

// ReadCommit returns a parsed commit.
func (o *Objects) ReadCommit(h Hash) (*Commit, error) { return readCommit(o, h) }

// TreeEntryAt returns the entry at a '/'-separated path in a commit; an
// empty path gives the root tree.
func (o *Objects) TreeEntryAt(commit Hash, path string) (TreeEntry, error) {
	return treeEntryAt(o, commit, path)
}

// FileAt returns the content and blob id of the file at path in a commit.
func (o *Objects) FileAt(commit Hash, path string) ([]byte, Hash, error) {
	return fileAt(o, commit, path)
}

// DirAt returns the entries of the directory at path in a commit.
func (o *Objects) DirAt(commit Hash, dir string) ([]TreeEntry, error) {
	return dirAt(o, commit, dir)
}
