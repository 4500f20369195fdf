package repo

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Repo is an open git repository. Its read methods are safe for concurrent
// use; Close releases the memory-mapped pack indexes and open packs.
type Repo struct {
	workTree  string
	gitDir    string
	commonDir string

	// partialClone is set when extensions.partialClone or a remote's
	// promisor flag marks a partial clone: objects missing locally are then
	// reported as such, since gitseal never fetches.
	partialClone bool

	dbOnce sync.Once
	db     *objectDB
	dbErr  error

	cfgMu sync.Mutex
	cfg   *config

	prCache packedRefsCache
}

// Open finds the repository containing dir, walking up the directory tree as
// git does: a .git directory, a .git file ("gitdir: PATH", as linked worktrees
// and submodules use), or dir itself being a (bare) git directory. $GIT_DIR,
// when set, names the git directory directly, and the work tree is then
// $GIT_WORK_TREE, core.worktree, or dir. A repository found by walking up
// must belong to the current user unless safe.directory names it (see
// safedir.go): otherwise the error wraps ErrDubiousOwnership.
func Open(dir string) (*Repo, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("opening repository at %s: %w", dir, err)
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	} else {
		return nil, fmt.Errorf("opening repository at %s: %w", dir, err)
	}
	if gd := os.Getenv("GIT_DIR"); gd != "" {
		gd, err := filepath.Abs(gd)
		if err != nil {
			return nil, fmt.Errorf("opening repository at $GIT_DIR: %w", err)
		}
		if !isGitDir(gd) {
			return nil, fmt.Errorf("%w: $GIT_DIR %s", ErrNotRepository, gd)
		}
		wt := abs
		if env := os.Getenv("GIT_WORK_TREE"); env != "" {
			if wt, err = filepath.Abs(env); err != nil {
				return nil, fmt.Errorf("opening repository at $GIT_WORK_TREE: %w", err)
			}
		}
		return openAt(gd, wt, os.Getenv("GIT_WORK_TREE") != "")
	}
	for d := abs; ; {
		dotgit := filepath.Join(d, ".git")
		if fi, err := os.Stat(dotgit); err == nil {
			switch {
			case fi.IsDir() && isGitDir(dotgit):
				if err := checkOwnership("", d, dotgit); err != nil {
					return nil, err
				}
				return openAt(dotgit, d, false)
			case fi.Mode().IsRegular():
				gd, err := readGitFile(dotgit)
				if err != nil {
					return nil, err
				}
				if err := checkOwnership(dotgit, d, gd); err != nil {
					return nil, err
				}
				return openAt(gd, d, false)
			}
		}
		if isGitDir(d) {
			wt := ""
			if filepath.Base(d) == ".git" {
				// Inside a non-bare repository's .git: the work tree is its
				// parent, as git sees it.
				wt = filepath.Dir(d)
			}
			// git checks a git directory it starts in as a bare
			// repository: its own owner, matched by its own path.
			if err := checkOwnership("", "", d); err != nil {
				return nil, err
			}
			return openAt(d, wt, false)
		}
		parent := filepath.Dir(d)
		if parent == d {
			break
		}
		d = parent
	}
	return nil, fmt.Errorf("%w (or any parent up to /): %s", ErrNotRepository, abs)
}

// readGitFile reads a ".git" file: "gitdir: PATH", PATH relative to the file.
func readGitFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	rest, ok := bytes.CutPrefix(line, []byte("gitdir: "))
	if !ok {
		return "", fmt.Errorf("reading %s: invalid gitfile format", path)
	}
	gd := strings.TrimRight(string(rest), "\r")
	if !filepath.IsAbs(gd) {
		gd = filepath.Join(filepath.Dir(path), gd)
	}
	gd = filepath.Clean(gd)
	if !isGitDir(gd) {
		return "", fmt.Errorf("reading %s: %w: %s", path, ErrNotRepository, gd)
	}
	return gd, nil
}

// commonDirOf returns the shared directory of gitDir: the target of its
// "commondir" file (linked worktrees), else gitDir itself.
func commonDirOf(gitDir string) string {
	b, err := os.ReadFile(filepath.Join(gitDir, "commondir"))
	if err != nil {
		return gitDir
	}
	cd := strings.TrimRight(string(b), "\r\n")
	if cd == "" {
		return gitDir
	}
	if !filepath.IsAbs(cd) {
		cd = filepath.Join(gitDir, cd)
	}
	return filepath.Clean(cd)
}

