package publish

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports enforces the module's layering (STYLE.md): publish may use
// repo, versioning and cipher, but never cobra or x/term (the CLI's), and
// never go-git (repo's alone).
func TestImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			switch {
			case strings.HasPrefix(path, "github.com/spf13/cobra"), strings.HasPrefix(path, "golang.org/x/term"):
				t.Errorf("%s imports %s: the CLI's dependencies stay in cmd/gitseal", f, path)
			case strings.HasPrefix(path, "github.com/go-git/"):
				t.Errorf("%s imports %s: go-git is used only in package repo", f, path)
			case strings.HasPrefix(path, "filippo.io/age"), strings.HasPrefix(path, "golang.org/x/crypto"):
				t.Errorf("%s imports %s: age and x/crypto stay in package cipher", f, path)
			case strings.HasPrefix(path, "github.com/gitseal/gitseal/cmd"):
				t.Errorf("%s imports %s: nothing imports the CLI", f, path)
			}
		}
	}
}
