package repo

// Git config, read as git reads it. Files, in order, later ones winning:
//
//	system    $GIT_CONFIG_SYSTEM, else /etc/gitconfig (skipped when
//	          $GIT_CONFIG_NOSYSTEM is true)
//	global    $GIT_CONFIG_GLOBAL if set; else $XDG_CONFIG_HOME/git/config
//	          ($HOME/.config/git/config) and then ~/.gitconfig
//	local     $COMMONDIR/config
//	worktree  $GITDIR/config.worktree, when extensions.worktreeConfig is true
//	env       GIT_CONFIG_COUNT, GIT_CONFIG_KEY_<n>, GIT_CONFIG_VALUE_<n>
//
// include.path and includeIf.<cond>.path (conditions gitdir:, gitdir/i:,
// onbranch:) splice the named file in where they appear. Section and
// variable names are case-insensitive, subsections case-sensitive.
// The parsed result is cached and re-read when any file read changes.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

const maxIncludeDepth = 10

type configEntry struct {
	section    string // lower case
	subsection string // as written
	name       string // lower case
	value      string
	hasValue   bool // false for "name" alone, which means true
}

// config is an ordered list of entries from one or more files.
type config struct {
	entries []configEntry
	files   []fileStamp // every file read (or found missing), to detect change
}

type fileStamp struct {
	path  string
	size  int64
	mtime time.Time
	ino   uint64
	ok    bool
}

func stampOf(path string) fileStamp {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{path: path}
	}
	return fileStamp{path: path, size: fi.Size(), mtime: fi.ModTime(), ino: inode(fi), ok: true}
}

// splitKey splits "section.sub.section.name" into its parts.
func splitKey(key string) (section, subsection, name string, ok bool) {
	first := strings.IndexByte(key, '.')
	last := strings.LastIndexByte(key, '.')
	if first <= 0 || last == len(key)-1 {
		return "", "", "", false
	}
	section = strings.ToLower(key[:first])
	name = strings.ToLower(key[last+1:])
	if first != last {
		subsection = key[first+1 : last]
	}
	return section, subsection, name, true
}

func (c *config) match(key string, fn func(e *configEntry)) {
	sec, sub, name, ok := splitKey(key)
	if !ok {
		return
	}
	for i := range c.entries {
		e := &c.entries[i]
		if e.section == sec && e.subsection == sub && e.name == name {
			fn(e)
		}
	}
}

func (c *config) get(key string) (string, bool) {
	var v string
	found := false
	c.match(key, func(e *configEntry) { v, found = e.value, true })
	return v, found
}

func (c *config) getAll(key string) []string {
	var vs []string
	c.match(key, func(e *configEntry) { vs = append(vs, e.value) })
	return vs
}

func (c *config) getBool(key string) (bool, bool) {
	var last *configEntry
	c.match(key, func(e *configEntry) { last = e })
	if last == nil {
		return false, false
	}
	if !last.hasValue {
		return true, true
	}
	return parseBool(last.value)
}

// parseBool parses git's boolean spellings; an integer is true when non-zero.
func parseBool(v string) (bool, bool) {
	switch strings.ToLower(v) {
	case "true", "yes", "on":
		return true, true
	case "false", "no", "off", "":
		return false, true
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return false, false
	}
	return n != 0, true
}

// Config returns the last value of key ("user.name", "remote.origin.url")
// across git's config files. A variable written without "= value" reads as
// "" (and as true through ConfigBool).
func (r *Repo) Config(key string) (string, bool) {
	return r.config().get(key)
}

// ConfigAll returns every value of key, in git's order.
func (r *Repo) ConfigAll(key string) []string {
	return r.config().getAll(key)
}

// ConfigBool returns key as a boolean; ok is false when it is unset or not
// a boolean.
func (r *Repo) ConfigBool(key string) (value, ok bool) {
	return r.config().getBool(key)
}

