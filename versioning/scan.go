package versioning

// Leak scanning (DESIGN §8): look for the current values of the secrets, as
// committed at the branch tip, in files about to be committed or named by
// the user. A find names the secret, the file and the line, never the value.
//
// Each value is searched for as it is and in the forms it most often takes
// when pasted somewhere: standard and URL-safe base64 (padded or not), hex
// (either case) and URL (query and path) escaping; also trimmed of
// surrounding whitespace, and, for a named key, its exported base64. A base64
// form is found only when it starts on a 3-byte boundary of the encoded text,
// which is how a value encoded on its own appears. Values shorter than
// MinScanLength bytes are skipped: they would match everywhere.
//
// The matcher reads each file once whatever the number of values: a table of
// two-byte prefixes rejects most positions, and a map of four-byte prefixes
// picks the few candidates to compare.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gitseal/gitseal/cipher"
	"github.com/gitseal/gitseal/repo"
)

// MinScanLength is the shortest value scan looks for.
const MinScanLength = 8

// maxScanFile bounds the size of a file scan reads.
const maxScanFile = 64 << 20

// ScanOptions choose what Scan reads.
type ScanOptions struct {
	// Env limits the values to one environment; "" means every environment
	// at the branch tip that the caller's identities can decrypt.
	Env string
	// Staged scans what a commit made now would add or change (the index,
	// or $GIT_INDEX_FILE, against HEAD). Otherwise Paths are scanned: files,
	// or directories walked recursively (skipping .git); none means the
	// work tree.
	Staged bool
	Paths  []string
}

// Finding is one value found in one line of one file.
type Finding struct {
	// File is the repository path for staged files, else the path as given
	// or found by walking.
	File string
	Line int
	// Env and Name say which secret (or named key); Form how it was
	// written: plaintext, trimmed, base64, base64url, hex, url-encoded, key.
	Env, Name, Form string
}

// ScanResult is what Scan found and what it could not look for.
type ScanResult struct {
	Findings []Finding
	// Files counts the files read; Values the values looked for.
	Files, Values int
	// Short lists the secrets skipped for being shorter than MinScanLength.
	Short []string
	// Unreadable lists the environments no identity of the caller decrypts.
	Unreadable []string
	// TooLarge lists files skipped for their size.
	TooLarge []string
}

// needle is one byte string to find, and what it reveals.
type needle struct {
	data            []byte
	env, name, form string
}

// matcher finds any of many needles (each at least 4 bytes) in one pass.
type matcher struct {
	two     [1 << 16 / 64]uint64
	four    map[uint32][]int
	needles []needle
}

func newMatcher(ns []needle) *matcher {
	m := &matcher{four: map[uint32][]int{}}
	seen := map[string]bool{}
	for _, n := range ns {
		if len(n.data) < 4 || seen[string(n.data)] {
			continue
		}
		seen[string(n.data)] = true
		i := len(m.needles)
		m.needles = append(m.needles, n)
		k2 := uint16(n.data[0])<<8 | uint16(n.data[1])
		m.two[k2/64] |= 1 << (k2 % 64)
		k4 := binary.BigEndian.Uint32(n.data)
		m.four[k4] = append(m.four[k4], i)
	}
	return m
}

// find calls fn for every occurrence of a needle in data, with the 1-based
// line of its start.
func (m *matcher) find(data []byte, fn func(line int, n *needle)) {
	line, counted := 1, 0
	for i := 0; i+4 <= len(data); i++ {
		k2 := uint16(data[i])<<8 | uint16(data[i+1])
		if m.two[k2/64]&(1<<(k2%64)) == 0 {
			continue
		}
		for _, ni := range m.four[binary.BigEndian.Uint32(data[i:])] {
			n := &m.needles[ni]
			if bytes.HasPrefix(data[i:], n.data) {
				line += bytes.Count(data[counted:i], []byte{'\n'})
				counted = i
				fn(line, n)
			}
		}
	}
}

// forms returns the ways value may appear in a file.
func forms(value []byte) [][2]string {
	v := string(value)
	out := [][2]string{{"plaintext", v}}
	if t := strings.TrimSpace(v); t != v && len(t) >= MinScanLength {
		out = append(out, [2]string{"trimmed", t})
		value = []byte(t)
		v = t
	}
	out = append(out,
		[2]string{"base64", base64.StdEncoding.EncodeToString(value)},
		[2]string{"base64", base64.RawStdEncoding.EncodeToString(value)},
		[2]string{"base64url", base64.URLEncoding.EncodeToString(value)},
		[2]string{"base64url", base64.RawURLEncoding.EncodeToString(value)},
		[2]string{"hex", hex.EncodeToString(value)},
		[2]string{"hex", strings.ToUpper(hex.EncodeToString(value))},
		[2]string{"url-encoded", url.QueryEscape(v)},
		[2]string{"url-encoded", url.PathEscape(v)},
	)
	return out
}

