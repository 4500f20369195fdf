package repo

// The journal (CommonDir/gitseal-journal) lets a gitseal killed at any
// instant leave the repository in a state the next gitseal finishes without
// help. It exists only while a mutation is under way, and only the holder of
// the gitseal lock writes it, so finding one when taking the lock means its
// writer died (or failed after the point of no return).
//
// It is a text file of records, one per line, each appended with a single
// write(2) (a record is never torn by SIGKILL; a trailing partial line, as a
// power loss may leave, is ignored):
//
//	tmp "PATH"                       a temporary file gitseal may have created
//	lock DEV INO "PATH"              a git lock file gitseal created, by inode
//	commit "REF" OLD NEW "GITDIR" "WORKTREE"
//	stage - OLD 0000… "GITDIR" "WORKTREE"
//	path OLDMODE OLDID NEWMODE NEWID "PATH"
//	torn "PATH"                      a working-tree file about to be overwritten in place
//
// A commit (or stage) record and its path records are appended in one write,
// after the new objects are durable and before the ref moves; the path
// records say what each changed path held at the old tip and holds in the new
// commit (mode 0 = absent). Recovery (under the lock):
//
//  1. removes each tmp file, and each lock file whose inode still matches
//     (a live git process's lock file has another inode);
//  2. for a commit record whose worktree HEAD now resolves to NEW (the ref
//     moved but the index and working tree may lag behind), or a stage record
//     whose HEAD is still OLD: brings every path whose working-tree file
//     still holds the OLD content (or, for a torn record, anything but the
//     NEW content: the write was cut short), and every index entry still at
//     OLD, to NEW.
//     Anything else — the user's own later edits, a HEAD the user has moved
//     since — is left alone. Recovery is idempotent, so a recovery that is
//     itself killed is simply run again;
//  3. deletes the journal.

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

const journalName = "gitseal-journal"

type journal struct {
	path  string
	f     *os.File
	depth int  // nesting of operations under way
	dirty bool // an operation stopped after its point of no return
}

// add appends one record (or several lines) in one write.
func (j *journal) add(lines string) error {
	if !strings.HasSuffix(lines, "\n") {
		lines += "\n"
	}
	if j.f == nil {
		f, err := os.OpenFile(j.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("writing journal: %w", err)
		}
		j.f = f
	}
	if _, err := j.f.Write([]byte(lines)); err != nil {
		return fmt.Errorf("writing journal: %w", err)
	}
	return nil
}

// begin starts an operation; end finishes it. The journal is deleted when
// the outermost operation ends with everything it did either complete or
// rolled back (clean); otherwise it stays for recovery.
func (j *journal) begin() { j.depth++ }

func (j *journal) end(clean bool) {
	j.depth--
	if !clean {
		j.dirty = true
	}
	if j.depth == 0 && !j.dirty {
		j.remove()
	}
}

func (j *journal) remove() {
	j.close()
	os.Remove(j.path)
}

func (j *journal) close() {
	if j.f != nil {
		j.f.Close()
		j.f = nil
	}
}

// journalBlock is a commit or stage record with its paths.
type journalBlock struct {
	stage    bool
	ref      string
	old, new Hash
	gitDir   string
	workTree string
	paths    []journalPath
	torn     map[string]bool // paths whose working-tree file may be half written
}

type journalPath struct {
	path     string
	old, new fileState
}

// fileState is what a path holds in a tree: absent when mode is 0.
type fileState struct {
	mode Mode
	hash Hash
}

func (s fileState) present() bool { return s.mode != 0 }

func (b *journalBlock) encode() string {
	var sb strings.Builder
	kind, ref := "commit", strconv.Quote(b.ref)
	if b.stage {
		kind, ref = "stage", "-"
	}
	fmt.Fprintf(&sb, "%s %s %s %s %s %s\n", kind, ref, b.old, b.new, strconv.Quote(b.gitDir), strconv.Quote(b.workTree))
	for _, p := range b.paths {
		fmt.Fprintf(&sb, "path %o %s %o %s %s\n", p.old.mode, p.old.hash, p.new.mode, p.new.hash, strconv.Quote(p.path))
	}
	return sb.String()
}

// fields splits a record into words, unquoting quoted ones.
func journalFields(line string) ([]string, bool) {
	var out []string
	for line = strings.TrimLeft(line, " "); line != ""; line = strings.TrimLeft(line, " ") {
		if line[0] == '"' {
			q, err := strconv.QuotedPrefix(line)
			if err != nil {
				return nil, false
			}
			s, _ := strconv.Unquote(q)
			out = append(out, s)
			line = line[len(q):]
			continue
		}
		w, rest, _ := strings.Cut(line, " ")
		out = append(out, w)
		line = rest
	}
	return out, true
}

