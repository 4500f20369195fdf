package repo

import (
	"container/heap"
	"fmt"
)

// PathLog calls fn, newest first by committer date, for each commit
// reachable from start that changed the entry at path, as `git log -- path`
// lists them with git's default history simplification:
//
//   - a commit is shown when its entry at path (id and mode) differs from
//     that of every parent; a root commit is shown when the path exists;
//   - a merge whose entry equals one parent's follows only the first such
//     parent, so changes made on a side branch and merged unchanged are not
//     repeated.
//
// entry is the id at path in that commit, ZeroHash when the commit deleted
// it. Returning an error from fn stops the walk and PathLog returns it. The
// commits of a shallow clone's boundary are treated as roots.
func (r *Repo) PathLog(start Hash, path string, fn func(c *Commit, entry Hash) error) error {
	w := &pathWalk{r: r, path: path, entries: map[Hash]pathEntry{}, seen: map[Hash]bool{}}
	if err := w.loadShallow(); err != nil {
		return fmt.Errorf("listing history of %s: %w", path, err)
	}
	if err := w.push(start); err != nil {
		return fmt.Errorf("listing history of %s: %w", path, err)
	}
	for w.queue.Len() > 0 {
		c := heap.Pop(&w.queue).(*queued).c
		e, err := w.entry(c.Hash, c.Tree)
		if err != nil {
			return fmt.Errorf("listing history of %s: %w", path, err)
		}
		parents := c.Parents
		if w.shallow[c.Hash] {
			parents = nil
		}
		show := len(parents) == 0 && e.found
		follow := parents
		if len(parents) > 0 {
			show = true
			for _, p := range parents {
				pc, err := w.commit(p)
				if err != nil {
					return fmt.Errorf("listing history of %s: %w", path, err)
				}
				pe, err := w.entry(p, pc.Tree)
				if err != nil {
					return fmt.Errorf("listing history of %s: %w", path, err)
				}
				if pe == e {
					show = false
					follow = []Hash{p}
					break
				}
			}
		}
		if show {
			if err := fn(c, e.hash); err != nil {
				return err
			}
		}
		for _, p := range follow {
			if err := w.push(p); err != nil {
				return fmt.Errorf("listing history of %s: %w", path, err)
			}
		}
	}
	return nil
}

type pathEntry struct {
	hash  Hash
	mode  Mode
	found bool
}

type pathWalk struct {
	r       *Repo
	path    string
	parts   []string
	entries map[Hash]pathEntry // by commit
	memo    map[treeAt]pathEntry
	commits map[Hash]*Commit // read as parents, not yet walked
	seen    map[Hash]bool
	shallow map[Hash]bool
	queue   commitQueue
	counter int
}

// loadShallow reads the shallow file (which Fetch keeps up to date).
func (w *pathWalk) loadShallow() error {
	list, err := readShallow(w.r.commonDir)
	if err != nil || len(list) == 0 {
		return err
	}
	w.shallow = map[Hash]bool{}
	for _, h := range list {
		w.shallow[h] = true
	}
	return nil
}

// commit reads a commit, keeping it until the walk reaches it.
func (w *pathWalk) commit(h Hash) (*Commit, error) {
	if c, ok := w.commits[h]; ok {
		return c, nil
	}
	c, err := w.r.ReadCommit(h)
	if err != nil {
		return nil, err
	}
	if w.commits == nil {
		w.commits = map[Hash]*Commit{}
	}
	w.commits[h] = c
	return c, nil
}

func (w *pathWalk) push(h Hash) error {
	if w.seen[h] {
		return nil
	}
	w.seen[h] = true
	c, err := w.commit(h)
	if err != nil {
		return err
	}
	delete(w.commits, h)
	w.counter++
	heap.Push(&w.queue, &queued{c: c, order: w.counter})
	return nil
}

// entry returns the entry at the walk's path in a commit (by its tree).
// Lookups are memoised per (depth, tree id), so a commit that left the
// path's directory alone costs one tree read, not one per level.
func (w *pathWalk) entry(commit, tree Hash) (pathEntry, error) {
	if e, ok := w.entries[commit]; ok {
		return e, nil
	}
	if w.parts == nil {
		parts, ok := splitPath(w.path)
		if !ok {
			w.entries[commit] = pathEntry{}
			return pathEntry{}, nil
		}
		w.parts = parts
	}
	var visited []treeAt
	var e pathEntry
	cur := TreeEntry{Mode: ModeDir, Hash: tree}
	found := true
	for level := 0; ; level++ {
		if level == len(w.parts) {
			e = pathEntry{hash: cur.Hash, mode: cur.Mode, found: true}
			break
		}
		if !cur.Mode.IsDir() {
			break
		}
		key := treeAt{level, cur.Hash}
		if memo, ok := w.memo[key]; ok {
			e, found = memo, memo.found
			break
		}
		visited = append(visited, key)
		data, err := w.r.readTyped(cur.Hash, TreeObject)
		if err != nil {
			return pathEntry{}, err
		}
		next, ok, err := treeLookup(data, w.parts[level])
		if err != nil {
			return pathEntry{}, fmt.Errorf("reading tree %s: %w", cur.Hash.short(), err)
		}
		if !ok {
			found = false
			break
		}
		cur = next
	}
	if !found {
		e = pathEntry{}
	}
	if w.memo == nil {
		w.memo = map[treeAt]pathEntry{}
	}
	for _, k := range visited {
		w.memo[k] = e
	}
	w.entries[commit] = e
	return e, nil
}

// treeAt names a tree met at some depth of the walk's path.
type treeAt struct {
	level int
	tree  Hash
}

type queued struct {
	c     *Commit
	order int
}

// commitQueue orders by committer date, newest first; ties go to the commit
// queued first, as git's date-ordered walk does.
type commitQueue []*queued

func (q commitQueue) Len() int { return len(q) }
func (q commitQueue) Less(i, j int) bool {
	ti, tj := q[i].c.Committer.When, q[j].c.Committer.When
	if !ti.Equal(tj) {
		return ti.After(tj)
	}
	return q[i].order < q[j].order
}
func (q commitQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *commitQueue) Push(x any)   { *q = append(*q, x.(*queued)) }
func (q *commitQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}
