package versioning

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImports keeps dependencies pointing downward: versioning builds on
// repo and cipher, and third-party code stays in its own room (go-git in
// repo, age and x/crypto in cipher, cobra and x/term in cmd/gitseal).
func TestImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, imp := range strings.Fields(string(out)) {
		switch {
		case imp == "github.com/gitseal/gitseal/repo", imp == "github.com/gitseal/gitseal/cipher":
		case strings.HasPrefix(imp, "github.com/gitseal/gitseal/"):
			t.Errorf("versioning imports %s; it may import only repo and cipher of ours", imp)
		case strings.Contains(strings.SplitN(imp, "/", 2)[0], "."):
			t.Errorf("versioning imports the third-party package %s; go-git belongs in repo, age and x/crypto in cipher", imp)
		}
	}
}
