package publish

// Push and Fetch move refs/gitseal/* between a repository and a remote, and
// never a branch. The rules (FORMAT.md §5):
//
//   - A chain ref (refs/gitseal/publish/ENV, refs/gitseal/audit, any other
//     ref under refs/gitseal/ that is not a pin) moves only forward: it is
//     created, or fast-forwarded to a descendant. A destination that is
//     ahead is left alone (the other direction brings it back); one that has
//     diverged is refused, never forced.
//   - Except the audit log on fetch: two clones that both recorded reveals
//     have diverged logs, and that is normal. Fetch joins them with a merge
//     entry whose parents are both tips (nothing of either is lost), so the
//     next push fast-forwards. Push refuses a diverged log and says to fetch.
//   - A pin is not judged on its own, since publishing an older commit moves
//     a pin backwards on purpose. It follows its environment's publish
//     history: when the history is created, fast-forwarded or already equal,
//     the destination's pin is set to what the newest record says (the
//     commit, or no pin after an unpublish), and the source's pin must agree
//     with that record. When the history does not move, the pin does not
//     either. A pin with no publish history is not moved.
//   - Every ref update is a compare-and-swap against the value the plan was
//     made from: on the remote (receive-pack's old value; atomic when the
//     remote supports it) or locally (UpdateRef, under the gitseal lock).

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/gitseal/gitseal/repo"
	"github.com/gitseal/gitseal/versioning"
)

// RefPrefix is the namespace Push and Fetch move: pins, publish history and
// the audit log.
const RefPrefix = "refs/gitseal/"

// ErrRefused: Push or Fetch refused to move a ref (diverged history, or a
// pin that its history does not record). Other refs may have moved.
var ErrRefused = errors.New("refused")

// Statuses of a RefChange.
const (
	StatusUpToDate = "up to date" // both sides agree
	StatusCreated  = "created"    // the destination had no such ref
	StatusUpdated  = "updated"    // moved: a fast-forward, or a pin following its history
	StatusDeleted  = "deleted"    // a pin removed after an unpublish
	StatusBehind   = "behind"     // the destination is ahead: nothing to move
	StatusSkipped  = "skipped"    // not moved, and not an error (Reason says why)
	StatusRefused  = "refused"    // not moved: an error (Reason says why)
	StatusMerged   = "merged"     // fetch: a diverged audit log joined with a merge entry
)

// RefChange is what Push or Fetch did, or would not do, with one ref.
type RefChange struct {
	Ref string
	// Old is the destination's value before, New the value it has (or
	// would have had) after; zero means no ref.
	Old, New repo.Hash
	Status   string
	Reason   string

	theirs repo.Hash // a diverged chain: the source's value
}

// SyncResult is what Push or Fetch did.
type SyncResult struct {
	// URL is the remote's URL.
	URL string
	// Changes lists every gitseal ref considered, sorted by name.
	Changes []RefChange
	// Objects is how many objects were sent or received.
	Objects int
}

// Changed reports whether any ref moved.
func (s SyncResult) Changed() bool {
	for _, c := range s.Changes {
		switch c.Status {
		case StatusCreated, StatusUpdated, StatusDeleted, StatusMerged:
			return true
		}
	}
	return false
}

// refusedErr returns an error wrapping ErrRefused naming the refused refs.
func (s SyncResult) refusedErr(op string) error {
	var parts []string
	for _, c := range s.Changes {
		if c.Status == StatusRefused {
			parts = append(parts, c.Ref+": "+c.Reason)
		}
	}
	if len(parts) == 0 {
		return nil
	}
	return fmt.Errorf("%s %s: %s: %w", op, s.URL, strings.Join(parts, "; "), ErrRefused)
}

// side names the two sides of a sync in messages.
type side struct {
	src, dst string // "this clone", "the remote"
	catchUp  string // the command that brings dst's newer entries to src
}

var (
	pushing  = side{src: "this clone", dst: "the remote", catchUp: "gitseal fetch"}
	fetching = side{src: "the remote", dst: "this clone", catchUp: "gitseal push"}
)

func isPin(name string) bool { return strings.HasPrefix(name, PinRefPrefix) }

