package repo

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

// ObjectType is a git object type, numbered as in git's pack format.
type ObjectType int

// Object types, with git's pack type numbers.
const (
	CommitObject ObjectType = 1
	TreeObject   ObjectType = 2
	BlobObject   ObjectType = 3
	TagObject    ObjectType = 4
)

// String returns git's name for the type ("commit", "tree", "blob", "tag").
func (t ObjectType) String() string {
	switch t {
	case CommitObject:
		return "commit"
	case TreeObject:
		return "tree"
	case BlobObject:
		return "blob"
	case TagObject:
		return "tag"
	}
	return "type " + strconv.Itoa(int(t))
}

// parseObjectType maps git's type names, as written in loose object headers
// and tag objects, to ObjectType.
func parseObjectType(s string) (ObjectType, bool) {
	switch s {
	case "commit":
		return CommitObject, true
	case "tree":
		return TreeObject, true
	case "blob":
		return BlobObject, true
	case "tag":
		return TagObject, true
	}
	return 0, false
}

// Mode is a tree entry's file mode, as git stores it.
type Mode uint32

// The modes git writes in trees.
const (
	ModeFile      Mode = 0o100644
	ModeExec      Mode = 0o100755
	ModeDir       Mode = 0o40000
	ModeSymlink   Mode = 0o120000
	ModeSubmodule Mode = 0o160000
)

// IsDir reports whether the entry is a tree.
func (m Mode) IsDir() bool { return m&0o170000 == 0o40000 }

// TreeEntry is one entry of a tree object.
type TreeEntry struct {
	Name string
	Mode Mode
	Hash Hash
}

// Signature is an author or committer line. When keeps the time zone offset
// the line was written with.
type Signature struct {
	Name  string
	Email string
	When  time.Time
}

// Commit is a parsed commit object.
type Commit struct {
	Hash      Hash
	Tree      Hash
	Parents   []Hash
	Author    Signature
	Committer Signature
	Message   string
	// Raw is the full object text (without the "commit SIZE\0" header), as
	// signature checks need it.
	Raw []byte
}

// readObject returns an object's type and content. The returned slice may be
// shared with a cache: callers must not modify it.
func (r *Repo) readObject(h Hash) (ObjectType, []byte, error) {
	db, err := r.objects()
	if err != nil {
		return 0, nil, fmt.Errorf("reading object %s: %w", h.short(), err)
	}
	t, data, err := db.read(h)
	if err != nil {
		if errors.Is(err, ErrObjectNotFound) && r.partialClone {
			return 0, nil, fmt.Errorf("reading object %s: %w (partial clone: gitseal does not fetch missing objects)", h.short(), err)
		}
		return 0, nil, fmt.Errorf("reading object %s: %w", h.short(), err)
	}
	return t, data, nil
}

// readTyped reads an object and checks its type.
func (r *Repo) readTyped(h Hash, want ObjectType) ([]byte, error) {
	t, data, err := r.readObject(h)
	if err != nil {
		return nil, err
	}
	if t != want {
		return nil, wrongType(h, t, want)
	}
	return data, nil
}

// wrongType is the error for object h being a t where a want was expected.
func wrongType(h Hash, t, want ObjectType) error {
	return fmt.Errorf("reading %s %s: object is a %s", want, h.short(), t)
}

// ReadBlob returns a blob's content. The caller owns the returned slice.
func (r *Repo) ReadBlob(h Hash) ([]byte, error) {
	data, err := r.readTyped(h, BlobObject)
	if err != nil {
		return nil, err
	}
	return bytes.Clone(data), nil
}

// ReadTree returns a tree's entries in git's stored order.
func (r *Repo) ReadTree(h Hash) ([]TreeEntry, error) { return readTree(r, h) }

// ReadCommit returns a parsed commit.
func (r *Repo) ReadCommit(h Hash) (*Commit, error) { return readCommit(r, h) }

