package versioning

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// Formats for Import and Export.
const (
	FormatDotenv = "dotenv"
	FormatJSON   = "json"
	FormatShell  = "shell"
)

// ParseValues reads secrets in dotenv or JSON format. Errors name the line,
// never its content.
//
// dotenv: one NAME=VALUE a line; blank lines and lines starting with # are
// skipped; an optional "export " prefix is allowed. VALUE is either
// double-quoted (escapes \n \r \t \" \\ \$, may span lines), single-quoted
// (literal, may span lines), or bare (trailing spaces and a " #" comment are
// dropped).
//
// JSON: one object whose values are all strings.
func ParseValues(format string, data []byte) (map[string][]byte, error) {
	switch format {
	case FormatDotenv, "":
		return parseDotenv(data)
	case FormatJSON:
		return parseJSON(data)
	default:
		return nil, fmt.Errorf("unknown format %q; use dotenv or json: %w", format, ErrInvalid)
	}
}

func parseJSON(data []byte) (map[string][]byte, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("reading JSON: the input must be one object of string values: %w", ErrInvalid)
	}
	out := make(map[string][]byte, len(raw))
	for k, v := range raw {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, fmt.Errorf("reading JSON: the value of %q is not a string: %w", k, ErrInvalid)
		}
		out[k] = []byte(s)
	}
	return out, nil
}

func parseDotenv(data []byte) (map[string][]byte, error) {
	out := map[string][]byte{}
	src := strings.ReplaceAll(string(data), "\r\n", "\n")
	lines := strings.Split(src, "\n")
	for i := 0; i < len(lines); i++ {
		lineNo := i + 1
		line := strings.TrimSpace(lines[i])
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		eq := strings.IndexByte(line, '=')
		if eq < 0 {
			return nil, fmt.Errorf("reading dotenv: line %d has no '=': %w", lineNo, ErrInvalid)
		}
		name := strings.TrimSpace(line[:eq])
		if err := validSecretName(name); err != nil {
			return nil, fmt.Errorf("reading dotenv: line %d: %w", lineNo, err)
		}
		rest := strings.TrimLeft(line[eq+1:], " \t")
		var value string
		switch {
		case strings.HasPrefix(rest, `"`) || strings.HasPrefix(rest, `'`):
			q := rest[0]
			body := rest[1:]
			// A quoted value may span lines: join until the closing quote.
			for {
				end := closingQuote(body, q)
				if end >= 0 {
					tail := strings.TrimSpace(body[end+1:])
					if tail != "" && !strings.HasPrefix(tail, "#") {
						return nil, fmt.Errorf("reading dotenv: line %d: text after the closing quote: %w", lineNo, ErrInvalid)
					}
					body = body[:end]
					break
				}
				i++
				if i >= len(lines) {
					return nil, fmt.Errorf("reading dotenv: line %d: unterminated quoted value: %w", lineNo, ErrInvalid)
				}
				body += "\n" + lines[i]
			}
			if q == '"' {
				v, err := unescapeDouble(body)
				if err != nil {
					return nil, fmt.Errorf("reading dotenv: line %d: %v: %w", lineNo, err, ErrInvalid)
				}
				value = v
			} else {
				value = body
			}
		default:
			if k := strings.Index(rest, " #"); k >= 0 {
				rest = rest[:k]
			}
			value = strings.TrimRight(rest, " \t")
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("reading dotenv: line %d: %s is set twice: %w", lineNo, name, ErrInvalid)
		}
		out[name] = []byte(value)
	}
	return out, nil
}

func closingQuote(s string, q byte) int {
	for i := 0; i < len(s); i++ {
		if q == '"' && s[i] == '\\' {
			i++
			continue
		}
		if s[i] == q {
			return i
		}
	}
	return -1
}

func unescapeDouble(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(s) {
			return "", fmt.Errorf("a backslash ends the value")
		}
		switch s[i] {
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case '"', '\\', '$', '\'':
			b.WriteByte(s[i])
		default:
			return "", fmt.Errorf("unknown escape \\%c", s[i])
		}
	}
	return b.String(), nil
}

// FormatValues writes values in dotenv, JSON or shell format, sorted by name.
// Values that the format cannot carry (not UTF-8, or a NUL byte) are refused
// with an error naming the secret.
func FormatValues(format string, values map[string][]byte) ([]byte, error) {
	names := make([]string, 0, len(values))
	for n, v := range values {
		if !utf8.Valid(v) || bytes.IndexByte(v, 0) >= 0 {
			return nil, fmt.Errorf("%s is binary (not UTF-8 text, or has a NUL byte) and cannot be exported as %s; use `gitseal get %s > FILE`: %w", n, format, n, ErrInvalid)
		}
		names = append(names, n)
	}
	sort.Strings(names)
	var out bytes.Buffer
	switch format {
	case FormatDotenv, "":
		for _, n := range names {
			out.WriteString(n + "=" + quoteDouble(string(values[n])) + "\n")
		}
	case FormatShell:
		for _, n := range names {
			out.WriteString("export " + n + "=" + quoteShell(string(values[n])) + "\n")
		}
	case FormatJSON:
		m := make(map[string]string, len(values))
		for n, v := range values {
			m[n] = string(v)
		}
		b, err := json.MarshalIndent(m, "", "  ")
		if err != nil {
			return nil, err
		}
		out.Write(b)
		out.WriteByte('\n')
	default:
		return nil, fmt.Errorf("unknown format %q; use dotenv, json or shell: %w", format, ErrInvalid)
	}
	return out.Bytes(), nil
}

func quoteDouble(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`, "$", `\$`)
	return `"` + r.Replace(s) + `"`
}

func quoteShell(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
