package repo

// Refs are read as git's "files" backend stores them: a loose ref file
// (per-worktree refs in GitDir, the rest in CommonDir) wins over the same name
// in packed-refs. A symbolic ref ("ref: NAME") is followed up to
// maxSymrefDepth links, as git does.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

const maxSymrefDepth = 5

// Head is what HEAD points at.
type Head struct {
	// Branch is the full name of the checked-out branch ("refs/heads/main"),
	// "" when HEAD is detached.
	Branch string
	// Commit is the commit HEAD resolves to, ZeroHash on an unborn branch.
	Commit Hash
}

// Head reads this worktree's HEAD.
func (r *Repo) Head() (Head, error) {
	b, err := os.ReadFile(filepath.Join(r.gitDir, "HEAD"))
	if err != nil {
		return Head{}, fmt.Errorf("reading HEAD: %w", err)
	}
	h, target, err := parseRefFile(b)
	if err != nil {
		return Head{}, fmt.Errorf("reading HEAD: %w", err)
	}
	if target == "" {
		return Head{Commit: h}, nil
	}
	c, err := r.Ref(target)
	if errors.Is(err, ErrRefNotFound) {
		return Head{Branch: target}, nil
	}
	if err != nil {
		return Head{}, fmt.Errorf("reading HEAD: %w", err)
	}
	return Head{Branch: target, Commit: c}, nil
}

// Ref resolves a full ref name ("refs/heads/main", "HEAD", "FETCH_HEAD") to
// the object it points at, following symbolic refs. Annotated tags are not
// peeled.
func (r *Repo) Ref(name string) (Hash, error) {
	h, err := r.resolveRef(name, 0)
	if err != nil {
		return ZeroHash, fmt.Errorf("reading ref %s: %w", name, err)
	}
	return h, nil
}

func (r *Repo) resolveRef(name string, depth int) (Hash, error) {
	if depth > maxSymrefDepth {
		return ZeroHash, errors.New("symbolic ref loop or chain too long")
	}
	if !validRefName(name) {
		return ZeroHash, ErrRefNotFound
	}
	h, target, found, err := r.readLooseRef(name)
	if err != nil {
		return ZeroHash, err
	}
	if found {
		if target != "" {
			return r.resolveRef(target, depth+1)
		}
		return h, nil
	}
	if strings.HasPrefix(name, "refs/") {
		pr, err := r.packedRefs()
		if err != nil {
			return ZeroHash, err
		}
		if h, ok := pr.refs[name]; ok {
			return h, nil
		}
	}
	return ZeroHash, ErrRefNotFound
}

// refFile returns the file a loose ref lives in.
func (r *Repo) refFile(name string) string {
	base := r.commonDir
	if isPerWorktreeRef(name) {
		base = r.gitDir
	}
	return filepath.Join(base, filepath.FromSlash(name))
}

// isPerWorktreeRef reports whether a ref lives in GitDir rather than
// CommonDir: pseudo-refs like HEAD, and refs/worktree, refs/bisect,
// refs/rewritten.
func isPerWorktreeRef(name string) bool {
	return !strings.Contains(name, "/") ||
		strings.HasPrefix(name, "refs/worktree/") ||
		strings.HasPrefix(name, "refs/bisect/") ||
		strings.HasPrefix(name, "refs/rewritten/")
}

// readLooseRef reads a loose ref file. found is false when there is none
// (including when the path is a directory of other refs).
func (r *Repo) readLooseRef(name string) (h Hash, target string, found bool, err error) {
	b, err := os.ReadFile(r.refFile(name))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || isDirErr(r.refFile(name)) {
			return ZeroHash, "", false, nil
		}
		return ZeroHash, "", false, err
	}
	h, target, err = parseRefFile(b)
	if err != nil {
		return ZeroHash, "", false, fmt.Errorf("%s: %w", name, err)
	}
	return h, target, true, nil
}

