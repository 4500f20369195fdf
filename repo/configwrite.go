package repo

// Writing the repository's own config file ($GIT_COMMON_DIR/config), as
// `git config KEY VALUE` does, one key at a time:
//
//   - the file is rewritten through config.lock (created exclusively, as git
//     does, so a concurrent `git config` waits or fails rather than losing an
//     update) and renamed into place: a reader sees the old or the new file;
//   - every byte outside the one variable changed is kept: comments, order,
//     indentation, includes, other sections;
//   - an existing single value is replaced in place; a key with several
//     values is refused (git needs --replace-all for that too); a new key
//     goes after the last variable of the last matching section, or into a
//     new section at the end;
//   - a file git could not parse is refused rather than guessed at.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// configLockTimeout is how long SetConfig waits for another writer's
// config.lock.
const configLockTimeout = time.Second

// SetConfig sets key ("diff.gitseal.textconv") to value in the repository's
// own config file, never in the global or system one. It reports whether
// the file changed (false when the key already had exactly that value).
func (r *Repo) SetConfig(key, value string) (bool, error) {
	if _, _, _, err := checkConfigKey(key); err != nil {
		return false, err
	}
	// Written as typed, matched without regard to case, as git does.
	sec, sub, name := key[:strings.IndexByte(key, '.')], "", key[strings.LastIndexByte(key, '.')+1:]
	if i, j := strings.IndexByte(key, '.'), strings.LastIndexByte(key, '.'); i != j {
		sub = key[i+1 : j]
	}
	if strings.IndexByte(value, 0) >= 0 {
		return false, fmt.Errorf("setting %s: the value contains a NUL byte", key)
	}
	path := filepath.Join(r.commonDir, "config")
	lock, err := r.acquireGitLock(path, configLockTimeout)
	if err != nil {
		return false, fmt.Errorf("setting %s: %w", key, err)
	}
	defer lock.rollback()
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("setting %s: %w", key, err)
	}
	out, changed, err := setConfigValue(old, sec, sub, name, value)
	if err != nil {
		return false, fmt.Errorf("setting %s in %s: %w", key, path, err)
	}
	if !changed {
		return false, nil
	}
	mode := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	if _, err := lock.f.Write(out); err != nil {
		return false, fmt.Errorf("setting %s: %w", key, err)
	}
	lock.f.Chmod(mode)
	if err := lock.commit(); err != nil {
		return false, fmt.Errorf("setting %s: %w", key, err)
	}
	return true, nil
}

// checkConfigKey splits a key as git's git_config_parse_key does: section
// and variable name are case-insensitive (returned lower case) and made of
// letters, digits and '-' (the name starting with a letter); the subsection
// may hold anything but a newline or NUL.
func checkConfigKey(key string) (sec, sub, name string, err error) {
	sec, sub, name, ok := splitKey(key)
	bad := !ok || sec == "" || name == "" || !isAlpha(name[0]) || strings.ContainsAny(sub, "\n\x00")
	for _, s := range []string{sec, name} {
		for i := 0; i < len(s); i++ {
			if c := s[i]; !isAlpha(c) && !(c >= '0' && c <= '9') && c != '-' {
				bad = true
			}
		}
	}
	if bad {
		return "", "", "", fmt.Errorf("setting config: invalid key %q", clip(key))
	}
	return sec, sub, name, nil
}

// configSpan is where one variable sits in a config file: [start, end)
// covers its name through the end of its value (before the newline).
type configSpan struct{ start, end int }

// locateConfig walks a config file as parse does and returns the spans of
// the variables named sec.sub.name, and where a new such variable belongs
// (after the last line of the last [sec "sub"] section, or -1 when there is
// none).
func locateConfig(b []byte, sec, sub, name string) (spans []configSpan, insertAt int, err error) {
	insertAt = -1
	inSection := false
	haveSection := false
	endOfLine := func(i int) int {
		for i < len(b) && b[i] != '\n' {
			i++
		}
		if i < len(b) {
			i++
		}
		return i
	}
	i := 0
	if bytes.HasPrefix(b, []byte("\xef\xbb\xbf")) {
		i = 3
	}
	for i < len(b) {
		c := b[i]
		switch {
		case c == '\n' || c == ' ' || c == '\t' || c == '\r':
			i++
		case c == '#' || c == ';':
			for i < len(b) && b[i] != '\n' {
				i++
			}
		case c == '[':
			var s, ss string
			i, s, ss, err = parseSectionHeader(b, i+1)
			if err != nil {
				return nil, -1, errConfigSyntax
			}
			haveSection = true
			inSection = s == sec && ss == sub
			if inSection {
				insertAt = endOfLine(i)
			}
		case isAlpha(c):
			if !haveSection {
				return nil, -1, errConfigSyntax
			}
			start := i
			for i < len(b) && (isAlpha(b[i]) || b[i] >= '0' && b[i] <= '9' || b[i] == '-') {
				i++
			}
			n := strings.ToLower(string(b[start:i]))
			for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
				i++
			}
			end := i
			if i < len(b) && b[i] == '=' {
				_, end, _, err = parseConfigValue(b, i+1)
				if err != nil {
					return nil, -1, errConfigSyntax
				}
				i = end
			} else if i < len(b) && b[i] != '\n' && b[i] != '\r' && b[i] != '#' && b[i] != ';' {
				return nil, -1, errConfigSyntax
			}
			// A trailing comment belongs to the line, not the value:
			// parseConfigValue stops after it; keep a replacement before it.
			if inSection {
				if n == name {
					spans = append(spans, configSpan{start, trimComment(b, start, end)})
				}
				insertAt = endOfLine(i)
			}
		default:
			return nil, -1, errConfigSyntax
		}
	}
	return spans, insertAt, nil
}

