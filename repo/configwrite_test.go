package repo

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSetConfigAgreesWithGit sets keys with SetConfig and checks, for each
// starting file, that git reads back exactly the value set, that every other
// variable git sees is unchanged, and that our reader agrees.
func TestSetConfigAgreesWithGit(t *testing.T) {
	values := []string{
		"gitseal textconv",
		"gitseal merge-driver %O %A %B %P",
		" leading and trailing ",
		`quote " and back\slash`,
		"comment ; and # chars",
		"tab\there",
		"two\nlines",
		"",
		"ünïcödé",
	}
	files := map[string]string{
		"missing": "",
		"plain":   "[core]\n\trepositoryformatversion = 0\n\tbare = false\n",
		"section exists": "[core]\n\tbare = false\n[diff \"gitseal\"]\n\tbinary = true\n# trailing comment\n" +
			"[user]\n\tname = X\n",
		"value exists":      "[diff \"gitseal\"]\n\ttextconv = old value ; with a comment\n[core]\n\tbare = false\n",
		"bool form":         "[diff \"gitseal\"]\n\ttextconv\n",
		"no final newline":  "[diff \"gitseal\"]\n\tbinary = true",
		"continuation":      "[diff \"gitseal\"]\n\ttextconv = a \\\n  b\n[x]\n\ty = 1\n",
		"header and value":  "[diff \"gitseal\"] textconv = inline\n",
		"case of section":   "[DIFF \"gitseal\"]\n\tTextConv = old\n",
		"other subsection":  "[diff \"Gitseal\"]\n\ttextconv = other\n",
		"old-style section": "[diff.gitseal]\n\ttextconv = old\n",
	}
	for fname, content := range files {
		for _, v := range values {
			t.Run(fname+"/"+strings.NewReplacer("\n", `\n`, "\t", `\t`).Replace(v), func(t *testing.T) {
				dir := wrInit(t)
				cfg := filepath.Join(dir, ".git", "config")
				if fname == "missing" {
					os.Remove(cfg)
				} else {
					// Keep git's own required core settings readable.
					if err := os.WriteFile(cfg, []byte(content), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				before := gitListLocal(t, dir)
				r := wrOpen(t, dir)
				changed, err := r.SetConfig("diff.gitseal.textconv", v)
				if err != nil {
					t.Fatalf("SetConfig: %v", err)
				}
				if !changed {
					t.Fatal("SetConfig reported no change")
				}
				got, err := wrRun(dir, wrEnv(dir), "", "config", "--local", "--get-all", "diff.gitseal.textconv")
				if err != nil || got != strings.TrimRight(v, "\n") && got != v {
					t.Fatalf("git reads %q, %v; want %q\nfile:\n%s", got, err, v, wrRead(t, dir, ".git/config"))
				}
				if mine, ok := r.Config("diff.gitseal.textconv"); !ok || mine != v {
					t.Fatalf("Config reads %q, %v; want %q", mine, ok, v)
				}
				after := gitListLocal(t, dir)
				delete(before, "diff.gitseal.textconv")
				delete(after, "diff.gitseal.textconv")
				if strings.Join(mapLines(before), "\n") != strings.Join(mapLines(after), "\n") {
					t.Fatalf("other variables changed:\nbefore %v\nafter  %v\nfile:\n%s", before, after, wrRead(t, dir, ".git/config"))
				}
				if strings.Contains(content, "# trailing comment") && !strings.Contains(wrRead(t, dir, ".git/config"), "# trailing comment") {
					t.Fatal("a comment was lost")
				}
				// Setting it again changes nothing, byte for byte.
				data := wrRead(t, dir, ".git/config")
				if changed, err := r.SetConfig("diff.gitseal.textconv", v); err != nil || changed {
					t.Fatalf("second SetConfig = %v, %v; want no change", changed, err)
				}
				if wrRead(t, dir, ".git/config") != data {
					t.Fatal("second SetConfig rewrote the file")
				}
				if _, err := os.Stat(cfg + ".lock"); !errors.Is(err, os.ErrNotExist) {
					t.Fatal("config.lock left behind")
				}
			})
		}
	}
}

func gitListLocal(t *testing.T, dir string) map[string]string {
	t.Helper()
	out, err := wrRun(dir, wrEnv(dir), "", "config", "--local", "--list", "-z")
	if err != nil {
		return map[string]string{}
	}
	m := map[string]string{}
	for _, kv := range strings.Split(out, "\x00") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "\n")
		m[k] += v + "|"
	}
	return m
}