// plan decides, from the source's and destination's gitseal refs, what
// moves. Objects of both sides' values must be readable from r, except that
// a destination value r lacks makes its ref refused (push: fetch first).
func plan(r *repo.Repo, src, dst map[string]repo.Hash, sd side) ([]RefChange, error) {
	var out []RefChange
	chain := map[string]int{} // index in out
	for _, name := range sortedNames(src) {
		if isPin(name) {
			continue
		}
		s, d := src[name], dst[name]
		c := RefChange{Ref: name, Old: d, New: s}
		switch {
		case s == d:
			c.Status = StatusUpToDate
		case d.IsZero():
			c.Status = StatusCreated
		case !r.HasObject(d):
			c.Status, c.New = StatusRefused, d
			c.Reason = fmt.Sprintf("%s has entries %s has not seen; run `%s` first", sd.dst, sd.src, sd.catchUp)
		default:
			ff, err := r.IsAncestor(d, s)
			if err != nil {
				return nil, err
			}
			behind := false
			if !ff {
				if behind, err = r.IsAncestor(s, d); err != nil {
					return nil, err
				}
			}
			switch {
			case ff:
				c.Status = StatusUpdated
			case behind:
				c.Status, c.New = StatusBehind, d
				c.Reason = fmt.Sprintf("%s is ahead; `%s` brings its entries here", sd.dst, sd.catchUp)
			case name == versioning.AuditRef:
				c.Status, c.New, c.theirs = StatusRefused, d, s
				c.Reason = "the audit logs have diverged (both sides recorded reveals); `gitseal fetch` joins them, then push again"
			default:
				c.Status, c.New = StatusRefused, d
				c.Reason = "the histories have diverged (not a fast-forward); not forced"
			}
		}
		chain[name] = len(out)
		out = append(out, c)
	}
	// Pins follow their history.
	envs := map[string]bool{}
	for name := range src {
		if env, ok := strings.CutPrefix(name, PinRefPrefix); ok {
			envs[env] = true
		}
		if env, ok := strings.CutPrefix(name, HistoryRefPrefix); ok {
			envs[env] = true
		}
	}
	var pins []RefChange
	for _, env := range sortedNames(envs) {
		pinRef, histRef := PinRef(env), HistoryRef(env)
		sPin, dPin := src[pinRef], dst[pinRef]
		var hist *RefChange
		if i, ok := chain[histRef]; ok {
			hist = &out[i]
		}
		if validEnv(env) != nil {
			if hist != nil {
				hist.Status, hist.New, hist.Reason = StatusSkipped, hist.Old, "not a gitseal environment name"
			}
			continue
		}
		if hist == nil {
			if !sPin.IsZero() && sPin != dPin {
				pins = append(pins, RefChange{Ref: pinRef, Old: dPin, New: dPin, Status: StatusSkipped,
					Reason: "a pin with no publish history is not moved (publish it with `gitseal publish " + env + "`)"})
			}
			continue
		}
		switch hist.Status {
		case StatusUpToDate, StatusCreated, StatusUpdated:
		default:
			continue // the pin stays with the history it belongs to
		}
		rec, err := readRecord(r, hist.New)
		switch {
		case err != nil:
			hist.Status, hist.New, hist.Reason = StatusRefused, hist.Old, "unreadable publish record: "+err.Error()
			continue
		case rec.Env != env:
			hist.Status, hist.New, hist.Reason = StatusRefused, hist.Old, "its newest record is for environment "+rec.Env
			continue
		case sPin != rec.Commit:
			why := fmt.Sprintf("%s's pin (%s) is not what its newest publish record says (%s); publish again to repair it", sd.src, describe(sPin), describe(rec.Commit))
			if hist.Status != StatusUpToDate {
				hist.Status, hist.New, hist.Reason = StatusRefused, hist.Old, why
			}
			pins = append(pins, RefChange{Ref: pinRef, Old: dPin, New: dPin, Status: StatusRefused, Reason: why})
			continue
		}
		c := RefChange{Ref: pinRef, Old: dPin, New: rec.Commit}
		switch {
		case dPin == rec.Commit:
			c.Status = StatusUpToDate
		case dPin.IsZero():
			c.Status = StatusCreated
		case rec.Commit.IsZero():
			c.Status = StatusDeleted
		default:
			c.Status = StatusUpdated
		}
		pins = append(pins, c)
	}
	out = append(out, pins...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Ref < out[j].Ref })
	return out, nil
}

func describe(h repo.Hash) string {
	if h.IsZero() {
		return "none"
	}
	return h.String()[:7]
}

func moves(c RefChange) bool {
	return c.Status == StatusCreated || c.Status == StatusUpdated || c.Status == StatusDeleted
}

func gitsealRefs(all map[string]repo.Hash) map[string]repo.Hash {
	out := map[string]repo.Hash{}
	for name, h := range all {
		if strings.HasPrefix(name, RefPrefix) {
			out[name] = h
		}
	}
	return out
}

