package repo

// Talking to other repositories: listing a remote's refs, fetching objects
// into this repository (as a pack with its index under objects/pack),
// pushing ref updates with the objects they need, and fetching one commit's
// objects into memory for a runtime that has no clone.
//
// The wire protocol is go-git's plumbing: plumbing/transport/client picks the
// transport for file:// (and plain paths; it runs git-upload-pack and
// git-receive-pack), git://, http(s):// and ssh:// (and scp-like
// user@host:path; authentication through ssh-agent and known_hosts), and
// plumbing/protocol/packp speaks the v0/v1 protocol. go-git's root package is
// not used (PERF.md).
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

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/sideband"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
	"github.com/go-git/go-git/v5/storage/memory"
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

// endpoint parses a URL and picks its transport.
func endpoint(url string) (transport.Transport, *transport.Endpoint, error) {
	ep, err := transport.NewEndpoint(url)
	if err != nil {
		return nil, nil, fmt.Errorf("remote %s: %w", url, err)
	}
	t, err := client.NewClient(ep)
	if err != nil {
		return nil, nil, fmt.Errorf("remote %s: %w", url, err)
	}
	return t, ep, nil
}

// remoteErr words a transport error for a person.
func remoteErr(op, url string, err error) error {
	switch {
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return fmt.Errorf("%s %s: no git repository there: %w", op, url, err)
	case errors.Is(err, transport.ErrAuthenticationRequired), errors.Is(err, transport.ErrAuthorizationFailed):
		return fmt.Errorf("%s %s: %w (gitseal uses ssh-agent for ssh:// and the credentials in an http(s) URL)", op, url, err)
	}
	return fmt.Errorf("%s %s: %w", op, url, err)
}

func advRefs(ar *packp.AdvRefs) map[string]Hash {
	refs := make(map[string]Hash, len(ar.References)+1)
	for name, h := range ar.References {
		refs[name] = Hash(h)
	}
	if ar.Head != nil {
		refs["HEAD"] = Hash(*ar.Head)
	}
	return refs
}

// ListRemote returns the refs a remote advertises, by full name, with
// "HEAD" when the remote has one. An empty repository has none.
func ListRemote(ctx context.Context, url string) (map[string]Hash, error) {
	s, ar, err := openUploadPack(ctx, url, "listing refs of")
	if err != nil {
		return nil, err
	}
	s.Close()
	return advRefs(ar), nil
}

