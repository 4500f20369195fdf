package versioning

import (
	"strings"
	"time"

	"github.com/gitseal/gitseal/repo"
)

// Version is one change to a secret: the commit that made it and what it was.
type Version struct {
	Commit repo.Hash
	Author repo.Signature
	// Action is what the commit did to the secret: "added", "changed" or "removed".
	Action string
	// Command is the gitseal command recorded in the commit's Gitseal-Action
	// trailer ("set", "generate", "rollback", …), or "" for commits gitseal did
	// not make (a merge, a hand edit).
	Command string
	Subject string
	// Blob is the sealed file's object id; zero when removed.
	Blob repo.Hash
}

// History lists every version of a secret reachable from the snapshot's
// commit, newest first, as `git log -- PATH` would.
func (e *Env) History(name string) ([]Version, error) {
	if err := validSecretName(name); err != nil {
		return nil, err
	}
	var out []Version
	err := e.sn.store.repo.PathLog(e.sn.commit, secretPath(e.name, name), func(c *repo.Commit, blob repo.Hash) error {
		out = append(out, Version{
			Commit:  c.Hash,
			Author:  c.Author,
			Command: trailer(c.Message, "Gitseal-Action"),
			Subject: subject(c.Message),
			Blob:    blob,
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i := range out {
		switch {
		case out[i].Blob.IsZero():
			out[i].Action = "removed"
		case i+1 == len(out) || out[i+1].Blob.IsZero():
			out[i].Action = "added"
		default:
			out[i].Action = "changed"
		}
	}
	return out, nil
}

// trailer returns the value of the last "Key: value" trailer in msg.
func trailer(msg, key string) string {
	val := ""
	for _, line := range strings.Split(msg, "\n") {
		if v, ok := strings.CutPrefix(line, key+": "); ok {
			val = strings.TrimSpace(v)
		}
	}
	return val
}

// Change is the last commit that changed a secret.
type Change struct {
	Commit repo.Hash
	Time   time.Time
}

// LastChanges finds, for each name, the newest commit on the first-parent
// chain from the snapshot's commit that changed it. It walks the chain once,
// comparing the secrets directory's tree with the parent's, and stops when
// every name is accounted for.
func (e *Env) LastChanges(names []string) (map[string]Change, error) {
	r := e.sn.store.repo
	dir := secretsDir(e.name)
	want := make(map[string]bool, len(names))
	for _, n := range names {
		want[n] = true
	}
	out := make(map[string]Change, len(names))
	entriesAt := func(c repo.Hash) (repo.Hash, map[string]repo.Hash, error) {
		ent, err := r.TreeEntryAt(c, dir)
		if isNotFound(err) {
			return repo.ZeroHash, nil, nil
		}
		if err != nil {
			return repo.ZeroHash, nil, err
		}
		list, err := r.ReadTree(ent.Hash)
		if err != nil {
			return repo.ZeroHash, nil, err
		}
		m := make(map[string]repo.Hash, len(list))
		for _, x := range list {
			m[x.Name] = x.Hash
		}
		return ent.Hash, m, nil
	}
	cur := e.sn.commit
	curTree, curEntries, err := entriesAt(cur)
	if err != nil {
		return nil, err
	}
	for len(want) > 0 {
		c, err := r.ReadCommit(cur)
		if err != nil {
			return nil, err
		}
		var parentTree repo.Hash
		var parentEntries map[string]repo.Hash
		if len(c.Parents) > 0 {
			parentTree, parentEntries, err = entriesAt(c.Parents[0])
			if err != nil {
				return nil, err
			}
		}
		if parentTree != curTree || len(c.Parents) == 0 {
			for n := range want {
				if curEntries[n] != parentEntries[n] {
					out[n] = Change{Commit: c.Hash, Time: c.Author.When}
					delete(want, n)
				}
			}
		}
		if len(c.Parents) == 0 {
			break
		}
		cur, curTree, curEntries = c.Parents[0], parentTree, parentEntries
	}
	return out, nil
}