// parseTree parses a tree object: repeated "MODE NAME\0" + 20-byte id.
func parseTree(data []byte) ([]TreeEntry, error) {
	// One allocation for the entries and one for all their names (each
	// name is a substring of one copy of the tree): a 1000-secret
	// directory otherwise costs a thousand small allocations, which a
	// short-lived process pays for in page faults.
	entries := make([]TreeEntry, 0, treeEntryCount(data))
	text := string(data)
	base := len(data)
	for len(data) > 0 {
		sp := bytes.IndexByte(data, ' ')
		if sp <= 0 {
			return nil, errors.New("malformed tree entry mode")
		}
		mode, err := strconv.ParseUint(string(data[:sp]), 8, 32)
		if err != nil {
			return nil, errors.New("malformed tree entry mode")
		}
		data = data[sp+1:]
		nul := bytes.IndexByte(data, 0)
		if nul <= 0 || len(data) < nul+1+20 {
			return nil, errors.New("truncated tree entry")
		}
		at := base - len(data)
		e := TreeEntry{Name: text[at : at+nul], Mode: Mode(mode)}
		copy(e.Hash[:], data[nul+1:nul+21])
		entries = append(entries, e)
		data = data[nul+21:]
	}
	return entries, nil
}

// treeEntryCount is how many entries a well-formed tree object holds: each
// ends in a NUL and a 20-byte id (which may itself hold NULs).
func treeEntryCount(data []byte) int {
	n := 0
	for {
		i := bytes.IndexByte(data, 0)
		if i < 0 || len(data) < i+21 {
			return n
		}
		n++
		data = data[i+21:]
	}
}

// treeLookup finds one name in a tree object without building the entry
// list, since path lookups read one entry per level.
func treeLookup(data []byte, name string) (TreeEntry, bool, error) {
	for len(data) > 0 {
		sp := bytes.IndexByte(data, ' ')
		if sp <= 0 {
			return TreeEntry{}, false, errors.New("malformed tree entry mode")
		}
		modeText := data[:sp]
		data = data[sp+1:]
		nul := bytes.IndexByte(data, 0)
		if nul <= 0 || len(data) < nul+1+20 {
			return TreeEntry{}, false, errors.New("truncated tree entry")
		}
		if string(data[:nul]) == name {
			mode, err := strconv.ParseUint(string(modeText), 8, 32)
			if err != nil {
				return TreeEntry{}, false, errors.New("malformed tree entry mode")
			}
			e := TreeEntry{Name: name, Mode: Mode(mode)}
			copy(e.Hash[:], data[nul+1:nul+21])
			return e, true, nil
		}
		data = data[nul+21:]
	}
	return TreeEntry{}, false, nil
}

// parseCommit parses a commit object's headers and message.
func parseCommit(data []byte) (*Commit, error) {
	c := &Commit{Raw: bytes.Clone(data)}
	rest := c.Raw
	haveTree := false
	for {
		nl := bytes.IndexByte(rest, '\n')
		if nl < 0 {
			// Headers only, no message.
			if len(rest) > 0 {
				if err := c.header(rest, &haveTree); err != nil {
					return nil, err
				}
			}
			rest = nil
			break
		}
		line := rest[:nl]
		rest = rest[nl+1:]
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' {
			continue // continuation of a multi-line header (gpgsig, mergetag)
		}
		if err := c.header(line, &haveTree); err != nil {
			return nil, err
		}
	}
	if !haveTree {
		return nil, errors.New("commit has no tree")
	}
	c.Message = string(rest)
	return c, nil
}

func (c *Commit) header(line []byte, haveTree *bool) error {
	key, val, _ := bytes.Cut(line, []byte(" "))
	var err error
	switch string(key) {
	case "tree":
		if *haveTree {
			return nil
		}
		c.Tree, err = ParseHash(string(val))
		*haveTree = true
	case "parent":
		var p Hash
		p, err = ParseHash(string(val))
		c.Parents = append(c.Parents, p)
	case "author":
		c.Author = parseSignature(val)
	case "committer":
		c.Committer = parseSignature(val)
	}
	if err != nil {
		return fmt.Errorf("malformed %s header", key)
	}
	return nil
}

