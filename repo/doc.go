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
// index (.idx v2, and v1) and binary-searches it, maps the pack, inflates the
// one entry asked for (with its own inflater, inflate.go, fuzzed against
// compress/zlib, which it falls back to for anything it does not take as
// certainly valid) and resolves its OFS_DELTA/REF_DELTA chain with its own
// delta applier (fuzzed against go-git's), keeps recently resolved objects in
// a 32 MiB cache, and reads loose objects and objects/info/alternates
// directly. A miss re-lists the pack directories once, as git does, so a
// concurrent repack is survived. A pack or index of a version git does not
// write (anything but pack v2/v3, .idx v1/v2) is refused with a hint to
// repack. go-git's filesystem storage is the reference the flat reader is
// tested against (fallback_test.go), not a run-time fallback: it decodes
// every pack index in full on first use, so it costs time in proportion to
// the repository, and linking it cost every process about 0.5 ms of package
// initialisation (encoding/gob through gcfg, go-git's URL regexps).
//
// Open refuses what neither reader handles: SHA-256 repositories
// (extensions.objectFormat; Hash is a SHA-1 id), the reftable ref backend,
// and unknown repository extensions, as git does. In a partial clone, a
// missing object is reported as such: gitseal never fetches.
//
// Not honoured, unlike git: replace refs (refs/replace) and grafts,
// GIT_OBJECT_DIRECTORY and GIT_ALTERNATE_OBJECT_DIRECTORIES,
// GIT_CEILING_DIRECTORIES, and the safe.directory ownership check. The
// commit-graph and multi-pack-index files are not used (the .idx files they
// summarise always exist).
//
// All read methods are safe for concurrent use; object reads are serialised
// on one lock.
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
	// ErrNoIdentity: no author or committer name and email are configured.
	ErrNoIdentity = errors.New("identity unknown")
	// ErrLocked: another gitseal process holds the repository lock.
	ErrLocked = errors.New("another gitseal process holds the repository lock")
	// ErrRefChanged: a ref did not hold the value a compare-and-swap expected.
	ErrRefChanged = errors.New("ref changed concurrently")
	// ErrDirtyPath: a path to be written has uncommitted changes
	// (see DirtyPathError).
	ErrDirtyPath = errors.New("uncommitted changes")
	// ErrGitLocked: a git lock file (index.lock, <ref>.lock) exists: a git
	// process is running, or one died and left it.
	ErrGitLocked = errors.New("git lock file exists")
	// ErrIndexUnsupported: the index uses a feature gitseal does not update
	// (split or sparse index).
	ErrIndexUnsupported = errors.New("index format not supported")
	// ErrDubiousOwnership: the repository found belongs to another user and
	// safe.directory does not name it (see DubiousOwnershipError).
	ErrDubiousOwnership = errors.New("dubious ownership")
)
