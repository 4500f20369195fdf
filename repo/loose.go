package repo

import (
	"bufio"
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// objectDirs returns the repository's objects directory followed by its
// alternates, recursively, as git reads objects/info/alternates: one path a
// line, relative paths relative to the objects directory, '#' comments.
func objectDirs(commonDir string) []string {
	main := filepath.Join(commonDir, "objects")
	dirs := []string{main}
	seen := map[string]bool{main: true}
	for i := 0; i < len(dirs) && i < 6; i++ { // git stops at depth 5
		f, err := os.Open(filepath.Join(dirs[i], "info", "alternates"))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" || line[0] == '#' {
				continue
			}
			if !filepath.IsAbs(line) {
				line = filepath.Join(dirs[i], line)
			}
			line = filepath.Clean(line)
			if fi, err := os.Stat(line); err != nil || !fi.IsDir() || seen[line] {
				continue
			}
			seen[line] = true
			dirs = append(dirs, line)
		}
		f.Close()
	}
	return dirs
}

// looseWithPrefix appends the loose object ids starting with the hex prefix.
func (d *objectDir) looseWithPrefix(prefix string, out []Hash) ([]Hash, error) {
	ents, err := os.ReadDir(filepath.Join(d.path, prefix[:2]))
	if err != nil {
		if os.IsNotExist(err) {
			return out, nil
		}
		return out, err
	}
	for _, e := range ents {
		name := prefix[:2] + e.Name()
		if len(name) != 40 || !strings.HasPrefix(name, prefix) {
			continue
		}
		if h, err := ParseHash(name); err == nil {
			out = append(out, h)
		}
	}
	return out, nil
}

// readLoose reads objects/xx/yyyy...: a zlib stream of "TYPE SIZE\0" and
// the content.
func (d *objectDir) readLoose(h Hash, in *inflater) (ObjectType, []byte, error) {
	hexID := h.String()
	b, err := os.ReadFile(filepath.Join(d.path, hexID[:2], hexID[2:]))
	if err != nil {
		if os.IsNotExist(err) {
			return 0, nil, ErrObjectNotFound
		}
		return 0, nil, err
	}
	in.src.Reset(b)
	return in.inflateLoose(&in.src, int64(len(b))*1032+64)
}

// maxLooseHeader is longer than any valid "TYPE SIZE\0" header.
const maxLooseHeader = 32

// inflateLoose inflates a loose object; limit bounds the size its header may
// declare (deflate expands at most ~1032:1 the bytes there are).
func (in *inflater) inflateLoose(src io.Reader, limit int64) (ObjectType, []byte, error) {
	fr, ok := src.(flate.Reader)
	if !ok {
		fr = bufio.NewReader(src)
	}
	if err := in.reset(fr); err != nil {
		return 0, nil, fmt.Errorf("loose object: %w", err)
	}
	var hdr [maxLooseHeader]byte
	n, err := io.ReadFull(in.zr, hdr[:])
	if err != nil && err != io.ErrUnexpectedEOF {
		return 0, nil, fmt.Errorf("loose object: %w", noEOF(err))
	}
	typ, size, rest, err := parseLooseHeader(hdr[:n])
	if err != nil {
		return 0, nil, fmt.Errorf("loose object: %w", err)
	}
	if size > limit {
		return 0, nil, errors.New("loose object: declared size exceeds its data")
	}
	if int64(len(rest)) > size {
		return 0, nil, errors.New("loose object: longer than its declared size")
	}
	data := make([]byte, size)
	copy(data, rest)
	if _, err := io.ReadFull(in.zr, data[len(rest):]); err != nil {
		return 0, nil, fmt.Errorf("loose object: %w", noEOF(err))
	}
	if err := in.expectEnd(); err != nil {
		return 0, nil, fmt.Errorf("loose object: %w", err)
	}
	return typ, data, nil
}

// parseLooseHeader parses "TYPE SIZE\0" at the start of b and returns the
// content bytes that followed it in b.
func parseLooseHeader(b []byte) (ObjectType, int64, []byte, error) {
	nul := bytes.IndexByte(b, 0)
	if nul < 0 {
		return 0, 0, nil, errors.New("malformed header")
	}
	typName, sizeText, ok := strings.Cut(string(b[:nul]), " ")
	typ, known := parseObjectType(typName)
	if !ok || !known {
		return 0, 0, nil, errors.New("malformed header")
	}
	size, err := strconv.ParseInt(sizeText, 10, 64)
	if err != nil || size < 0 || size > maxObjectSize || (len(sizeText) > 1 && sizeText[0] == '0') {
		return 0, 0, nil, errors.New("malformed header size")
	}
	return typ, size, b[nul+1:], nil
}
