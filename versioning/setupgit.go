package versioning

// setup-git (DESIGN §8) wires gitseal into the user's own git, opt-in and
// for this clone only:
//
//   - .gitattributes in the work tree gets two lines naming the gitseal diff
//     and merge drivers for secret and keyring files. It is the user's file:
//     it is written, never committed; the user commits it with their work
//     (so every clone that runs setup-git gets the drivers; a clone that
//     has not run it sees the sealed text, as without gitseal).
//   - The repository's own config (never global) defines the drivers:
//     diff.gitseal.textconv, diff.gitseal.cachetextconv = false (a cached
//     textconv would store decrypted values in refs/notes/textconv/gitseal),
//     merge.gitseal.name and merge.gitseal.driver.
//   - A pre-commit hook runs `gitseal scan --staged`; a post-merge hook
//     runs `gitseal reseal --check`, which warns when a merge left a secret
//     sealed under an older data key. A hook already there is kept, renamed
//     NAME.before-gitseal, and run first.
//
// Running it again changes nothing.

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// The gitattributes lines and driver settings setup-git writes.
var (
	gitAttributesLines = []string{
		".gitseal/**/secrets/* diff=gitseal merge=gitseal",
		".gitseal/**/keys/* diff=gitseal merge=gitseal",
	}
	gitConfigSettings = [][2]string{
		{"diff.gitseal.textconv", "gitseal textconv"},
		{"diff.gitseal.cachetextconv", "false"},
		{"merge.gitseal.name", "gitseal: merge sealed secrets by value"},
		{"merge.gitseal.driver", "gitseal merge-driver %O %A %B %P"},
	}
)

const (
	gitAttributesComment = "# gitseal setup-git: decrypted diffs and value merges of sealed files"
	hookMarker           = "# gitseal %s hook v1"
)

// hookScript is a gitseal hook that runs the hook it replaced (kept as
// NAME.before-gitseal) first, then body.
func hookScript(name, purpose, body string) string {
	return "#!/bin/sh\n" + fmt.Sprintf(hookMarker, name) + " (written by gitseal setup-git)\n" +
		"# Runs the " + name + " hook that was here before, if any, then " + purpose + "\n" +
		"chained=\"$(dirname \"$0\")/" + name + ".before-gitseal\"\n" +
		"if [ -x \"$chained\" ]; then\n\t\"$chained\" \"$@\" || exit $?\nfi\n" + body
}

// The hooks setup-git installs.
var gitHooks = []struct{ name, script string }{
	{"pre-commit", hookScript("pre-commit", "refuses a commit whose staged\n# files hold the plaintext of a current secret.",
		"exec gitseal scan --staged\n")},
	{"post-merge", hookScript("post-merge", "warns about secrets the merge left\n# sealed under an older data key (a rotation on one branch, a secret added\n# on the other); `gitseal reseal` seals them again.",
		"gitseal reseal --check >&2 || true\n")},
}

// GitSetupResult says what SetupGit did. Changes is empty when everything
// was already in place.
type GitSetupResult struct {
	// Changes lists what was written, one short sentence each.
	Changes []string
	// Attributes is the .gitattributes file; AttributesChanged reports that
	// it was written (the user should commit it).
	Attributes        string
	AttributesChanged bool
	// Hooks are the hooks' paths; Chained the previous hooks' new paths.
	Hooks, Chained []string
}

