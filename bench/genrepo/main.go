// Command genrepo writes the history of a synthetic reference repository
// (PERF.md) as a git fast-import stream.
//
// The repository has text files of 200–800 bytes, 100 per directory, laid out
// as src/mNN/pNN/fNN.txt. The first commit adds every file; each later commit
// changes 1–5 of them by rewriting one line. Everything is derived from the
// seed, so a given seed and size always yield the same objects and commit ids.
//
// Usage:
//
//	genrepo -size large | git fast-import --quiet
//	genrepo -size large -import -hook 'CMD' -hook-first 500 -hook-every 500
//
// With -import, genrepo runs `git fast-import` itself in the current
// directory. With -hook it also stops after commit -hook-first, then after
// every -hook-every commits, lets the import finish, runs CMD through sh, and
// resumes the history on top of whatever CMD committed (fast-import's
// incremental `from refs/heads/main^0`). The bench scripts use this to spread
// gitseal commits over a long history. CMD sees GENREPO_COMMIT (commits
// written so far) and GENREPO_TIME (unix time of the last one).
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
)

// sizes are the reference repositories of PERF.md.
var sizes = map[string]struct{ files, commits int }{
	"small":  {1100, 10},
	"medium": {21000, 5000},
	"large":  {101000, 20000},
}

const (
	filesPerDir = 100
	minSize     = 200
	maxSize     = 800
	branch      = "refs/heads/main"
	ident       = "Bench Generator <bench@example.com>"
	// baseTime is the author time of the first commit; commits are ten
	// minutes apart.
	baseTime = 1600000000
	step     = 600
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "genrepo: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("genrepo", flag.ContinueOnError)
	size := fs.String("size", "small", "reference repository: small, medium or large")
	files := fs.Int("files", 0, "number of files (overrides -size)")
	commits := fs.Int("commits", 0, "number of commits (overrides -size)")
	seed := fs.Uint64("seed", 1, "random seed")
	doImport := fs.Bool("import", false, "run git fast-import in the current directory instead of writing the stream to stdout")
	hook := fs.String("hook", "", "shell command run between import segments (needs -import)")
	hookFirst := fs.Int("hook-first", 0, "run the hook after this many commits")
	hookEvery := fs.Int("hook-every", 0, "then run it again after every this many commits (0: only once)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	sz, ok := sizes[*size]
	if !ok && (*files == 0 || *commits == 0) {
		return fmt.Errorf("unknown size %q (want small, medium or large)", *size)
	}
	if *files > 0 {
		sz.files = *files
	}
	if *commits > 0 {
		sz.commits = *commits
	}
	if sz.files < 1 || sz.commits < 1 {
		return errors.New("need at least one file and one commit")
	}
	if *hook != "" && !*doImport {
		return errors.New("-hook needs -import")
	}
	if *hook != "" && *hookFirst < 1 {
		return errors.New("-hook needs -hook-first >= 1")
	}

	g := newGen(*seed, sz.files)
	if !*doImport {
		w := bufio.NewWriterSize(os.Stdout, 1<<20)
		for i := 0; i < sz.commits; i++ {
			g.commit(w, i, false)
		}
		return w.Flush()
	}

	next := -1 // commit count at which the next hook runs
	if *hook != "" {
		next = *hookFirst
	}
	for i := 0; i < sz.commits; {
		imp, err := startImport()
		if err != nil {
			return err
		}
		first := true
		for ; i < sz.commits && i != next; i++ {
			g.commit(imp.w, i, first && i > 0)
			first = false
		}
		if err := imp.finish(); err != nil {
			return err
		}
		if i == next && i < sz.commits {
			if err := runHook(*hook, i); err != nil {
				return err
			}
			next = -1
			if *hookEvery > 0 {
				next = i + *hookEvery
			}
		}
	}
	return nil
}

type importer struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	w   *bufio.Writer
}

func startImport() (*importer, error) {
	cmd := exec.Command("git", "fast-import", "--quiet")
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("starting git fast-import: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting git fast-import: %w", err)
	}
	return &importer{cmd: cmd, in: in, w: bufio.NewWriterSize(in, 1<<20)}, nil
}

func (imp *importer) finish() error {
	ferr := imp.w.Flush()
	cerr := imp.in.Close()
	werr := imp.cmd.Wait()
	if err := errors.Join(ferr, cerr, werr); err != nil {
		return fmt.Errorf("git fast-import: %w", err)
	}
	return nil
}