// recoverJournal finishes or rolls back what the journal records (see the
// top of this file). It is a no-op when there is no journal.
func (r *Repo) recoverJournal(j *journal) error {
	data, err := os.ReadFile(j.path)
	if errors.Is(err, fs.ErrNotExist) {
		j.dirty = false
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading journal: %w", err)
	}
	type lockRec struct {
		dev, ino uint64
		path     string
	}
	var tmps []string
	var locks []lockRec
	var blocks []*journalBlock
	// Only whole lines count: a power loss may leave a partial last one.
	text := string(data)
	text = text[:strings.LastIndexByte(text, '\n')+1]
	for _, line := range strings.Split(text, "\n") {
		f, ok := journalFields(line)
		if !ok || len(f) == 0 {
			continue
		}
		switch {
		case f[0] == "tmp" && len(f) == 2:
			tmps = append(tmps, f[1])
		case f[0] == "lock" && len(f) == 4:
			dev, err1 := strconv.ParseUint(f[1], 10, 64)
			ino, err2 := strconv.ParseUint(f[2], 10, 64)
			if err1 == nil && err2 == nil {
				locks = append(locks, lockRec{dev, ino, f[3]})
			}
		case (f[0] == "commit" || f[0] == "stage") && len(f) == 6:
			b := &journalBlock{stage: f[0] == "stage", ref: f[1], gitDir: f[4], workTree: f[5]}
			var err1, err2 error
			b.old, err1 = ParseHash(f[2])
			b.new, err2 = ParseHash(f[3])
			if err1 == nil && err2 == nil {
				blocks = append(blocks, b)
			}
		case f[0] == "torn" && len(f) == 2 && len(blocks) > 0:
			b := blocks[len(blocks)-1]
			if b.torn == nil {
				b.torn = map[string]bool{}
			}
			b.torn[f[1]] = true
		case f[0] == "path" && len(f) == 6 && len(blocks) > 0:
			var p journalPath
			om, err1 := strconv.ParseUint(f[1], 8, 32)
			nm, err2 := strconv.ParseUint(f[3], 8, 32)
			oh, err3 := ParseHash(f[2])
			nh, err4 := ParseHash(f[4])
			if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
				continue
			}
			p.path, p.old, p.new = f[5], fileState{Mode(om), oh}, fileState{Mode(nm), nh}
			b := blocks[len(blocks)-1]
			b.paths = append(b.paths, p)
		}
	}
	for _, t := range tmps {
		os.Remove(t)
	}
	for _, l := range locks {
		if fi, err := os.Lstat(l.path); err == nil {
			if dev, ino := fileID(fi); dev == l.dev && ino == l.ino {
				os.Remove(l.path)
			}
		}
	}
	j.begin()
	for _, b := range blocks {
		if err := r.rollForward(b); err != nil {
			j.end(false)
			return fmt.Errorf("finishing an interrupted gitseal commit: %w (fix the cause and retry, or remove %s to leave the index and working tree as they are)", err, j.path)
		}
	}
	j.depth--
	j.dirty = false
	j.remove()
	return nil
}

// rollForward brings the index and working tree of a journal block's
// worktree in line with its new commit, where they still hold the old
// content and HEAD is where the block left it.
func (r *Repo) rollForward(b *journalBlock) error {
	if b.workTree == "" {
		return nil
	}
	if _, err := os.Stat(filepath.Join(b.gitDir, "HEAD")); err != nil {
		return nil // the worktree is gone
	}
	head, err := r.resolveRefIn(b.gitDir, "HEAD")
	if err != nil && !errors.Is(err, ErrRefNotFound) {
		return err
	}
	want := b.new
	if b.stage {
		want = b.old
	}
	if head != want {
		return nil
	}
	var items []*pathChange
	for _, p := range b.paths {
		if p.old == p.new {
			continue
		}
		pc := &pathChange{path: p.path, old: p.old, new: p.new, delete: !p.new.present()}
		items = append(items, pc)
	}
	if len(items) == 0 {
		return nil
	}
	wt := &worktreeUpdate{r: r, gitDir: b.gitDir, workTree: b.workTree, changes: items}
	if err := wt.lockAndScan(); err != nil {
		return err
	}
	defer wt.release()
	for _, pc := range items {
		ws, err := wt.worktreeState(pc)
		if err != nil {
			return err
		}
		is := wt.indexState(pc)
		pc.writeFile = (ws.isOld || b.torn[pc.path]) && !ws.isNew && !is.skipWorktree
		pc.fileIsNew = ws.isNew
		pc.setIndex = is.isOld && !is.isNew
		pc.xflags = is.xflags
		pc.keepIndex = !pc.setIndex
		if pc.writeFile && !pc.delete {
			data, err := r.ReadBlob(pc.new.hash)
			if err != nil {
				return err
			}
			pc.data = data
		}
	}
	return wt.apply()
}

// resolveRefIn resolves a ref as seen from the worktree whose git directory
// is gitDir (HEAD and other per-worktree refs are read there, the rest from
// the common directory).
func (r *Repo) resolveRefIn(gitDir, name string) (Hash, error) {
	for depth := 0; depth <= maxSymrefDepth; depth++ {
		base := r.commonDir
		if isPerWorktreeRef(name) {
			base = gitDir
		}
		b, err := os.ReadFile(filepath.Join(base, filepath.FromSlash(name)))
		if err == nil {
			h, target, err := parseRefFile(b)
			if err != nil {
				return ZeroHash, fmt.Errorf("reading ref %s: %w", name, err)
			}
			if target == "" {
				return h, nil
			}
			name = target
			continue
		}
		if !errors.Is(err, fs.ErrNotExist) && !isDirErr(filepath.Join(base, filepath.FromSlash(name))) {
			return ZeroHash, fmt.Errorf("reading ref %s: %w", name, err)
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
	return ZeroHash, fmt.Errorf("reading ref %s: symbolic ref loop", name)
}