// SetupGit installs the gitseal diff and merge drivers and the pre-commit
// hook for this clone (see the top of this file). A repository without a
// work tree is refused.
func (s *Store) SetupGit() (GitSetupResult, error) {
	r := s.repo
	var res GitSetupResult
	if r.WorkTree() == "" {
		return res, fmt.Errorf("setup-git: %s has no work tree (a bare repository has no diffs, merges or commits to hook into)", r.GitDir())
	}
	res.Attributes = filepath.Join(r.WorkTree(), ".gitattributes")
	changed, err := ensureLines(res.Attributes, gitAttributesComment, gitAttributesLines)
	if err != nil {
		return res, fmt.Errorf("setup-git: writing %s: %w", res.Attributes, err)
	}
	if changed {
		res.AttributesChanged = true
		res.Changes = append(res.Changes, "wrote .gitattributes (commit it)")
	}
	for _, kv := range gitConfigSettings {
		changed, err := r.SetConfig(kv[0], kv[1])
		if err != nil {
			return res, fmt.Errorf("setup-git: %w", err)
		}
		if changed {
			res.Changes = append(res.Changes, fmt.Sprintf("set %s = %s", kv[0], kv[1]))
		}
	}
	hooks := s.hooksDir()
	for _, h := range gitHooks {
		p := filepath.Join(hooks, h.name)
		chained, changed, err := installHook(p, h.name, h.script)
		if err != nil {
			return res, fmt.Errorf("setup-git: installing %s: %w", p, err)
		}
		res.Hooks = append(res.Hooks, p)
		if chained != "" {
			res.Chained = append(res.Chained, chained)
		}
		if changed {
			msg := "installed the " + h.name + " hook " + p
			if chained != "" {
				msg += " (the previous hook runs first, as " + filepath.Base(chained) + ")"
			}
			res.Changes = append(res.Changes, msg)
		}
	}
	return res, nil
}

// hooksDir is where git looks for hooks: core.hooksPath (relative to the
// work tree), else the common git directory's hooks.
func (s *Store) hooksDir() string {
	r := s.repo
	if p, ok := r.Config("core.hooksPath"); ok && p != "" {
		if strings.HasPrefix(p, "~/") {
			if home, err := os.UserHomeDir(); err == nil {
				p = filepath.Join(home, p[2:])
			}
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(r.WorkTree(), p)
		}
		return p
	}
	return filepath.Join(r.CommonDir(), "hooks")
}

// ensureLines appends comment and every line of want missing from the file
// (compared after trimming spaces), keeping everything else.
func ensureLines(path, comment string, want []string) (bool, error) {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	have := map[string]bool{}
	for _, l := range strings.Split(string(old), "\n") {
		have[strings.Join(strings.Fields(l), " ")] = true
	}
	var add []string
	for _, l := range want {
		if !have[l] {
			add = append(add, l)
		}
	}
	if len(add) == 0 {
		return false, nil
	}
	out := bytes.Clone(old)
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	if !have[comment] {
		out = append(out, comment+"\n"...)
	}
	for _, l := range add {
		out = append(out, l+"\n"...)
	}
	mode := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	return true, writeFileAtomic(path, out, mode)
}

// installHook writes the gitseal hook script at path, keeping a hook
// already there as NAME.before-gitseal. It returns that file's path when
// there is one.
func installHook(path, name, script string) (chained string, changed bool, err error) {
	chainedPath := path + ".before-gitseal"
	if _, err := os.Lstat(chainedPath); err == nil {
		chained = chainedPath
	}
	cur, err := os.ReadFile(path)
	switch {
	case err == nil && bytes.Equal(cur, []byte(script)):
		return chained, false, nil
	case err == nil && bytes.Contains(cur, []byte(fmt.Sprintf(hookMarker, name))):
		// An older gitseal hook: replaced, its chain kept.
	case err == nil || isDanglingLink(path):
		if chained != "" {
			return "", false, fmt.Errorf("both %s and %s exist and neither is gitseal's hook; merge them by hand", path, chainedPath)
		}
		if err := os.Rename(path, chainedPath); err != nil {
			return "", false, err
		}
		chained = chainedPath
	case !errors.Is(err, fs.ErrNotExist):
		return "", false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return chained, false, err
	}
	return chained, true, writeFileAtomic(path, []byte(script), 0o755)
}

func isDanglingLink(path string) bool {
	fi, err := os.Lstat(path)
	return err == nil && fi.Mode()&fs.ModeSymlink != 0
}

// writeFileAtomic replaces path with data through a temporary file in the
// same directory.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".gitseal-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(mode)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}
