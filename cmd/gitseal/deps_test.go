package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImports keeps the CLI thin: it may use cobra and x/term (and nothing
// else from outside), and of ours the library packages; go-git stays behind
// repo, age and x/crypto behind cipher.
func TestImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, imp := range strings.Fields(string(out)) {
		first := strings.SplitN(imp, "/", 2)[0]
		switch {
		case !strings.Contains(first, "."):
		case strings.HasPrefix(imp, "github.com/gitseal/gitseal/"):
		case strings.HasPrefix(imp, "github.com/spf13/cobra"), imp == "golang.org/x/term":
		default:
			t.Errorf("cmd/gitseal imports %s; only cobra and x/term may be imported here, the rest goes through our packages", imp)
		}
	}
	deps, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, d := range strings.Fields(string(deps)) {
		if d == "github.com/go-git/go-git/v5" {
			t.Errorf("gitseal links go-git's root package, whose initialisation costs every process (PERF.md)")
		}
		if d == "net/http" {
			t.Errorf("gitseal links net/http, whose initialisation (http2, hpack, idna, textproto ...) costs every process about 0.5 ms; smart HTTP goes through repo's own client (repo/httpclient.go)")
		}
	}
}
