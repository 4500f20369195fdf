// Package repo is gitseal's only door to git: it finds a repository, reads
// objects, refs and config, and (in the write-side files) commits paths with
// compare-and-swap under a lock.
//
// go-git is imported here and nowhere else, and its types never cross this
// package's API: callers see Hash, Commit, TreeEntry and Signature.
//
// # Reading objects
//
// Reads go through a flat reader (pack.go, loose.go) whose cost does not grow
// with the size or history depth of the repository: it memory-maps each pack
// index (.idx v2), binary-searches it, inflates the one pack entry asked for and
// resolves its delta chain, and reads loose objects and alternates directly.
// Repositories the flat reader does not understand (an .idx v1, a partial
// clone with promisor packs, an unknown repository extension) are read through
// go-git's filesystem storage instead (fallback.go), which decodes every pack
// index on first use and so costs time in proportion to the repository.
// SHA-256 repositories are refused by Open: Hash is a SHA-1 id.
//
// # What to use when
//
//   - Open, then ResolveCommit to turn a user's revision text into a commit.
//   - FileAt, DirAt and TreeEntryAt read paths at a commit; they never look at
//     the working tree.
//   - Ref, Refs and Head read refs; Config, ConfigAll and ConfigBool read git
//     config in git's order.
//   - PathLog lists the commits that changed one path, as `git log -- path`.
package repo

import "errors"

// Conditions callers branch on. Errors returned by this package wrap one of
// these with the object, ref, revision or path concerned.
var (
	// ErrNotRepository: no git repository contains the directory given to Open.
	ErrNotRepository = errors.New("not a git repository")
	// ErrObjectNotFound: the object database has no object with that id.
	ErrObjectNotFound = errors.New("object not found")
	// ErrRefNotFound: no such ref, or a symbolic ref points nowhere.
	ErrRefNotFound = errors.New("ref not found")
	// ErrRevisionNotFound: a revision does not name a commit.
	ErrRevisionNotFound = errors.New("unknown revision")
	// ErrPathNotFound: the path does not exist at that commit.
	ErrPathNotFound = errors.New("path not found")
)