// config returns the merged config, re-reading it when a file changed.
// Unreadable or malformed files are skipped, as a missing file is: config
// lookups never fail, they only miss.
func (r *Repo) config() *config {
	r.cfgMu.Lock()
	defer r.cfgMu.Unlock()
	if c := r.cfg; c != nil {
		fresh := true
		for _, f := range c.files {
			if stampOf(f.path) != f {
				fresh = false
				break
			}
		}
		if fresh {
			return c
		}
	}
	r.cfg = r.loadConfig()
	return r.cfg
}

func (r *Repo) loadConfig() *config {
	c := &config{}
	p := &configParser{repo: r, out: c}
	for _, f := range append(userConfigFiles(), filepath.Join(r.commonDir, "config")) {
		p.file(f, 0)
	}
	// The worktree file counts only when the repository config (as merged
	// so far) turns it on.
	wt := filepath.Join(r.gitDir, "config.worktree")
	if on, _ := c.getBool("extensions.worktreeconfig"); on {
		p.file(wt, 0)
	} else {
		c.files = append(c.files, stampOf(wt)) // notice it being created
	}
	c.addEnv()
	return c
}

// userConfigFiles are the system and global config files, in git's order:
// the files a repository's own config cannot change.
func userConfigFiles() []string {
	var files []string
	if nosys, _ := parseBool(os.Getenv("GIT_CONFIG_NOSYSTEM")); !nosys {
		if sys := os.Getenv("GIT_CONFIG_SYSTEM"); sys != "" {
			files = append(files, sys)
		} else {
			files = append(files, "/etc/gitconfig")
		}
	}
	if g, set := os.LookupEnv("GIT_CONFIG_GLOBAL"); set {
		if g != "" {
			files = append(files, g)
		}
	} else {
		home, _ := os.UserHomeDir()
		xdg := os.Getenv("XDG_CONFIG_HOME")
		if xdg == "" && home != "" {
			xdg = filepath.Join(home, ".config")
		}
		if xdg != "" {
			files = append(files, filepath.Join(xdg, "git", "config"))
		}
		if home != "" {
			files = append(files, filepath.Join(home, ".gitconfig"))
		}
	}
	return files
}

// addEnv appends the entries of GIT_CONFIG_COUNT, GIT_CONFIG_KEY_<n> and
// GIT_CONFIG_VALUE_<n>.
func (c *config) addEnv() {
	n, err := strconv.Atoi(os.Getenv("GIT_CONFIG_COUNT"))
	if err != nil {
		return
	}
	for i := 0; i < n; i++ {
		key, ok := os.LookupEnv("GIT_CONFIG_KEY_" + strconv.Itoa(i))
		sec, sub, name, valid := splitKey(key)
		if !ok || !valid {
			continue
		}
		c.entries = append(c.entries, configEntry{section: sec, subsection: sub, name: name,
			value: os.Getenv("GIT_CONFIG_VALUE_" + strconv.Itoa(i)), hasValue: true})
	}
}

// protectedConfig is the config a repository cannot write: system, global
// and the environment's, as git reads safe.directory.
func protectedConfig() *config {
	c := &config{}
	p := &configParser{out: c}
	for _, f := range userConfigFiles() {
		p.file(f, 0)
	}
	c.addEnv()
	return c
}

type configParser struct {
	repo *Repo // for includeIf conditions; nil when reading one file alone
	out  *config
}

// parseConfigFile parses one file (and what it includes). A missing file
// gives an error satisfying os.IsNotExist.
func parseConfigFile(path string, r *Repo) (*config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c := &config{}
	p := &configParser{repo: r, out: c}
	if err := p.parse(b, path, 0); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return c, nil
}

// file reads one config file into the output, ignoring a missing or broken
// file (a broken one keeps the entries before the error, as far as parsed).
func (p *configParser) file(path string, depth int) {
	p.out.files = append(p.out.files, stampOf(path))
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	_ = p.parse(b, path, depth)
}

var errConfigSyntax = errors.New("bad config line")