// parseSignature parses "NAME <EMAIL> UNIXTIME +HHMM". Like git, it is
// lenient: a malformed time gives the zero time rather than an error.
func parseSignature(b []byte) Signature {
	var s Signature
	open := bytes.IndexByte(b, '<')
	closing := bytes.LastIndexByte(b, '>')
	if open < 0 || closing < open {
		s.Name = string(bytes.TrimSpace(b))
		return s
	}
	s.Name = string(bytes.TrimSpace(b[:open]))
	s.Email = string(b[open+1 : closing])
	fields := bytes.Fields(b[closing+1:])
	if len(fields) < 1 {
		return s
	}
	sec, err := strconv.ParseInt(string(fields[0]), 10, 64)
	if err != nil {
		return s
	}
	loc := time.UTC
	if len(fields) > 1 {
		if off, ok := parseTZ(string(fields[1])); ok {
			loc = time.FixedZone("", off)
		}
	}
	s.When = time.Unix(sec, 0).In(loc)
	return s
}

// parseTZ parses git's "+HHMM"/"-HHMM" offset into seconds east of UTC.
func parseTZ(s string) (int, bool) {
	if len(s) != 5 || (s[0] != '+' && s[0] != '-') {
		return 0, false
	}
	n, err := strconv.Atoi(s[1:])
	if err != nil || n < 0 {
		return 0, false
	}
	off := (n/100)*3600 + (n%100)*60
	if s[0] == '-' {
		off = -off
	}
	return off, true
}

// tagTarget returns the object an annotated tag points at, and its type.
func tagTarget(data []byte) (Hash, ObjectType, error) {
	var target Hash
	var typ ObjectType
	var haveObj, haveType bool
	for len(data) > 0 {
		line, rest, _ := bytes.Cut(data, []byte("\n"))
		data = rest
		if len(line) == 0 {
			break
		}
		key, val, _ := bytes.Cut(line, []byte(" "))
		switch string(key) {
		case "object":
			h, err := ParseHash(string(val))
			if err != nil {
				return target, 0, errors.New("malformed tag object header")
			}
			target, haveObj = h, true
		case "type":
			t, ok := parseObjectType(string(val))
			if !ok {
				return target, 0, errors.New("malformed tag type header")
			}
			typ, haveType = t, true
		}
	}
	if !haveObj || !haveType {
		return target, 0, errors.New("tag has no object or type")
	}
	return target, typ, nil
}

// objectDB is the object database of one repository: its objects directory
// and alternates. Reads are serialised; the flat reader's cache, inflater
// and open packs are not safe for concurrent use.
type objectDB struct {
	mu    sync.Mutex
	dirs  []*objectDir
	cache objectCache
	loose looseCache
	inf   inflater
}

// looseCache keeps the trees and commits read from loose objects. A command
// reads the same few again and again (the tip commit, the trees along the
// path to .gitseal/ENV), and right after gitseal commits they are loose: an
// open and an inflate each time. An object's content never changes, so an
// entry is never stale; the cache only bounds its size.
type looseCache struct {
	m    map[Hash]looseEntry
	size int
}

type looseEntry struct {
	typ  ObjectType
	data []byte
}

// looseCacheMax bounds the loose cache's bytes: far more than the trees of
// any path gitseal walks, far less than a large repository's trees.
const looseCacheMax = 4 << 20

func (c *looseCache) get(h Hash) (looseEntry, bool) {
	e, ok := c.m[h]
	return e, ok
}

func (c *looseCache) add(h Hash, typ ObjectType, data []byte) {
	if typ == BlobObject || len(data) > looseCacheMax/8 {
		return // blobs are read once; a huge tree would crowd the rest out
	}
	if c.m == nil {
		c.m = map[Hash]looseEntry{}
	}
	if c.size+len(data) > looseCacheMax {
		clear(c.m)
		c.size = 0
	}
	c.m[h] = looseEntry{typ, data}
	c.size += len(data)
}

