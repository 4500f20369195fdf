package repo

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Signature returns the author or committer identity for a commit made now,
// chosen as git chooses it:
//
//   - name: GIT_AUTHOR_NAME (GIT_COMMITTER_NAME), then author.name
//     (committer.name), then user.name;
//   - email: GIT_AUTHOR_EMAIL (GIT_COMMITTER_EMAIL), then author.email
//     (committer.email), then user.email, then EMAIL;
//   - time: GIT_AUTHOR_DATE (GIT_COMMITTER_DATE) in git's raw
//     ("@1700000000 +0100"), RFC 2822 or ISO 8601 form, else now.
//
// Config is read from the repository, global and system files in git's
// order. Unlike git, gitseal never invents an identity from the login name
// and host name: a missing name or email is an error wrapping ErrNoIdentity
// that names the `git config --global` commands that fix it. As git does,
// the characters '<', '>' and newline are removed from name and email, and
// leading and trailing punctuation and spaces are trimmed.
func (r *Repo) Signature(role string, now time.Time) (Signature, error) {
	var env string
	switch role {
	case "author":
		env = "GIT_AUTHOR_"
	case "committer":
		env = "GIT_COMMITTER_"
	default:
		return Signature{}, fmt.Errorf("reading identity: unknown role %q (want author or committer)", role)
	}
	lookup := func(envVar string, keys ...string) (string, bool) {
		if v, ok := os.LookupEnv(envVar); ok {
			return v, true
		}
		for _, k := range keys {
			if v, ok := r.Config(k); ok {
				return v, true
			}
		}
		return "", false
	}
	name, okName := lookup(env+"NAME", role+".name", "user.name")
	email, okEmail := lookup(env+"EMAIL", role+".email", "user.email")
	if !okEmail {
		email, okEmail = os.LookupEnv("EMAIL")
	}
	name, email = identClean(name), identClean(email)
	if !okName || !okEmail || name == "" || email == "" {
		what := "name and email"
		switch {
		case okName && name != "" && email == "":
			what = "email"
		case okEmail && email != "" && name == "":
			what = "name"
		}
		return Signature{}, fmt.Errorf("%w: no %s %s is set; run `git config --global user.name \"Your Name\"` and `git config --global user.email \"you@example.com\"` (or set %sNAME and %sEMAIL)",
			ErrNoIdentity, role, what, env, env)
	}
	when := now
	if v, ok := os.LookupEnv(env + "DATE"); ok && v != "" {
		t, err := parseGitDate(v)
		if err != nil {
			return Signature{}, fmt.Errorf("reading %sDATE: %w", env, err)
		}
		when = t
	}
	return Signature{Name: name, Email: email, When: when}, nil
}

// identClean is git's strbuf_addstr_without_crud: trim "crud" (control
// characters, spaces and .,:;<>"\') from both ends, then drop '<', '>' and
// newlines, which delimit fields of an identity line.
func identClean(s string) string {
	crud := func(c byte) bool {
		return c <= ' ' || strings.IndexByte(".,:;<>\"\\'", c) >= 0
	}
	i, j := 0, len(s)
	for i < j && crud(s[i]) {
		i++
	}
	for j > i && crud(s[j-1]) {
		j--
	}
	return strings.Map(func(c rune) rune {
		if c == '<' || c == '>' || c == '\n' {
			return -1
		}
		return c
	}, s[i:j])
}

// parseGitDate parses the forms of GIT_AUTHOR_DATE that git documents:
// its internal "<unix seconds> <+hhmm>" (optionally with a leading '@'),
// RFC 2822 and ISO 8601.
func parseGitDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	raw := strings.TrimPrefix(s, "@")
	if secStr, tz, ok := strings.Cut(raw, " "); ok || raw != s {
		if !ok {
			secStr, tz = raw, "+0000"
		}
		if sec, err := strconv.ParseInt(secStr, 10, 64); err == nil {
			if off, ok := parseTZOffset(strings.TrimSpace(tz)); ok {
				return time.Unix(sec, 0).In(time.FixedZone("", off)), nil
			}
		}
	}
	for _, layout := range []string{
		time.RFC1123Z,                    // Mon, 02 Jan 2006 15:04:05 -0700
		"Mon, 2 Jan 2006 15:04:05 -0700", // RFC 2822, one-digit day
		"2 Jan 2006 15:04:05 -0700",      // without the weekday
		"02 Jan 2006 15:04:05 -0700",     //
		time.RFC3339Nano,                 // 2006-01-02T15:04:05Z07:00
		"2006-01-02T15:04:05-0700",       //
		"2006-01-02 15:04:05 -0700",      // git's ISO-like form
		"2006-01-02 15:04:05 -07:00",     //
		"Mon Jan 2 15:04:05 2006 -0700",  // git's default log form
		"Mon Jan _2 15:04:05 2006 -0700", //
	} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02 15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid date %q (want \"@<unix seconds> <+hhmm>\", RFC 2822 or ISO 8601)", clip(s))
}

// parseTZOffset parses "+hhmm" / "-hhmm" to seconds east of UTC.
func parseTZOffset(s string) (int, bool) {
	if len(s) != 5 || (s[0] != '+' && s[0] != '-') {
		return 0, false
	}
	n, err := strconv.Atoi(s[1:])
	if err != nil || n%100 >= 60 {
		return 0, false
	}
	off := (n/100*60 + n%100) * 60
	if s[0] == '-' {
		off = -off
	}
	return off, true
}

// formatSignature writes an identity line's value as git does:
// "Name <email> 1700000000 +0100".
func formatSignature(b []byte, s Signature) []byte {
	b = append(b, identClean(s.Name)...)
	b = append(b, " <"...)
	b = append(b, identClean(s.Email)...)
	b = append(b, "> "...)
	b = strconv.AppendInt(b, s.When.Unix(), 10)
	b = append(b, ' ')
	return append(b, s.When.Format("-0700")...)
}