// Push sends this repository's gitseal refs to remote (a remote name, ""
// for origin, or a URL) under the rules at the top of this file, with the
// objects they need. Refused refs make the error wrap ErrRefused; the
// others still move (all of them or none, when the remote supports atomic
// pushes, with any ref the remote itself refuses).
func Push(ctx context.Context, r *repo.Repo, remote string) (SyncResult, error) {
	url, err := r.RemoteURL(remote)
	if err != nil {
		return SyncResult{}, fmt.Errorf("push: %w", err)
	}
	res := SyncResult{URL: url}
	local, err := r.Refs(RefPrefix)
	if err != nil {
		return res, fmt.Errorf("push: %w", err)
	}
	pr, err := r.Push(ctx, url, func(remoteRefs map[string]repo.Hash) ([]repo.RefUpdate, error) {
		changes, err := plan(r, local, gitsealRefs(remoteRefs), pushing)
		if err != nil {
			return nil, err
		}
		res.Changes = changes
		var ups []repo.RefUpdate
		for _, c := range changes {
			if moves(c) {
				ups = append(ups, repo.RefUpdate{Name: c.Ref, Old: c.Old, New: c.New})
			}
		}
		return ups, nil
	})
	res.Objects = pr.Objects
	if err != nil {
		if !errors.Is(err, repo.ErrPushRejected) {
			return res, fmt.Errorf("push: %w", err)
		}
		// The remote refused: nothing it refused moved, and with an atomic
		// push nothing moved at all.
		for i, c := range res.Changes {
			if !moves(c) {
				continue
			}
			why, refused := pr.Rejected[c.Ref]
			if !refused {
				why = "the remote refused the push: " + err.Error()
			}
			res.Changes[i].Status, res.Changes[i].New, res.Changes[i].Reason = StatusRefused, c.Old, why
		}
	}
	return res, res.refusedErr("push to")
}

// Fetch brings remote's gitseal refs (a remote name, "" for origin, or a
// URL) into this repository under the rules at the top of this file: it
// receives the objects first, then, under the repository's gitseal lock,
// moves each accepted ref with compare-and-swap. Refused refs make the
// error wrap ErrRefused; the others still move.
func Fetch(ctx context.Context, r *repo.Repo, remote string) (SyncResult, error) {
	url, err := r.RemoteURL(remote)
	if err != nil {
		return SyncResult{}, fmt.Errorf("fetch: %w", err)
	}
	res := SyncResult{URL: url}
	fr, err := r.Fetch(ctx, url, func(name string) bool { return strings.HasPrefix(name, RefPrefix) })
	if err != nil {
		return res, fmt.Errorf("fetch: %w", err)
	}
	res.Objects = fr.Objects
	lock, err := r.Lock(ctx)
	if err != nil {
		return res, fmt.Errorf("fetch: %w", err)
	}
	defer lock.Unlock()
	local, err := r.Refs(RefPrefix)
	if err != nil {
		return res, fmt.Errorf("fetch: %w", err)
	}
	if res.Changes, err = plan(r, gitsealRefs(fr.Refs), local, fetching); err != nil {
		return res, fmt.Errorf("fetch: %w", err)
	}
	// A diverged audit log is joined, not refused.
	for i, c := range res.Changes {
		if c.Ref != versioning.AuditRef || c.theirs.IsZero() {
			continue
		}
		related, err := versioning.AuditLogsShareEntry(r, c.Old, c.theirs)
		if err != nil {
			res.Changes[i].Reason = "reading the diverged audit logs failed: " + err.Error()
			continue
		}
		tip, err := versioning.MergeAuditLog(ctx, r, c.theirs)
		if err != nil {
			res.Changes[i].Reason = "joining the diverged audit logs failed: " + err.Error()
			continue
		}
		res.Changes[i].Status, res.Changes[i].New, res.Changes[i].Reason = StatusMerged, tip, ""
		if !related {
			// Joined all the same: nothing of either is lost, and the next
			// push puts this clone's entries back on the remote. But say it.
			res.Changes[i].Reason = "the remote's audit log shares no entry with this clone's: it was replaced, not extended; both were kept, so check who rewrote it"
		}
	}
	// Chains first, then pins, so that a pin never gets ahead of the
	// history that records it.
	for pass := 0; pass < 2; pass++ {
		for i, c := range res.Changes {
			if !moves(c) || isPin(c.Ref) != (pass == 1) {
				continue
			}
			if pass == 1 {
				if h := res.historyOf(c.Ref); h != nil && !moves(*h) && h.Status != StatusUpToDate {
					res.Changes[i].Status, res.Changes[i].New, res.Changes[i].Reason = StatusRefused, c.Old, "its publish history did not move"
					continue
				}
			}
			if err := r.UpdateRef(c.Ref, c.New, c.Old, "gitseal: fetch from "+url); err != nil {
				res.Changes[i].Status, res.Changes[i].New, res.Changes[i].Reason = StatusRefused, c.Old, err.Error()
			}
		}
	}
	return res, res.refusedErr("fetch from")
}

// historyOf finds the history change of a pin's environment.
func (s SyncResult) historyOf(pinRef string) *RefChange {
	want := HistoryRef(strings.TrimPrefix(pinRef, PinRefPrefix))
	for i := range s.Changes {
		if s.Changes[i].Ref == want {
			return &s.Changes[i]
		}
	}
	return nil
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
