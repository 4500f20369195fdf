package repo

// Revision syntax understood by ResolveCommit, a subset of gitrevisions(7):
//
//	40 hex digits, or a unique prefix of at least 4
//	HEAD, @
//	NAME: tried as NAME (pseudo-refs like FETCH_HEAD), refs/NAME,
//	      refs/tags/NAME, refs/heads/NAME, refs/remotes/NAME,
//	      refs/remotes/NAME/HEAD, in git's order
//	REV~N, REV~, REV^N, REV^, REV^0, REV^{commit}, REV^{}
//
// Reflog forms (@{...}), :path and ^{/text} searches are not supported and
// read as unknown revisions.

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

const maxPeel = 16

// ResolveCommit turns revision text into a commit id. Annotated tags are
// peeled. A revision that names nothing, or names something other than a
// commit, gives an error wrapping ErrRevisionNotFound.
func (r *Repo) ResolveCommit(rev string) (Hash, error) {
	h, err := r.resolveCommit(rev)
	if err == nil {
		return h, nil
	}
	if errors.Is(err, ErrRevisionNotFound) {
		return ZeroHash, err
	}
	return ZeroHash, fmt.Errorf("resolving revision %q: %w", clip(rev), err)
}

func (r *Repo) resolveCommit(rev string) (Hash, error) {
	notFound := fmt.Errorf("%w %q", ErrRevisionNotFound, clip(rev))
	cut := strings.IndexAny(rev, "~^")
	base, suffix := rev, ""
	if cut >= 0 {
		base, suffix = rev[:cut], rev[cut:]
	}
	h, ok, err := r.resolveBase(base)
	if err != nil {
		return ZeroHash, err
	}
	if !ok {
		return ZeroHash, notFound
	}
	for suffix != "" {
		op := suffix[0]
		suffix = suffix[1:]
		if op == '^' && strings.HasPrefix(suffix, "{") {
			end := strings.IndexByte(suffix, '}')
			if end < 0 {
				return ZeroHash, notFound
			}
			kind := suffix[1:end]
			suffix = suffix[end+1:]
			switch kind {
			case "commit":
				if h, err = r.peelToCommit(h, rev); err != nil {
					return ZeroHash, err
				}
			case "":
				if h, err = r.peelTags(h); err != nil {
					return ZeroHash, err
				}
			default:
				// ^{tree}, ^{blob}, ^{/text}...: never a commit, or unsupported.
				return ZeroHash, notFound
			}
			continue
		}
		i := 0
		for i < len(suffix) && suffix[i] >= '0' && suffix[i] <= '9' {
			i++
		}
		n := 1
		if i > 0 {
			n, err = strconv.Atoi(suffix[:i])
			if err != nil || n > 1<<20 {
				return ZeroHash, notFound
			}
		}
		suffix = suffix[i:]
		if h, err = r.peelToCommit(h, rev); err != nil {
			return ZeroHash, err
		}
		if op == '~' {
			for ; n > 0; n-- {
				c, err := r.ReadCommit(h)
				if err != nil {
					return ZeroHash, err
				}
				if len(c.Parents) == 0 {
					return ZeroHash, notFound
				}
				h = c.Parents[0]
			}
			continue
		}
		if n == 0 {
			continue // REV^0: the commit itself
		}
		c, err := r.ReadCommit(h)
		if err != nil {
			return ZeroHash, err
		}
		if n > len(c.Parents) {
			return ZeroHash, notFound
		}
		h = c.Parents[n-1]
	}
	return r.peelToCommit(h, rev)
}

// resolveBase resolves the part of a revision before any ~ or ^ suffix.
func (r *Repo) resolveBase(base string) (Hash, bool, error) {
	if base == "" {
		return ZeroHash, false, nil
	}
	if base == "@" {
		base = "HEAD"
	}
	if len(base) == 40 && isHex(base) {
		h, _ := ParseHash(base)
		return h, true, nil
	}
	for _, rule := range []string{"%s", "refs/%s", "refs/tags/%s", "refs/heads/%s", "refs/remotes/%s", "refs/remotes/%s/HEAD"} {
		name := fmt.Sprintf(rule, base)
		if !validRefName(name) {
			continue
		}
		h, err := r.resolveRef(name, 0)
		if err == nil {
			return h, true, nil
		}
		if !errors.Is(err, ErrRefNotFound) {
			return ZeroHash, false, fmt.Errorf("reading ref %s: %w", name, err)
		}
	}
	if len(base) >= 4 && len(base) < 40 && isHex(base) {
		return r.resolveAbbrev(strings.ToLower(base))
	}
	return ZeroHash, false, nil
}

// resolveAbbrev finds the object a hex prefix names. As git does in a
// commit context, an ambiguous prefix is accepted when exactly one of its
// candidates is a commit or a tag of one.
func (r *Repo) resolveAbbrev(prefix string) (Hash, bool, error) {
	db, err := r.objects()
	if err != nil {
		return ZeroHash, false, err
	}
	cands, err := db.findPrefix(prefix)
	if err != nil {
		return ZeroHash, false, err
	}
	switch len(cands) {
	case 0:
		return ZeroHash, false, nil
	case 1:
		return cands[0], true, nil
	}
	var commits []Hash
	for _, c := range cands {
		if _, err := r.peelToCommit(c, prefix); err == nil {
			commits = append(commits, c)
		}
	}
	if len(commits) == 1 {
		return commits[0], true, nil
	}
	return ZeroHash, false, fmt.Errorf("short object id %s is ambiguous", prefix)
}

// peelTags follows annotated tags to the first object that is not a tag.
func (r *Repo) peelTags(h Hash) (Hash, error) {
	for i := 0; i < maxPeel; i++ {
		t, data, err := r.readObject(h)
		if err != nil {
			return ZeroHash, err
		}
		if t != TagObject {
			return h, nil
		}
		target, _, err := tagTarget(data)
		if err != nil {
			return ZeroHash, fmt.Errorf("reading tag %s: %w", h.short(), err)
		}
		h = target
	}
	return ZeroHash, fmt.Errorf("reading tag %s: tag chain too long", h.short())
}

// peelToCommit peels tags and requires a commit; anything else is reported
// as an unknown revision naming what it is.
func (r *Repo) peelToCommit(h Hash, rev string) (Hash, error) {
	for i := 0; i < maxPeel; i++ {
		t, data, err := r.readObject(h)
		if errors.Is(err, ErrObjectNotFound) {
			return ZeroHash, fmt.Errorf("%w %q", ErrRevisionNotFound, clip(rev))
		}
		if err != nil {
			return ZeroHash, err
		}
		switch t {
		case CommitObject:
			return h, nil
		case TagObject:
			target, _, err := tagTarget(data)
			if err != nil {
				return ZeroHash, fmt.Errorf("reading tag %s: %w", h.short(), err)
			}
			h = target
		default:
			return ZeroHash, fmt.Errorf("%w %q: %s %s is not a commit", ErrRevisionNotFound, clip(rev), t, h.short())
		}
	}
	return ZeroHash, fmt.Errorf("reading tag %s: tag chain too long", h.short())
}
