package repo

import (
	"bufio"
	"os"
	"path/filepath"
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