// isGitDir applies git's test: a HEAD, an objects directory and a refs
// directory (the latter two in the common directory).
func isGitDir(d string) bool {
	if fi, err := os.Lstat(filepath.Join(d, "HEAD")); err != nil || fi.IsDir() {
		return false
	}
	cd := commonDirOf(d)
	for _, sub := range []string{"objects", "refs"} {
		if fi, err := os.Stat(filepath.Join(cd, sub)); err != nil || !fi.IsDir() {
			return false
		}
	}
	return true
}

// knownExtensions are the repository extensions this package understands;
// git refuses a repository with an extension it does not know, and so do we.
var knownExtensions = map[string]bool{
	"noop":            true,
	"noop-v1":         true,
	"preciousobjects": true,
	"partialclone":    true,
	"worktreeconfig":  true,
	"objectformat":    true,
	"refstorage":      true,
}

func openAt(gitDir, workTree string, explicitWorkTree bool) (*Repo, error) {
	r := &Repo{gitDir: filepath.Clean(gitDir), commonDir: commonDirOf(gitDir), workTree: workTree}
	// The repository's own config decides the format before anything is
	// read; the full lookup order (system, global, ...) comes lazily.
	cf, err := parseConfigFile(filepath.Join(r.commonDir, "config"), nil)
	if err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("opening repository %s: %w", r.gitDir, err)
	}
	if cf == nil {
		cf = &config{}
	}
	version, _ := cf.get("core.repositoryformatversion")
	if version != "" && version != "0" && version != "1" {
		return nil, fmt.Errorf("opening repository %s: unsupported repository format version %s", r.gitDir, version)
	}
	if version == "1" {
		for _, e := range cf.entries {
			if e.section != "extensions" || e.subsection != "" {
				continue
			}
			if !knownExtensions[e.name] {
				return nil, fmt.Errorf("opening repository %s: unsupported repository extension extensions.%s", r.gitDir, e.name)
			}
		}
		if f, _ := cf.get("extensions.objectformat"); f != "" && !strings.EqualFold(f, "sha1") {
			return nil, fmt.Errorf("opening repository %s: object format %s is not supported (gitseal reads SHA-1 repositories)", r.gitDir, f)
		}
		if s, _ := cf.get("extensions.refstorage"); s != "" && !strings.EqualFold(s, "files") {
			return nil, fmt.Errorf("opening repository %s: ref storage %s is not supported (gitseal reads the files ref backend)", r.gitDir, s)
		}
		if p, _ := cf.get("extensions.partialclone"); p != "" {
			r.partialClone = true
		}
	}
	for _, e := range cf.entries {
		// git >= 2.x marks a partial clone's remote "promisor = true".
		if e.section == "remote" && e.name == "promisor" && (!e.hasValue || isTrue(e.value)) {
			r.partialClone = true
		}
	}
	if r.gitDir == r.commonDir && !explicitWorkTree {
		if wt, ok := cf.get("core.worktree"); ok && wt != "" {
			if !filepath.IsAbs(wt) {
				wt = filepath.Join(r.gitDir, wt)
			}
			r.workTree = filepath.Clean(wt)
		} else if b, ok := cf.getBool("core.bare"); ok && b {
			r.workTree = ""
		}
	}
	return r, nil
}

// WorkTree returns the absolute top level of the work tree, "" for a bare
// repository.
func (r *Repo) WorkTree() string { return r.workTree }

// GitDir returns the per-worktree git directory (where HEAD, index and
// logs/HEAD live).
func (r *Repo) GitDir() string { return r.gitDir }

// CommonDir returns the directory shared by all worktrees (objects, refs,
// packed-refs, config). It equals GitDir except in a linked worktree.
func (r *Repo) CommonDir() string { return r.commonDir }

// Close releases the object database. The Repo must not be used afterwards.
func (r *Repo) Close() error {
	if r.db != nil {
		return r.db.close()
	}
	return nil
}

func isTrue(v string) bool {
	b, ok := parseBool(v)
	return ok && b
}