// Scan looks for the current secret values in files (see ScanOptions).
func (s *Store) Scan(ctx context.Context, opts ScanOptions) (ScanResult, error) {
	var res ScanResult
	needles, err := s.scanNeedles(opts.Env, &res)
	if err != nil {
		return res, err
	}
	m := newMatcher(needles)
	if len(m.needles) == 0 {
		return res, nil
	}
	scanOne := func(file string, data []byte) {
		res.Files++
		seen := map[string]bool{}
		m.find(data, func(line int, n *needle) {
			key := fmt.Sprintf("%d\x00%s\x00%s", line, n.env, n.name)
			if seen[key] {
				return
			}
			seen[key] = true
			res.Findings = append(res.Findings, Finding{File: file, Line: line, Env: n.env, Name: n.name, Form: n.form})
		})
	}
	if opts.Staged {
		staged, err := s.repo.StagedFiles(s.repo.IndexPath())
		if err != nil {
			return res, fmt.Errorf("scan: %w", err)
		}
		for _, e := range staged {
			if err := ctx.Err(); err != nil {
				return res, err
			}
			if e.Mode == repo.ModeSymlink {
				continue // a link's target path is no value
			}
			data, err := s.repo.ReadBlob(e.Hash)
			if err != nil {
				return res, fmt.Errorf("scan: reading staged %s: %w", e.Path, err)
			}
			scanOne(e.Path, data)
		}
		return res, nil
	}
	paths := opts.Paths
	if len(paths) == 0 {
		if s.repo.WorkTree() == "" {
			return res, fmt.Errorf("scan: a bare repository has no files to scan; name some, or use --staged")
		}
		paths = []string{s.repo.WorkTree()}
	}
	for _, root := range paths {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return fmt.Errorf("scan: %w", err)
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if d.IsDir() {
				if d.Name() == ".git" && p != root {
					return filepath.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() {
				return nil
			}
			data, large, err := readScanFile(p)
			if err != nil {
				return fmt.Errorf("scan: %w", err)
			}
			if large {
				res.TooLarge = append(res.TooLarge, p)
				return nil
			}
			scanOne(p, data)
			return nil
		})
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

func readScanFile(p string) ([]byte, bool, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxScanFile+1))
	if err != nil {
		return nil, false, err
	}
	if len(data) > maxScanFile {
		return nil, true, nil
	}
	return data, false, nil
}

// scanNeedles decrypts the values to look for at the branch tip.
func (s *Store) scanNeedles(env string, res *ScanResult) ([]needle, error) {
	sn, err := s.Snapshot("")
	if err != nil {
		return nil, fmt.Errorf("scan: %w", err)
	}
	envs := []string{env}
	if env == "" {
		if envs, err = sn.Envs(); err != nil {
			return nil, fmt.Errorf("scan: %w", err)
		}
	}
	var out []needle
	for _, name := range envs {
		e, err := sn.Env(name)
		if err != nil {
			return nil, fmt.Errorf("scan: %w", err)
		}
		if _, err := e.DataKey(); err != nil {
			if env != "" || !(errors.Is(err, cipher.ErrSecret) || errors.Is(err, cipher.ErrNoIdentity)) {
				return nil, fmt.Errorf("scan: %w", err)
			}
			res.Unreadable = append(res.Unreadable, name)
			continue
		}
		values, err := e.All()
		if err != nil {
			return nil, fmt.Errorf("scan: %w", err)
		}
		names := make([]string, 0, len(values))
		for n := range values {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			v := values[n]
			if len(bytes.TrimSpace(v)) < MinScanLength {
				res.Short = append(res.Short, name+"/"+n)
				continue
			}
			res.Values++
			for _, f := range forms(v) {
				out = append(out, needle{data: []byte(f[1]), env: name, name: n, form: f[0]})
			}
		}
		keys, err := e.KeyNames()
		if err != nil {
			return nil, fmt.Errorf("scan: %w", err)
		}
		for _, k := range keys {
			kr, err := e.Keyring(k)
			if err != nil {
				return nil, fmt.Errorf("scan: %w", err)
			}
			res.Values++
			exp := kr.Export()
			out = append(out,
				needle{data: []byte(exp), env: name, name: k, form: "key"},
				needle{data: []byte(strings.TrimRight(exp, "=")), env: name, name: k, form: "key"})
		}
	}
	return out, nil
}