// parse reads git config syntax. Entries are appended to p.out as they are
// met, so includes land where the include line was.
func (p *configParser) parse(b []byte, path string, depth int) error {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	var sec, sub string
	haveSection := false
	line := 1
	i := 0
	for i < len(b) {
		c := b[i]
		switch {
		case c == '\n':
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == '#' || c == ';':
			for i < len(b) && b[i] != '\n' {
				i++
			}
		case c == '[':
			var err error
			i, sec, sub, err = parseSectionHeader(b, i+1)
			if err != nil {
				return fmt.Errorf("%w %d", errConfigSyntax, line)
			}
			haveSection = true
		case isAlpha(c):
			if !haveSection {
				return fmt.Errorf("%w %d", errConfigSyntax, line)
			}
			start := i
			for i < len(b) && (isAlpha(b[i]) || b[i] >= '0' && b[i] <= '9' || b[i] == '-') {
				i++
			}
			e := configEntry{section: sec, subsection: sub, name: strings.ToLower(string(b[start:i]))}
			for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
				i++
			}
			if i < len(b) && b[i] == '=' {
				var err error
				var nl int
				e.value, i, nl, err = parseConfigValue(b, i+1)
				line += nl
				if err != nil {
					return fmt.Errorf("%w %d", errConfigSyntax, line)
				}
				e.hasValue = true
			} else if i < len(b) && b[i] != '\n' && b[i] != '\r' && b[i] != '#' && b[i] != ';' {
				return fmt.Errorf("%w %d", errConfigSyntax, line)
			}
			p.out.entries = append(p.out.entries, e)
			if e.name == "path" && e.hasValue {
				p.include(e, path, depth)
			}
		default:
			return fmt.Errorf("%w %d", errConfigSyntax, line)
		}
	}
	return nil
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// parseSectionHeader parses after '[' up to and including ']'.
func parseSectionHeader(b []byte, i int) (int, string, string, error) {
	start := i
	for i < len(b) && (isAlpha(b[i]) || b[i] >= '0' && b[i] <= '9' || b[i] == '-' || b[i] == '.') {
		i++
	}
	name := string(b[start:i])
	if name == "" || i >= len(b) {
		return i, "", "", errConfigSyntax
	}
	if b[i] == ']' {
		// [section] or the old [section.subsection] (subsection lowered).
		sec, sub, _ := strings.Cut(name, ".")
		if sec == "" {
			return i, "", "", errConfigSyntax
		}
		return i + 1, strings.ToLower(sec), strings.ToLower(sub), nil
	}
	if b[i] != ' ' && b[i] != '\t' {
		return i, "", "", errConfigSyntax
	}
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	if i >= len(b) || b[i] != '"' || strings.Contains(name, ".") {
		return i, "", "", errConfigSyntax
	}
	i++
	var sub []byte
	for {
		if i >= len(b) || b[i] == '\n' {
			return i, "", "", errConfigSyntax
		}
		c := b[i]
		if c == '"' {
			i++
			break
		}
		if c == '\\' && i+1 < len(b) && b[i+1] != '\n' {
			i++
			c = b[i]
		}
		sub = append(sub, c)
		i++
	}
	if i >= len(b) || b[i] != ']' {
		return i, "", "", errConfigSyntax
	}
	return i + 1, strings.ToLower(name), string(sub), nil
}

// parseConfigValue parses a value after '=' to the end of its line,
// handling quotes, escapes, comments and backslash-newline continuations.
// It returns the value, the index of the line's end and how many newlines
// were consumed by continuations.
func parseConfigValue(b []byte, i int) (string, int, int, error) {
	var v []byte
	quoted := false
	pendingSpace := 0 // unquoted whitespace kept only if more text follows
	lines := 0
	for i < len(b) {
		c := b[i]
		if c == '\n' {
			if quoted {
				return "", i, lines, errConfigSyntax
			}
			break
		}
		if !quoted && (c == '#' || c == ';') {
			for i < len(b) && b[i] != '\n' {
				i++
			}
			break
		}
		if !quoted && (c == ' ' || c == '\t' || c == '\r') {
			if len(v) > 0 {
				pendingSpace++
			}
			i++
			continue
		}
		if pendingSpace > 0 {
			v = append(v, bytes.Repeat([]byte{' '}, pendingSpace)...)
			pendingSpace = 0
		}
		switch c {
		case '"':
			quoted = !quoted
			i++
			continue
		case '\\':
			if i+1 >= len(b) {
				return "", i, lines, errConfigSyntax
			}
			n := b[i+1]
			i += 2
			switch n {
			case '\n':
				lines++
			case '\r':
				if i < len(b) && b[i] == '\n' {
					i++
					lines++
				}
			case 'n':
				v = append(v, '\n')
			case 't':
				v = append(v, '\t')
			case 'b':
				if len(v) > 0 {
					v = v[:len(v)-1]
				}
			case '\\', '"':
				v = append(v, n)
			default:
				return "", i, lines, errConfigSyntax
			}
			continue
		}
		v = append(v, c)
		i++
	}
	if quoted {
		return "", i, lines, errConfigSyntax
	}
	return string(v), i, lines, nil
}