func isDirErr(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// parseRefFile parses a loose ref's content: "ref: NAME" or a hex id (only
// the first line's first 40 characters count, so FETCH_HEAD reads too).
func parseRefFile(b []byte) (Hash, string, error) {
	if rest, ok := bytes.CutPrefix(b, []byte("ref:")); ok {
		target := string(bytes.TrimSpace(rest))
		if !validRefName(target) {
			return ZeroHash, "", fmt.Errorf("invalid symbolic ref target %q", clip(target))
		}
		return ZeroHash, target, nil
	}
	if len(b) < 40 {
		return ZeroHash, "", errors.New("invalid ref content")
	}
	h, err := ParseHash(string(b[:40]))
	if err != nil || (len(b) > 40 && !isSpace(b[40])) {
		return ZeroHash, "", errors.New("invalid ref content")
	}
	return h, "", nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// validRefName applies git's check-ref-format rules, so that a name can never
// address a file outside the refs hierarchy. One-level names must be
// pseudo-refs (HEAD, FETCH_HEAD, ...): upper case and underscores.
func validRefName(name string) bool {
	if name == "" || name == "@" || strings.HasSuffix(name, "/") || strings.HasSuffix(name, ".") ||
		strings.Contains(name, "..") || strings.Contains(name, "@{") || strings.Contains(name, "//") {
		return false
	}
	if !strings.Contains(name, "/") {
		for i := 0; i < len(name); i++ {
			if c := name[i]; !(c >= 'A' && c <= 'Z' || c == '_') {
				return false
			}
		}
		return true
	}
	for _, comp := range strings.Split(name, "/") {
		if comp == "" || comp[0] == '.' || strings.HasSuffix(comp, ".lock") {
			return false
		}
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c < 0x20 || c == 0x7f || strings.IndexByte(" ~^:?*[\\", c) >= 0 {
			return false
		}
	}
	return true
}

// Refs returns every ref whose full name starts with prefix (for example
// "refs/heads/" or "refs/gitseal/pins/"), loose and packed, symbolic refs
// resolved; dangling symbolic refs are left out.
func (r *Repo) Refs(prefix string) (map[string]Hash, error) {
	out := map[string]Hash{}
	pr, err := r.packedRefs()
	if err != nil {
		return nil, fmt.Errorf("listing refs %s: %w", prefix, err)
	}
	for _, name := range pr.names {
		if strings.HasPrefix(name, prefix) {
			out[name] = pr.refs[name]
		}
	}
	bases := []string{r.commonDir}
	if r.gitDir != r.commonDir {
		bases = append(bases, r.gitDir)
	}
	// Walk only the deepest directory the prefix names.
	start := "refs"
	if strings.HasPrefix(prefix, "refs/") {
		start = prefix[:strings.LastIndexByte(prefix, '/')]
	} else if prefix != "" && !strings.HasPrefix("refs/", prefix) {
		return out, nil
	}
	for _, base := range bases {
		root := filepath.Join(base, filepath.FromSlash(start))
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			if d.IsDir() {
				return nil
			}
			rel, err := filepath.Rel(base, path)
			if err != nil {
				return err
			}
			name := filepath.ToSlash(rel)
			if !strings.HasPrefix(name, prefix) || !validRefName(name) {
				return nil
			}
			if r.gitDir != r.commonDir && isPerWorktreeRef(name) != (base == r.gitDir) {
				return nil // another worktree's ref, or a shared one seen from the wrong side
			}
			h, err := r.resolveRef(name, 0)
			if err != nil {
				delete(out, name) // dangling or broken: git ignores it too
				return nil
			}
			out[name] = h
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("listing refs %s: %w", prefix, err)
		}
	}
	return out, nil
}

// packedRefsFile is the parsed packed-refs, cached while the file's size,
// modification time and inode stay the same (it is always replaced by
// rename, so a change shows in those).
type packedRefsFile struct {
	refs   map[string]Hash
	peeled map[string]Hash
	names  []string // sorted
	size   int64
	mtime  time.Time
	ino    uint64
}

type packedRefsCache struct {
	mu  sync.Mutex
	cur *packedRefsFile
}

var emptyPackedRefs = &packedRefsFile{refs: map[string]Hash{}, peeled: map[string]Hash{}}

func (r *Repo) packedRefs() (*packedRefsFile, error) {
	path := filepath.Join(r.commonDir, "packed-refs")
	r.prCache.mu.Lock()
	defer r.prCache.mu.Unlock()
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		r.prCache.cur = nil
		return emptyPackedRefs, nil
	}
	if err != nil {
		return nil, err
	}
	ino := inode(fi)
	if c := r.prCache.cur; c != nil && c.size == fi.Size() && c.mtime.Equal(fi.ModTime()) && c.ino == ino {
		return c, nil
	}
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return emptyPackedRefs, nil
		}
		return nil, err
	}
	defer f.Close()
	pr := &packedRefsFile{refs: map[string]Hash{}, peeled: map[string]Hash{}, size: fi.Size(), mtime: fi.ModTime(), ino: ino}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	last := ""
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		if line[0] == '^' {
			if h, err := ParseHash(strings.TrimSpace(line[1:])); err == nil && last != "" {
				pr.peeled[last] = h
			}
			continue
		}
		hexID, name, ok := strings.Cut(line, " ")
		h, err := ParseHash(hexID)
		if !ok || err != nil || !validRefName(name) {
			return nil, fmt.Errorf("reading packed-refs: malformed line")
		}
		pr.refs[name] = h
		last = name
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading packed-refs: %w", err)
	}
	for name := range pr.refs {
		pr.names = append(pr.names, name)
	}
	sort.Strings(pr.names)
	r.prCache.cur = pr
	return pr, nil
}

func inode(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}
