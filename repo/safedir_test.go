package repo

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestSafeDirectory: a repository that belongs to another user is refused,
// as git refuses it, unless the system or global config (never the
// repository's own) names it in safe.directory; $SUDO_UID and $GIT_DIR are
// honoured as git honours them.
func TestSafeDirectory(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("giving a repository to another user needs root (chown); run as root to test ownership")
	}
	const other = 4242
	dir := wrInit(t)
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	bare := filepath.Join(t.TempDir(), "bare.git")
	wrGit(t, filepath.Dir(bare), "init", "-q", "--bare", bare)
	for _, root := range []string{dir, bare} {
		err := filepath.WalkDir(root, func(p string, _ os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, other, other)
		})
		if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EINVAL) {
			t.Skipf("root here cannot give files to uid %d (a user namespace?): %v", other, err)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	global := filepath.Join(t.TempDir(), "gitconfig")
	if err := os.WriteFile(global, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GIT_CONFIG_GLOBAL", global)
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	t.Setenv("GIT_DIR", "")
	os.Unsetenv("GIT_DIR")
	os.Unsetenv("SUDO_UID")

	refused := func(step, at, path string) {
		t.Helper()
		r, err := Open(at)
		if err == nil {
			r.Close()
			t.Fatalf("%s: Open(%s) succeeded, want dubious ownership", step, at)
		}
		var de *DubiousOwnershipError
		if !errors.Is(err, ErrDubiousOwnership) || !errors.As(err, &de) || de.Path != path ||
			!strings.Contains(err.Error(), "git config --global --add safe.directory "+path) {
			t.Fatalf("%s: Open(%s) = %v; want dubious ownership of %s with the command that trusts it", step, at, err, path)
		}
	}
	opened := func(step, at string) {
		t.Helper()
		r, err := Open(at)
		if err != nil {
			t.Fatalf("%s: Open(%s): %v", step, at, err)
		}
		r.Close()
	}
	// git agrees that this repository is someone else's.
	if out, err := exec.Command("git", "-C", dir, "status").CombinedOutput(); err == nil || !strings.Contains(string(out), "dubious ownership") {
		t.Fatalf("git status in the other user's repository: %v\n%s", err, out)
	}

	refused("other user's repository", dir, dir)
	refused("from a subdirectory", sub, dir)
	refused("bare", bare, bare)
	cfg := func(file string, args ...string) {
		t.Helper()
		if out, err := exec.Command("git", append([]string{"config", "--file", file}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git config %v: %v\n%s", args, err, out)
		}
	}
	cfg(filepath.Join(bare, "config"), "safe.directory", "*") // the repository's own config does not count
	refused("trusted by its own config", bare, bare)

	gitCfg := func(args ...string) { t.Helper(); cfg(global, args...) }
	gitCfg("--add", "safe.directory", dir+"/")
	refused("named with a trailing slash (git does not match it either)", dir, dir)
	t.Setenv("HOME", filepath.Dir(dir))
	gitCfg("--add", "safe.directory", "~/../"+filepath.Base(filepath.Dir(dir))+"/"+filepath.Base(dir))
	refused("named from ~/ through .. (git does not clean the path)", dir, dir)
	gitCfg("--add", "safe.directory", "~/"+filepath.Base(dir))
	opened("named from ~/", dir)
	if err := os.WriteFile(global, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	gitCfg("--add", "safe.directory", dir)
	opened("named in safe.directory", sub)
	refused("another repository is still refused", bare, bare)
	gitCfg("--add", "safe.directory", "")
	refused("an empty value resets the list", dir, dir)
	gitCfg("--add", "safe.directory", "*")
	opened("safe.directory *", dir)
	opened("safe.directory * (bare)", bare)

	if err := os.WriteFile(global, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	refused("global config emptied", dir, dir)
	t.Setenv("GIT_CONFIG_COUNT", "1")
	t.Setenv("GIT_CONFIG_KEY_0", "safe.directory")
	t.Setenv("GIT_CONFIG_VALUE_0", dir)
	opened("named in GIT_CONFIG_*", dir)
	t.Setenv("GIT_CONFIG_COUNT", "0")

	t.Setenv("SUDO_UID", "4242")
	opened("root running under sudo for the owner", dir)
	t.Setenv("SUDO_UID", "1")
	refused("root under sudo for someone else", dir, dir)
	mine := wrInit(t) // root's own repository
	opened("root under sudo, a repository root owns", mine)
	t.Setenv("SUDO_UID", "not-a-number")
	opened("root with a malformed SUDO_UID, a repository root owns", mine)
	refused("root with a malformed SUDO_UID, another user's repository", dir, dir)
	os.Unsetenv("SUDO_UID")

	// Started inside .git, git checks the git directory alone, by its path.
	gitDir := filepath.Join(dir, ".git")
	refused("inside .git", gitDir, gitDir)
	gitCfg("--add", "safe.directory", dir)
	refused("inside .git, the work tree trusted", gitDir, gitDir)
	gitCfg("--add", "safe.directory", gitDir)
	opened("inside .git, the git directory trusted", gitDir)
	if err := os.WriteFile(global, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"-C", gitDir, "status"}, {"-c", "safe.directory=" + gitDir, "-C", gitDir, "rev-parse", "--git-dir"}} {
		out, err := exec.Command("git", args...).CombinedOutput()
		if wantOK := len(args) > 3; (err == nil) != wantOK {
			t.Fatalf("git %v: %v\n%s (git and gitseal disagree on the rule)", args, err, out)
		}
	}

	t.Setenv("GIT_DIR", filepath.Join(dir, ".git"))
	opened("named by $GIT_DIR", dir)
}