// include splices in the file named by include.path or a matching
// includeIf.<cond>.path.
func (p *configParser) include(e configEntry, from string, depth int) {
	switch {
	case e.section == "include" && e.subsection == "":
	case e.section == "includeif" && p.includeIfMatches(e.subsection, from):
	default:
		return
	}
	if depth >= maxIncludeDepth {
		return
	}
	path := expandHome(e.value)
	if path == "" {
		return
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(from), path)
	}
	p.file(path, depth+1)
}

func expandHome(path string) string {
	if path == "~" || strings.HasPrefix(path, "~/") {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		return filepath.Join(home, path[1:])
	}
	return path
}

// includeIfMatches evaluates an includeIf condition.
func (p *configParser) includeIfMatches(cond, from string) bool {
	if p.repo == nil {
		return false
	}
	kind, pattern, ok := strings.Cut(cond, ":")
	if !ok {
		return false
	}
	switch kind {
	case "gitdir", "gitdir/i":
		fold := kind == "gitdir/i"
		switch {
		case strings.HasPrefix(pattern, "./"):
			pattern = filepath.ToSlash(filepath.Dir(from)) + pattern[1:]
		case strings.HasPrefix(pattern, "~/"):
			pattern = filepath.ToSlash(expandHome(pattern))
		case !strings.HasPrefix(pattern, "/"):
			pattern = "**/" + pattern
		}
		if strings.HasSuffix(pattern, "/") {
			pattern += "**"
		}
		dir := filepath.ToSlash(p.repo.gitDir)
		return wildmatch(pattern, dir, fold)
	case "onbranch":
		b, err := os.ReadFile(filepath.Join(p.repo.gitDir, "HEAD"))
		if err != nil {
			return false
		}
		_, target, err := parseRefFile(b)
		branch, ok := strings.CutPrefix(target, "refs/heads/")
		if err != nil || !ok {
			return false
		}
		if strings.HasSuffix(pattern, "/") {
			pattern += "**"
		}
		return wildmatch(pattern, branch, false)
	}
	return false
}

// wildmatch matches git's wildmatch patterns with pathname semantics: '*'
// and '?' stop at '/', "**/" and "/**" span directories.
func wildmatch(pattern, s string, fold bool) bool {
	var re strings.Builder
	re.WriteString("^")
	if fold {
		re.WriteString("(?i)")
	}
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch {
		case strings.HasPrefix(pattern[i:], "**/"):
			re.WriteString("(?:.*/)?")
			i += 2
		case strings.HasPrefix(pattern[i:], "/**") && i+3 == len(pattern):
			re.WriteString("(?:/.*)?")
			i += 2
		case strings.HasPrefix(pattern[i:], "**"):
			re.WriteString(".*")
			i++
		case c == '*':
			re.WriteString("[^/]*")
		case c == '?':
			re.WriteString("[^/]")
		case c == '[':
			end := strings.IndexByte(pattern[i+1:], ']')
			if end < 0 {
				re.WriteString(regexp.QuoteMeta("["))
				continue
			}
			class := pattern[i+1 : i+1+end]
			if strings.HasPrefix(class, "!") {
				class = "^" + class[1:]
			}
			re.WriteString("[" + strings.ReplaceAll(class, `\`, `\\`) + "]")
			i += end + 1
		default:
			re.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	re.WriteString("$")
	m, err := regexp.MatchString(re.String(), s)
	return err == nil && m
}