// objectDir is one objects directory (the repository's or an alternate).
type objectDir struct {
	path        string
	packsLoaded bool
	packs       []*pack
}

// objects opens the object database on first use.
func (r *Repo) objects() (*objectDB, error) {
	r.dbOnce.Do(func() {
		db := &objectDB{}
		for _, d := range objectDirs(r.commonDir) {
			db.dirs = append(db.dirs, &objectDir{path: d})
		}
		r.db = db
	})
	return r.db, r.dbErr
}

func (db *objectDB) read(h Hash) (ObjectType, []byte, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.readLocked(h)
}

// readLocked is read for a caller that holds db.mu.
func (db *objectDB) readLocked(h Hash) (ObjectType, []byte, error) {
	t, data, err := db.flatRead(h, 0)
	if errors.Is(err, errUnsupported) {
		return 0, nil, fmt.Errorf("%w; rewrite the packs with `git repack -a -d -f`", err)
	}
	return t, data, err
}

// flatRead looks for h in each objects directory's packs, then its loose
// objects. On a miss it rescans the pack directories once, as git does,
// since a concurrent repack may have moved the object into a new pack.
func (db *objectDB) flatRead(h Hash, depth int) (ObjectType, []byte, error) {
	for attempt := 0; attempt < 2; attempt++ {
		for _, d := range db.dirs {
			packs, err := d.loadPacks()
			if err != nil {
				return 0, nil, err
			}
			for _, p := range packs {
				off, found, err := p.idx.find(h)
				if err != nil {
					return 0, nil, err
				}
				if found {
					t, data, err := db.readPacked(p, off, depth)
					if errors.Is(err, os.ErrNotExist) {
						break // the pack went away under us: rescan
					}
					return t, data, err
				}
			}
			if e, ok := db.loose.get(h); ok {
				return e.typ, e.data, nil
			}
			t, data, err := d.readLoose(h, &db.inf)
			if err == nil {
				db.loose.add(h, t, data)
			}
			if !errors.Is(err, ErrObjectNotFound) {
				return t, data, err
			}
		}
		if attempt == 0 && !db.rescan() {
			break
		}
	}
	return 0, nil, ErrObjectNotFound
}

// rescan re-lists the pack directories, keeping packs already mapped that
// still exist, and reports whether anything changed.
func (db *objectDB) rescan() bool {
	changed := false
	for _, d := range db.dirs {
		if !d.packsLoaded {
			continue
		}
		old := map[string]*pack{}
		for _, p := range d.packs {
			old[p.idxPath] = p
		}
		d.packsLoaded = false
		fresh, err := d.loadPacksKeeping(old)
		if err != nil {
			d.packs, d.packsLoaded = nil, false
			changed = true
			continue
		}
		kept := map[*pack]bool{}
		for _, p := range fresh {
			if old[p.idxPath] == p {
				kept[p] = true
			} else {
				changed = true
			}
		}
		for _, p := range old {
			if !kept[p] {
				db.cache.dropPack(p)
				p.close()
				changed = true
			}
		}
	}
	return changed
}

// findPrefix returns the ids, loose or packed, that start with the hex
// prefix (lower case, at least 4 digits).
func (db *objectDB) findPrefix(prefix string) ([]Hash, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	seen := map[Hash]bool{}
	var out []Hash
	for _, d := range db.dirs {
		found, err := d.looseWithPrefix(prefix, nil)
		if err != nil {
			return nil, err
		}
		packs, err := d.loadPacks()
		if err != nil {
			return nil, err
		}
		for _, p := range packs {
			found = p.idx.withPrefix(prefix, found)
		}
		for _, h := range found {
			if !seen[h] {
				seen[h] = true
				out = append(out, h)
			}
		}
	}
	return out, nil
}

func (db *objectDB) close() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	for _, d := range db.dirs {
		for _, p := range d.packs {
			keep(p.close())
		}
		d.packs, d.packsLoaded = nil, false
	}
	return first
}