// trimComment returns the end of a variable's text in b[start:end] without
// a trailing unquoted comment and the whitespace before it.
func trimComment(b []byte, start, end int) int {
	quoted := false
	for i := start; i < end; i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			quoted = !quoted
		case '#', ';':
			if !quoted {
				for i > start && (b[i-1] == ' ' || b[i-1] == '\t') {
					i--
				}
				return i
			}
		}
	}
	for end > start && (b[end-1] == ' ' || b[end-1] == '\t' || b[end-1] == '\r') {
		end--
	}
	return end
}

// setConfigValue returns the file b with sec.sub.name set to value; sec
// and name are written as given and matched without regard to case.
func setConfigValue(b []byte, sec, sub, name, value string) ([]byte, bool, error) {
	if _, err := (&configParser{out: &config{}}).parseOnly(b); err != nil {
		return nil, false, fmt.Errorf("the file does not parse as git config (%v); fix it with `git config --edit` first", err)
	}
	spans, insertAt, err := locateConfig(b, strings.ToLower(sec), sub, strings.ToLower(name))
	if err != nil {
		return nil, false, fmt.Errorf("the file does not parse as git config; fix it with `git config --edit` first")
	}
	pair := name + " = " + quoteConfigValue(value)
	var out []byte
	switch {
	case len(spans) > 1:
		return nil, false, fmt.Errorf("the key has %d values; set it with `git config --replace-all` or remove the extra ones", len(spans))
	case len(spans) == 1:
		sp := spans[0]
		cur := &config{}
		if _, err := (&configParser{out: cur}).parseOnly(append([]byte("[x]\n"), b[sp.start:sp.end]...)); err == nil && len(cur.entries) == 1 &&
			cur.entries[0].hasValue && cur.entries[0].value == value {
			return b, false, nil
		}
		out = append(append(append(out, b[:sp.start]...), pair...), b[sp.end:]...)
	case insertAt >= 0:
		out = append(out, b[:insertAt]...)
		if insertAt > 0 && b[insertAt-1] != '\n' {
			out = append(out, '\n')
		}
		out = append(append(out, "\t"+pair+"\n"...), b[insertAt:]...)
	default:
		out = append(out, b...)
		if len(out) > 0 && out[len(out)-1] != '\n' {
			out = append(out, '\n')
		}
		out = append(out, sectionHeader(sec, sub)+"\n\t"+pair+"\n"...)
	}
	// What was written must read back as exactly one value.
	check := &config{}
	if _, err := (&configParser{out: check}).parseOnly(out); err != nil {
		return nil, false, fmt.Errorf("writing the key would break the file; nothing was changed")
	}
	// getAll matches section and name without regard to case.
	if vs := check.getAll(sec + "." + subKey(sub) + name); len(vs) != 1 || vs[0] != value {
		return nil, false, fmt.Errorf("writing the key did not read back; nothing was changed")
	}
	return out, true, nil
}

func subKey(sub string) string {
	if sub == "" {
		return ""
	}
	return sub + "."
}

// parseOnly parses b without following includes.
func (p *configParser) parseOnly(b []byte) (*config, error) {
	saved := p.repo
	p.repo = nil
	defer func() { p.repo = saved }()
	// include() reads files only for include.path entries; a nil repo keeps
	// includeIf conditions from matching, and depth at the limit keeps
	// include.path from being followed.
	return p.out, p.parse(b, "", maxIncludeDepth)
}

// sectionHeader is `[sec]` or `[sec "sub"]` with '"' and '\' escaped.
func sectionHeader(sec, sub string) string {
	if sub == "" {
		return "[" + sec + "]"
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return "[" + sec + ` "` + r.Replace(sub) + `"]`
}

// quoteConfigValue writes a value as git's write_pair does: quoted when it
// starts or ends with a space or holds a comment character; '\', '"', tab
// and newline escaped.
func quoteConfigValue(v string) string {
	quote := strings.HasPrefix(v, " ") || strings.HasSuffix(v, " ") || strings.ContainsAny(v, ";#")
	var b strings.Builder
	if quote {
		b.WriteByte('"')
	}
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	if quote {
		b.WriteByte('"')
	}
	return b.String()
}
