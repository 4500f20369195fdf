package cipher

// The import rules of STYLE.md for cryptography, enforced: cipher imports
// only the standard library, age and x/crypto (nothing of ours), and no other
// package of the module imports age or x/crypto.

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// cryptoOnly are the import paths (and their subpackages) only cipher may use.
var cryptoOnly = []string{"filippo.io/age", "golang.org/x/crypto"}

// sshTestServer is the one exception, and only in a test: repo's ssh://
// transport tests run an SSH server made with x/crypto/ssh for gitseal's
// client (which is the ssh binary, not x/crypto) to talk to.
func sshTestServer(root, file, imp string) bool {
	rel, err := filepath.Rel(root, file)
	return err == nil && filepath.ToSlash(rel) == "repo/remote_ssh_test.go" && isUnder(imp, "golang.org/x/crypto/ssh")
}

func isUnder(path, root string) bool {
	return path == root || strings.HasPrefix(path, root+"/")
}

// goImports returns the imports of the .go files directly in dir, by file.
func goImports(t *testing.T, dir string) map[string][]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	fset := token.NewFileSet()
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			out[path] = append(out[path], p)
		}
	}
	return out
}

func TestCipherImports(t *testing.T) {
	for file, imps := range goImports(t, ".") {
		for _, p := range imps {
			std := !strings.Contains(strings.SplitN(p, "/", 2)[0], ".")
			allowed := std
			for _, root := range cryptoOnly {
				allowed = allowed || isUnder(p, root)
			}
			if !allowed {
				t.Errorf("%s imports %s; cipher imports only the standard library, filippo.io/age and golang.org/x/crypto", file, p)
			}
		}
	}
}

func TestOnlyCipherImportsCrypto(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found above cipher: %v", err)
	}
	self, _ := filepath.Abs(".")
	checked := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		name := d.Name()
		if path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "vendor") {
			return filepath.SkipDir
		}
		if path == self {
			return nil
		}
		for file, imps := range goImports(t, path) {
			checked++
			for _, p := range imps {
				if sshTestServer(root, file, p) {
					continue
				}
				for _, r := range cryptoOnly {
					if isUnder(p, r) {
						rel, _ := filepath.Rel(root, file)
						t.Errorf("%s imports %s; only package cipher may", rel, p)
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("checked %d files outside cipher", checked)
}
