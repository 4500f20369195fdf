package versioning

import (
	"errors"
	"path"
	"sort"
	"strings"

	"github.com/gitseal/gitseal/repo"
)

// Kinds of store file an Item names.
const (
	ItemSecret     = "secret"     // .gitseal/<env>/secrets/<NAME>
	ItemKey        = "key"        // .gitseal/<env>/keys/<NAME>
	ItemRecipients = "recipients" // .gitseal/<env>/recipients
	ItemDataKey    = "datakey"    // .gitseal/<env>/datakey.age
	ItemPassphrase = "passphrase" // .gitseal/<env>/datakey.scrypt.age
	ItemStore      = "store"      // .gitseal/store.json
	ItemOther      = "other"      // anything else under .gitseal/
)

// Item is one store file a commit added, changed or removed.
type Item struct {
	// Env is the environment; "" for store.json and unknown paths.
	Env string
	// Kind is one of the Item* constants.
	Kind string
	// Name is the secret or key name; for ItemOther, the path under .gitseal/.
	Name string
	// Action is "added", "changed" or "removed".
	Action string
}

// classify names the store file at p, a path under Root.
func classify(p string) Item {
	rel := strings.TrimPrefix(p, Root+"/")
	if rel == "store.json" {
		return Item{Kind: ItemStore}
	}
	parts := strings.Split(rel, "/")
	switch {
	case len(parts) == 2 && parts[1] == "recipients":
		return Item{Env: parts[0], Kind: ItemRecipients}
	case len(parts) == 2 && parts[1] == "datakey.age":
		return Item{Env: parts[0], Kind: ItemDataKey}
	case len(parts) == 2 && parts[1] == "datakey.scrypt.age":
		return Item{Env: parts[0], Kind: ItemPassphrase}
	case len(parts) == 3 && parts[1] == "secrets":
		return Item{Env: parts[0], Kind: ItemSecret, Name: parts[2]}
	case len(parts) == 3 && parts[1] == "keys":
		return Item{Env: parts[0], Kind: ItemKey, Name: parts[2]}
	}
	return Item{Kind: ItemOther, Name: rel}
}

// LogEntry is one commit that changed the store.
type LogEntry struct {
	Commit repo.Hash
	Author repo.Signature
	// Command is the commit's Gitseal-Action trailer; "" for commits gitseal
	// did not make.
	Command string
	Subject string
	// Items are the store files the commit changed, compared with its first
	// parent, in path order.
	Items []Item
}

// LogOptions configure Store.Log.
type LogOptions struct {
	// Env limits the log to one environment's files; "" means the whole store.
	Env string
	// Limit stops after that many entries; 0 means no limit.
	Limit int
}

// Log lists the commits reachable from the snapshot's commit that changed the
// store (or, with opts.Env, that environment), newest first, as
// `git log -- .gitseal` does, each with the files it changed.
func (sn *Snapshot) Log(opts LogOptions) ([]LogEntry, error) {
	dir := Root
	if opts.Env != "" {
		if err := validEnv(opts.Env); err != nil {
			return nil, err
		}
		dir = envDir(opts.Env)
	}
	r := sn.store.repo
	var out []LogEntry
	err := r.PathLog(sn.commit, dir, func(c *repo.Commit, _ repo.Hash) error {
		var parent repo.Hash
		if len(c.Parents) > 0 {
			parent = c.Parents[0]
		}
		paths, err := changedPaths(r, parent, c.Hash, dir)
		if err != nil {
			return err
		}
		e := LogEntry{Commit: c.Hash, Author: c.Author, Command: trailer(c.Message, "Gitseal-Action"), Subject: subject(c.Message)}
		for _, p := range paths {
			it := classify(p.path)
			it.Action = p.action
			e.Items = append(e.Items, it)
		}
		out = append(out, e)
		if opts.Limit > 0 && len(out) >= opts.Limit {
			return errStopLog
		}
		return nil
	})
	if err == errStopLog {
		err = nil
	}
	return out, err
}

// errStopLog ends a PathLog walk early; it never leaves this file.
var errStopLog = errors.New("stop")

type pathChange struct {
	path   string
	action string
}

// changedPaths lists the files under dir that differ between commits a and b
// (a zero for "nothing"), in path order.
func changedPaths(r *repo.Repo, a, b repo.Hash, dir string) ([]pathChange, error) {
	treeAt := func(c repo.Hash) (repo.Hash, error) {
		if c.IsZero() {
			return repo.ZeroHash, nil
		}
		ent, err := r.TreeEntryAt(c, dir)
		if isNotFound(err) || (err == nil && !ent.Mode.IsDir()) {
			return repo.ZeroHash, nil
		}
		return ent.Hash, err
	}
	ta, err := treeAt(a)
	if err != nil {
		return nil, err
	}
	tb, err := treeAt(b)
	if err != nil {
		return nil, err
	}
	var out []pathChange
	err = diffTrees(r, ta, tb, dir, func(p string, old, new repo.Hash) {
		action := "changed"
		switch {
		case old.IsZero():
			action = "added"
		case new.IsZero():
			action = "removed"
		}
		out = append(out, pathChange{p, action})
	})
	return out, err
}

// diffTrees calls fn for every file that differs between trees a and b (either
// zero for an empty tree), recursing only into subtrees that differ, so its
// cost follows the size of the change, not of the store.
func diffTrees(r *repo.Repo, a, b repo.Hash, prefix string, fn func(p string, old, new repo.Hash)) error {
	if a == b {
		return nil
	}
	read := func(h repo.Hash) (map[string]repo.TreeEntry, error) {
		m := map[string]repo.TreeEntry{}
		if h.IsZero() {
			return m, nil
		}
		list, err := r.ReadTree(h)
		if err != nil {
			return nil, err
		}
		for _, e := range list {
			m[e.Name] = e
		}
		return m, nil
	}
	ea, err := read(a)
	if err != nil {
		return err
	}
	eb, err := read(b)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(ea)+len(eb))
	for n := range ea {
		names = append(names, n)
	}
	for n := range eb {
		if _, ok := ea[n]; !ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		x, y := ea[n], eb[n]
		if x.Hash == y.Hash && x.Mode == y.Mode {
			continue
		}
		p := path.Join(prefix, n)
		xd, yd := x.Mode.IsDir(), y.Mode.IsDir()
		var xt, yt repo.Hash
		if xd {
			xt = x.Hash
		}
		if yd {
			yt = y.Hash
		}
		if xd || yd {
			if err := diffTrees(r, xt, yt, p, fn); err != nil {
				return err
			}
		}
		var xf, yf repo.Hash
		if !x.Hash.IsZero() && !xd {
			xf = x.Hash
		}
		if !y.Hash.IsZero() && !yd {
			yf = y.Hash
		}
		if xf != yf || (!xf.IsZero() && x.Mode != y.Mode) {
			fn(p, xf, yf)
		}
	}
	return nil
}