func runHook(hook string, done int) error {
	cmd := exec.Command("sh", "-c", hook)
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	cmd.Env = append(os.Environ(),
		fmt.Sprintf("GENREPO_COMMIT=%d", done),
		fmt.Sprintf("GENREPO_TIME=%d", baseTime+(done-1)*step))
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("hook after commit %d: %w", done, err)
	}
	return nil
}

// gen holds the current content of every file.
type gen struct {
	rnd     *rand.Rand
	content [][]byte
	words   []string
	line    []byte
}

func newGen(seed uint64, files int) *gen {
	g := &gen{
		rnd:     rand.New(rand.NewPCG(seed, 0x6769747365616c)),
		content: make([][]byte, files),
	}
	// A fixed vocabulary of pronounceable words makes text that compresses
	// and deltas like source code does, roughly.
	const cons, vows = "bcdfghjklmnprstvz", "aeiou"
	for range 256 {
		var b strings.Builder
		for range 1 + g.rnd.IntN(4) {
			b.WriteByte(cons[g.rnd.IntN(len(cons))])
			b.WriteByte(vows[g.rnd.IntN(len(vows))])
		}
		g.words = append(g.words, b.String())
	}
	return g
}

func path(i int) string {
	d := i / filesPerDir
	return fmt.Sprintf("src/m%02d/p%02d/f%02d.txt", d/100, d%100, i%filesPerDir)
}

// newLine returns a line of 20–80 bytes ending in a newline.
func (g *gen) newLine() []byte {
	n := 20 + g.rnd.IntN(61)
	l := g.line[:0]
	for len(l) < n {
		if len(l) > 0 {
			l = append(l, ' ')
		}
		l = append(l, g.words[g.rnd.IntN(len(g.words))]...)
	}
	l = append(l, '\n')
	g.line = l
	return l
}

func (g *gen) newFile() []byte {
	n := minSize + g.rnd.IntN(maxSize-minSize+1)
	b := make([]byte, 0, n+81)
	for len(b) < n {
		b = append(b, g.newLine()...)
	}
	return fit(b, n)
}

// fit cuts b to n bytes, ending it with a newline.
func fit(b []byte, n int) []byte {
	b = b[:n]
	b[n-1] = '\n'
	return b
}

// edit replaces one line of file i, keeping it within the size bounds.
func (g *gen) edit(i int) {
	old := g.content[i]
	lines := strings.SplitAfter(string(old), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	k := g.rnd.IntN(len(lines))
	nb := make([]byte, 0, len(old)+81)
	for j, l := range lines {
		if j == k {
			nb = append(nb, g.newLine()...)
		} else {
			nb = append(nb, l...)
		}
	}
	switch {
	case len(nb) > maxSize:
		nb = fit(nb, maxSize)
	case len(nb) < minSize:
		for len(nb) < minSize {
			nb = append(nb, g.newLine()...)
		}
	}
	g.content[i] = nb
}

// commit writes commit number i. from makes it continue the branch as it
// is in the repository (the first commit of a later import segment).
func (g *gen) commit(w *bufio.Writer, i int, from bool) {
	var changed []int
	var msg string
	if i == 0 {
		for f := range g.content {
			g.content[f] = g.newFile()
			changed = append(changed, f)
		}
		msg = fmt.Sprintf("initial: %d files\n", len(changed))
	} else {
		seen := map[int]bool{}
		for n := 1 + g.rnd.IntN(5); len(changed) < n && len(changed) < len(g.content); {
			f := g.rnd.IntN(len(g.content))
			if seen[f] {
				continue
			}
			seen[f] = true
			g.edit(f)
			changed = append(changed, f)
		}
		msg = fmt.Sprintf("change %d: %d files\n", i, len(changed))
	}
	t := baseTime + i*step
	fmt.Fprintf(w, "commit %s\nauthor %s %d +0000\ncommitter %s %d +0000\ndata %d\n%s",
		branch, ident, t, ident, t, len(msg), msg)
	if from {
		fmt.Fprintf(w, "from %s^0\n", branch)
	}
	for _, f := range changed {
		fmt.Fprintf(w, "M 100644 inline %s\ndata %d\n", path(f), len(g.content[f]))
		w.Write(g.content[f])
		w.WriteByte('\n')
	}
	w.WriteByte('\n')
}
