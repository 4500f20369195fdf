package repo

import (
	"errors"
	"strings"
	"testing"
)

func TestPaths(t *testing.T) {
	dir := rdInit(t)
	c := rdCommit(t, dir, 1, "one", map[string]string{
		".gitseal/store.json":             "{}\n",
		".gitseal/prod/secrets/DB":        "v1:abc\n",
		".gitseal/prod/secrets/API_TOKEN": "v1:def\n",
		".gitseal/prod/recipients":        "age1xyz\n",
		"src/main.go":                     "package main\n",
	})
	rdGit(t, dir, "gc", "-q")
	r := rdOpen(t, dir)
	h, _ := ParseHash(c)

	data, id, err := r.FileAt(h, ".gitseal/prod/secrets/DB")
	if err != nil || string(data) != "v1:abc\n" || id.String() != rdGit(t, dir, "rev-parse", "HEAD:.gitseal/prod/secrets/DB") {
		t.Errorf("FileAt = %q %s %v", data, id, err)
	}
	if data, _, err := r.FileAt(h, "/src//main.go"); err != nil || string(data) != "package main\n" {
		t.Errorf("FileAt with extra slashes = %q %v", data, err)
	}
	for _, p := range []string{".gitseal/prod/secrets/NOPE", ".gitseal/prod/secrets", "src/main.go/x", "../x", ".gitseal/../src/main.go", "nope/x"} {
		if _, _, err := r.FileAt(h, p); !errors.Is(err, ErrPathNotFound) {
			t.Errorf("FileAt(%q) err = %v", p, err)
		}
	}
	_, _, err = r.FileAt(h, ".gitseal/prod/secrets/NOPE")
	if want := "reading .gitseal/prod/secrets/NOPE at " + c[:7] + ": path not found"; err == nil || err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}

	ents, err := r.DirAt(h, ".gitseal/prod/secrets")
	if err != nil || len(ents) != 2 || ents[0].Name != "API_TOKEN" || ents[1].Name != "DB" || ents[0].Mode != ModeFile {
		t.Errorf("DirAt = %+v %v", ents, err)
	}
	root, err := r.DirAt(h, "")
	if err != nil || len(root) != 2 || root[0].Name != ".gitseal" || !root[0].Mode.IsDir() {
		t.Errorf("DirAt(root) = %+v %v", root, err)
	}
	if _, err := r.DirAt(h, "src/main.go"); !errors.Is(err, ErrPathNotFound) {
		t.Errorf("DirAt(file) err = %v", err)
	}
	e, err := r.TreeEntryAt(h, ".gitseal/prod")
	if err != nil || e.Mode != ModeDir || e.Name != "prod" || e.Hash.String() != rdGit(t, dir, "rev-parse", "HEAD:.gitseal/prod") {
		t.Errorf("TreeEntryAt(dir) = %+v %v", e, err)
	}
	if _, err := r.TreeEntryAt(ZeroHash, "x"); err == nil || !errors.Is(err, ErrObjectNotFound) {
		t.Errorf("TreeEntryAt(zero) err = %v", err)
	}
	tree, _ := ParseHash(rdGit(t, dir, "rev-parse", "HEAD^{tree}"))
	if _, err := r.TreeEntryAt(tree, "x"); err == nil || !strings.Contains(err.Error(), "is a tree") {
		t.Errorf("TreeEntryAt(tree id) err = %v", err)
	}
}

func TestModesAndSymlinks(t *testing.T) {
	dir := rdInit(t)
	rdWrite(t, dir, "run.sh", "#!/bin/sh\n")
	rdGit(t, dir, "add", "run.sh")
	rdGit(t, dir, "update-index", "--chmod=+x", "run.sh")
	rdGit(t, dir, "update-index", "--add", "--cacheinfo", "120000,"+rdGitEnv(t, dir, nil, "run.sh", "hash-object", "-w", "--stdin")+",link")
	rdGit(t, dir, "update-index", "--add", "--cacheinfo", "160000,"+strings.Repeat("ab", 20)+",sub")
	rdGit(t, dir, "commit", "-q", "-m", "modes")
	r := rdOpen(t, dir)
	h := mustResolve(t, r, "HEAD")
	want := map[string]Mode{"run.sh": ModeExec, "link": ModeSymlink, "sub": ModeSubmodule}
	for name, mode := range want {
		e, err := r.TreeEntryAt(h, name)
		if err != nil || e.Mode != mode {
			t.Errorf("%s: %+v %v", name, e, err)
		}
	}
	if _, _, err := r.FileAt(h, "sub"); !errors.Is(err, ErrPathNotFound) {
		t.Errorf("FileAt(submodule) err = %v", err)
	}
	if data, _, err := r.FileAt(h, "link"); err != nil || string(data) != "run.sh" {
		t.Errorf("FileAt(symlink) = %q %v", data, err)
	}
}