// openUploadPack opens an upload-pack session with url and reads the refs
// it advertises (none for an empty repository). op names the operation in
// errors. The caller closes the session.
func openUploadPack(ctx context.Context, url, op string) (transport.UploadPackSession, *packp.AdvRefs, error) {
	t, ep, err := endpoint(url)
	if err != nil {
		return nil, nil, err
	}
	s, err := t.NewUploadPackSession(ep, nil)
	if err != nil {
		return nil, nil, remoteErr(op, url, err)
	}
	ar, err := s.AdvertisedReferencesContext(ctx)
	if errors.Is(err, transport.ErrEmptyRemoteRepository) {
		ar, err = packp.NewAdvRefs(), nil
	}
	if err != nil {
		s.Close()
		return nil, nil, remoteErr(op, url, err)
	}
	return s, ar, nil
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
func (r *Repo) Fetch(ctx context.Context, url string, match func(ref string) bool) (FetchResult, error) {
	s, ar, err := openUploadPack(ctx, url, "fetching from")
	if err != nil {
		return FetchResult{}, err
	}
	defer s.Close()
	res := FetchResult{Refs: advRefs(ar)}
	var wants []Hash
	seen := map[Hash]bool{}
	names := sortedKeys(res.Refs)
	for _, name := range names {
		h := res.Refs[name]
		if name == "HEAD" || !match(name) || seen[h] {
			continue
		}
		seen[h] = true
		if !r.HasObject(h) {
			wants = append(wants, h)
		}
	}
	if len(wants) == 0 {
		return res, nil
	}
	req := newUploadRequest(ar)
	for _, h := range wants {
		req.Wants = append(req.Wants, plumbing.Hash(h))
	}
	req.Haves, err = r.haves()
	if err != nil {
		return FetchResult{}, fmt.Errorf("fetching from %s: %w", url, err)
	}
	resp, err := s.UploadPack(ctx, req)
	if err != nil {
		return FetchResult{}, remoteErr("fetching from", url, err)
	}
	defer resp.Close()
	n, err := r.writePack(demux(req.Capabilities, resp))
	if err != nil {
		return FetchResult{}, fmt.Errorf("fetching from %s: %w", url, err)
	}
	res.Objects = n
	for _, h := range wants {
		if !r.HasObject(h) {
			return FetchResult{}, fmt.Errorf("fetching from %s: the remote sent no object %s", url, h.short())
		}
	}
	return res, nil
}

// newUploadRequest asks for a complete pack (never a thin one: the pack is
// stored as it arrives) without progress messages.
func newUploadRequest(ar *packp.AdvRefs) *packp.UploadPackRequest {
	req := packp.NewUploadPackRequestFromCapabilities(ar.Capabilities)
	req.Capabilities.Delete(capability.ThinPack)
	if ar.Capabilities.Supports(capability.NoProgress) {
		req.Capabilities.Set(capability.NoProgress)
	}
	return req
}

// demux strips side-band framing from an upload-pack response, when the
// request asked for it.
func demux(caps *capability.List, rd io.Reader) io.Reader {
	switch {
	case caps.Supports(capability.Sideband64k):
		return sideband.NewDemuxer(sideband.Sideband64k, rd)
	case caps.Supports(capability.Sideband):
		return sideband.NewDemuxer(sideband.Sideband, rd)
	}
	return rd
}

// haves lists the commits this repository has at its refs, for the remote
// to leave out of the pack.
func (r *Repo) haves() ([]plumbing.Hash, error) {
	refs, err := r.Refs("refs/")
	if err != nil {
		return nil, err
	}
	seen := map[Hash]bool{}
	var out []plumbing.Hash
	add := func(h Hash) {
		if !h.IsZero() && !seen[h] && r.HasObject(h) {
			seen[h] = true
			out = append(out, plumbing.Hash(h))
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
	w := new(idxfile.Writer)
	p, err := packfile.NewParser(packfile.NewScanner(f), w)
	if err != nil {
		return 0, fmt.Errorf("reading received pack: %w", err)
	}
	sum, err := p.Parse()
	if errors.Is(err, packfile.ErrEmptyPackfile) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading received pack: %w", err)
	}
	idx, err := w.Index()
	if err != nil {
		return 0, fmt.Errorf("indexing received pack: %w", err)
	}
	count, err := idx.Count()
	if err != nil {
		return 0, fmt.Errorf("indexing received pack: %w", err)
	}
	if count == 0 {
		return 0, nil
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
	t, ep, err := endpoint(url)
	if err != nil {
		return PushResult{}, err
	}
	s, err := t.NewReceivePackSession(ep, nil)
	if err != nil {
		return PushResult{}, remoteErr("pushing to", url, err)
	}
	defer s.Close()
	ar, err := s.AdvertisedReferencesContext(ctx)
	if err != nil && !errors.Is(err, transport.ErrEmptyRemoteRepository) {
		return PushResult{}, remoteErr("pushing to", url, err)
	}
	if ar == nil {
		ar = packp.NewAdvRefs()
	}
	res := PushResult{Remote: advRefs(ar)}
	updates, err := plan(res.Remote)
	if err != nil || len(updates) == 0 {
		return res, err
	}
	req := packp.NewReferenceUpdateRequestFromCapabilities(ar.Capabilities)
	if ar.Capabilities.Supports(capability.Atomic) {
		req.Capabilities.Set(capability.Atomic)
	}
	var tips []Hash
	allDelete := true
	for _, u := range updates {
		if !validRefName(u.Name) || !strings.HasPrefix(u.Name, "refs/") {
			return res, fmt.Errorf("pushing to %s: invalid ref name %q", url, clip(u.Name))
		}
		if u.New.IsZero() {
			if !ar.Capabilities.Supports(capability.DeleteRefs) {
				return res, fmt.Errorf("pushing to %s: the remote does not allow deleting %s", url, u.Name)
			}
		} else {
			allDelete = false
			tips = append(tips, u.New)
		}
		req.Commands = append(req.Commands, &packp.Command{Name: plumbing.ReferenceName(u.Name),
			Old: plumbing.Hash(u.Old), New: plumbing.Hash(u.New)})
	}
	if ar.Capabilities.Supports(capability.DeleteRefs) {
		req.Capabilities.Set(capability.DeleteRefs)
	}
	res.Updates = updates
	var haves []Hash
	for _, name := range sortedKeys(res.Remote) {
		if h := res.Remote[name]; r.HasObject(h) {
			haves = append(haves, h)
		}
	}
	objs, err := r.objectsToSend(tips, haves)
	if err != nil {
		return res, fmt.Errorf("pushing to %s: %w", url, err)
	}
	res.Objects = len(objs)
	encErr := make(chan error, 1)
	if !allDelete {
		// receive-pack wants a pack, even an empty one, unless every
		// command is a delete.
		pr, pw := io.Pipe()
		req.Packfile = pr
		go func() {
			hs := make([]plumbing.Hash, len(objs))
			for i, h := range objs {
				hs[i] = plumbing.Hash(h)
			}
			_, err := packfile.NewEncoder(pw, packSource{r}, !ar.Capabilities.Supports(capability.OFSDelta)).Encode(hs, packWindow)
			pw.CloseWithError(err)
			encErr <- err
		}()
	} else {
		encErr <- nil
	}
	rs, err := s.ReceivePack(ctx, req)
	if req.Packfile != nil {
		req.Packfile.Close()
	}
	if e := <-encErr; e != nil {
		return res, fmt.Errorf("pushing to %s: making the pack: %w", url, e)
	}
	if rs != nil {
		for _, cs := range rs.CommandStatuses {
			if cs.Status != "ok" {
				if res.Rejected == nil {
					res.Rejected = map[string]string{}
				}
				res.Rejected[cs.ReferenceName.String()] = cs.Status
			}
		}
		if rs.UnpackStatus != "ok" && rs.UnpackStatus != "" {
			return res, fmt.Errorf("pushing to %s: the remote could not unpack: %s: %w", url, rs.UnpackStatus, ErrPushRejected)
		}
	}
	if len(res.Rejected) > 0 {
		var parts []string
		for _, name := range sortedKeys(res.Rejected) {
			parts = append(parts, name+" ("+res.Rejected[name]+")")
		}
		return res, fmt.Errorf("pushing to %s: refused %s: %w", url, strings.Join(parts, ", "), ErrPushRejected)
	}
	if err != nil {
		return res, remoteErr("pushing to", url, err)
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
// FetchCommits for a runtime that has no clone. Its methods read them as a
// Repo's do. An *Objects is safe for concurrent use once returned.
type Objects struct {
	st   *memory.Storage
	refs map[string]Hash
}

// FetchCommits connects to url, gives pick the refs the remote advertises,
// and fetches into memory the commits pick returns with their trees and
// blobs but none of their history (a shallow fetch of depth 1). Nothing is
// written to disk. A commit that no ref points at is fetched only if the
// remote allows it (uploadpack.allowReachableSHA1InWant); otherwise the
// error wraps ErrNotAdvertised.
func FetchCommits(ctx context.Context, url string, pick func(refs map[string]Hash) ([]Hash, error)) (*Objects, error) {
	s, ar, err := openUploadPack(ctx, url, "fetching from")
	if err != nil {
		return nil, err
	}
	defer s.Close()
	o := &Objects{st: memory.NewStorage(), refs: advRefs(ar)}
	wants, err := pick(o.refs)
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
	anyWant := ar.Capabilities.Supports(capability.AllowReachableSHA1InWant) || ar.Capabilities.Supports(capability.AllowTipSHA1InWant)
	req := newUploadRequest(ar)
	seen := map[Hash]bool{}
	for _, h := range wants {
		if seen[h] {
			continue
		}
		seen[h] = true
		if !advertised[h] && !anyWant {
			return nil, fmt.Errorf("fetching %s from %s: no ref of the remote points at it, and the remote does not allow fetching other commits (git config uploadpack.allowReachableSHA1InWant true): %w", h.short(), url, ErrNotAdvertised)
		}
		req.Wants = append(req.Wants, plumbing.Hash(h))
	}
	if ar.Capabilities.Supports(capability.Shallow) {
		req.Capabilities.Set(capability.Shallow)
		req.Depth = packp.DepthCommits(1)
	}
	resp, err := s.UploadPack(ctx, req)
	if err != nil {
		return nil, remoteErr("fetching from", url, err)
	}
	defer resp.Close()
	if err := packfile.UpdateObjectStorage(o.st, demux(req.Capabilities, resp)); err != nil {
		return nil, fmt.Errorf("fetching from %s: reading the pack: %w", url, err)
	}
	for _, h := range req.Wants {
		if _, err := o.st.EncodedObject(plumbing.CommitObject, h); err != nil {
			return nil, fmt.Errorf("fetching from %s: the remote sent no commit %s", url, Hash(h).short())
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
	eo, err := o.st.EncodedObject(toPlumbingType(want), plumbing.Hash(h))
	if err != nil {
		return nil, fmt.Errorf("reading %s %s: %w", want, h.short(), ErrObjectNotFound)
	}
	rd, err := eo.Reader()
	if err != nil {
		return nil, fmt.Errorf("reading %s %s: %w", want, h.short(), err)
	}
	defer rd.Close()
	data, err := io.ReadAll(rd)
	if err != nil {
		return nil, fmt.Errorf("reading %s %s: %w", want, h.short(), err)
	}
	return data, nil
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
