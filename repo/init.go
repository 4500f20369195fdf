package repo

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// InitOptions configure Init.
type InitOptions struct {
	// Branch is the initial branch; "main" when empty.
	Branch string
	// UserName and UserEmail, when set, are written to the repository's own
	// config (user.name, user.email), for throwaway repositories.
	UserName, UserEmail string
}

// Init creates an empty non-bare repository in dir, as `git init` does, and
// opens it. It refuses a dir that already holds a .git.
func Init(dir string, opts InitOptions) (*Repo, error) {
	branch := opts.Branch
	if branch == "" {
		branch = "main"
	}
	if strings.ContainsAny(branch, " ~^:?*[\\") || strings.HasPrefix(branch, "-") {
		return nil, fmt.Errorf("init %s: invalid branch name %q", dir, branch)
	}
	gitDir := filepath.Join(dir, ".git")
	if _, err := os.Lstat(gitDir); err == nil {
		return nil, fmt.Errorf("init %s: a repository already exists there", dir)
	}
	for _, d := range []string{"objects/info", "objects/pack", "refs/heads", "refs/tags", "info"} {
		if err := os.MkdirAll(filepath.Join(gitDir, d), 0o755); err != nil {
			return nil, fmt.Errorf("init %s: %w", dir, err)
		}
	}
	config := "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n\tlogallrefupdates = true\n"
	if opts.UserName != "" || opts.UserEmail != "" {
		config += "[user]\n"
		if opts.UserName != "" {
			config += "\tname = " + opts.UserName + "\n"
		}
		if opts.UserEmail != "" {
			config += "\temail = " + opts.UserEmail + "\n"
		}
	}
	files := map[string]string{
		"HEAD":   "ref: refs/heads/" + branch + "\n",
		"config": config,
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(gitDir, name), []byte(content), 0o644); err != nil {
			return nil, fmt.Errorf("init %s: %w", dir, err)
		}
	}
	return Open(dir)
}
