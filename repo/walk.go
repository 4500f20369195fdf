package repo

import "fmt"

// WalkObjects calls fn once for every object reachable from HEAD and from
// every ref: commits, their trees and blobs, and annotated tags. It is meant
// for audits ("no plaintext in any object"), not for hot paths.
func (r *Repo) WalkObjects(fn func(h Hash, data []byte) error) error {
	seen := map[Hash]bool{}
	var stack []Hash
	refs, err := r.Refs("refs/")
	if err != nil {
		return err
	}
	for _, h := range refs {
		stack = append(stack, h)
	}
	if head, err := r.Head(); err == nil && !head.Commit.IsZero() {
		stack = append(stack, head.Commit)
	}
	for len(stack) > 0 {
		h := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[h] {
			continue
		}
		seen[h] = true
		t, data, err := r.readObject(h)
		if err != nil {
			return fmt.Errorf("walking objects: %w", err)
		}
		if err := fn(h, data); err != nil {
			return err
		}
		switch t {
		case CommitObject:
			c, err := parseCommit(data)
			if err != nil {
				return fmt.Errorf("walking objects: commit %s: %w", h, err)
			}
			stack = append(stack, c.Tree)
			stack = append(stack, c.Parents...)
		case TreeObject:
			entries, err := parseTree(data)
			if err != nil {
				return fmt.Errorf("walking objects: tree %s: %w", h, err)
			}
			for _, e := range entries {
				if e.Mode != ModeSubmodule {
					stack = append(stack, e.Hash)
				}
			}
		case TagObject:
			target, _, err := tagTarget(data)
			if err != nil {
				return fmt.Errorf("walking objects: tag %s: %w", h, err)
			}
			stack = append(stack, target)
		}
	}
	return nil
}
