package repo

import (
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports keeps third-party code in its room: package repo may import
// the standard library and go-git (with go-billy), nothing of ours and no
// other module. go-git's
// root package (github.com/go-git/go-git/v5) is out even indirectly: its
// package initialisation costs every gitseal process about 11 ms
// (PERF.md). So are go-git's transport and packp packages and what they
// bring (its config package, gcfg and encoding/gob, OpenPGP): about 1.5 ms
// more on every command; the wire protocol is ours (wire.go).
func TestImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if !allowedImport(path) {
				t.Errorf("%s imports %s: package repo may import only the standard library, go-git and go-billy", f, path)
			}
		}
	}

	cmd := exec.Command("go", "list", "-deps", ".")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		switch {
		case dep == "github.com/go-git/go-git/v5":
			t.Errorf("package repo depends on go-git's root package; use its plumbing and storage packages")
		case strings.HasPrefix(dep, "github.com/go-git/go-git/v5/plumbing/transport"),
			strings.HasPrefix(dep, "github.com/go-git/go-git/v5/plumbing/protocol/packp"),
			dep == "github.com/go-git/go-git/v5/config", dep == "github.com/go-git/gcfg",
			strings.HasPrefix(dep, "github.com/ProtonMail/go-crypto/openpgp"):
			t.Errorf("package repo depends on %s, whose initialisation every gitseal process would pay for; speak the protocol with wire.go", dep)
		case strings.HasPrefix(dep, "github.com/gitseal/gitseal/") && dep != "github.com/gitseal/gitseal/repo":
			t.Errorf("package repo depends on %s; dependencies point downward, repo imports nothing of ours", dep)
		case strings.HasPrefix(dep, "github.com/spf13/"), strings.HasPrefix(dep, "filippo.io/age"), dep == "golang.org/x/term":
			t.Errorf("package repo depends on %s, which belongs in another package", dep)
		}
	}
}

func allowedImport(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	if !strings.Contains(first, ".") {
		return true // standard library
	}
	return strings.HasPrefix(path, "github.com/go-git/go-git/v5/") || strings.HasPrefix(path, "github.com/go-git/go-billy/v5")
}