func mapLines(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	// order does not matter for the comparison, only content
	sortStrings(out)
	return out
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func TestSetConfigPlacesNewKeysAsGit(t *testing.T) {
	dir := wrInit(t)
	cfg := filepath.Join(dir, ".git", "config")
	start := "[core]\n\tbare = false\n[merge \"gitseal\"]\n\tname = x\n# keep me\n[user]\n\tname = U\n"
	os.WriteFile(cfg, []byte(start), 0o644)
	r := wrOpen(t, dir)
	if _, err := r.SetConfig("merge.gitseal.driver", "gitseal merge-driver %O %A %B %P"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.SetConfig("merge.gitseal.name", "gitseal secrets"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.SetConfig("gitseal.auditNotify", "true"); err != nil {
		t.Fatal(err)
	}
	want := "[core]\n\tbare = false\n[merge \"gitseal\"]\n\tname = gitseal secrets\n\tdriver = gitseal merge-driver %O %A %B %P\n# keep me\n[user]\n\tname = U\n[gitseal]\n\tauditNotify = true\n"
	if got := wrRead(t, dir, ".git/config"); got != want {
		t.Fatalf("config file =\n%s\nwant\n%s", got, want)
	}
}

func TestSetConfigRefuses(t *testing.T) {
	dir := wrInit(t)
	cfg := filepath.Join(dir, ".git", "config")
	r := wrOpen(t, dir)
	for _, key := range []string{"", "nodot", "a.", ".b", "a.b c", "sec.1name", "a.sub\nx.b", "s_e.x"} {
		if _, err := r.SetConfig(key, "v"); err == nil {
			t.Errorf("SetConfig(%q) succeeded", key)
		}
	}
	if _, err := r.SetConfig("a.b", "nul\x00"); err == nil {
		t.Error("a NUL in the value was accepted")
	}

	// Several values: refused, file untouched.
	multi := "[core]\n\tbare = false\n[a]\n\tb = 1\n\tb = 2\n"
	os.WriteFile(cfg, []byte(multi), 0o644)
	if _, err := r.SetConfig("a.b", "3"); err == nil || !strings.Contains(err.Error(), "replace-all") {
		t.Fatalf("multi-valued key: %v", err)
	}
	if wrRead(t, dir, ".git/config") != multi {
		t.Fatal("a refused write changed the file")
	}

	// A file git cannot parse: refused, untouched.
	broken := "[core]\n\tbare = false\n[a\n"
	os.WriteFile(cfg, []byte(broken), 0o644)
	if _, err := r.SetConfig("a.b", "3"); err == nil || !strings.Contains(err.Error(), "git config --edit") {
		t.Fatalf("broken file: %v", err)
	}
	if wrRead(t, dir, ".git/config") != broken {
		t.Fatal("a refused write changed the broken file")
	}

	// Another writer holds config.lock: wait, then fail without writing.
	os.WriteFile(cfg, []byte("[core]\n\tbare = false\n"), 0o644)
	os.WriteFile(cfg+".lock", nil, 0o644)
	if _, err := r.SetConfig("a.b", "3"); !errors.Is(err, ErrGitLocked) {
		t.Fatalf("with config.lock held: %v", err)
	}
	if _, err := os.Stat(cfg + ".lock"); err != nil {
		t.Fatal("SetConfig removed another writer's lock")
	}
	os.Remove(cfg + ".lock")
	if _, err := r.SetConfig("a.b", "3"); err != nil {
		t.Fatal(err)
	}
	if got := wrGit(t, dir, "config", "a.b"); got != "3" {
		t.Fatalf("git reads %q", got)
	}
}

// A linked worktree writes the shared config, as git config does.
func TestSetConfigLinkedWorktree(t *testing.T) {
	dir := wrInitWithFiles(t, map[string]string{"a": "1"})
	wt := filepath.Join(t.TempDir(), "wt")
	wrGit(t, dir, "worktree", "add", "-q", wt)
	r := wrOpen(t, wt)
	if _, err := r.SetConfig("diff.gitseal.textconv", "gitseal textconv"); err != nil {
		t.Fatal(err)
	}
	if got := wrGit(t, dir, "config", "diff.gitseal.textconv"); got != "gitseal textconv" {
		t.Fatalf("main worktree reads %q", got)
	}
}
