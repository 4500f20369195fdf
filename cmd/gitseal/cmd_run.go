package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/gitseal/gitseal/publish"
	"github.com/gitseal/gitseal/versioning"
)

// runtimeOptions choose what runtime commands read (DESIGN §5).
type runtimeOptions struct {
	at      string
	pinFile string
	bundle  string
	remote  string
}

// openRuntime opens the chosen environment as the runtime loader does: --at,
// GITSEAL_REF, --pin-file or GITSEAL_PIN_FILE, the pin ref, then HEAD; or a
// bundle.
func (a *app) openRuntime(o runtimeOptions) (*publish.Secrets, error) {
	dir, err := a.workDir()
	if err != nil {
		return nil, err
	}
	return publish.Open(contextBackground(), publish.Options{
		Dir: dir, Env: a.envName(), Ref: o.at, PinFile: o.pinFile, Bundle: o.bundle, Remote: o.remote,
		Identity: a.identitySource(), Passphrase: a.getenv("GITSEAL_PASSPHRASE"), Getenv: a.getenv,
	})
}

type runOptions struct {
	runtimeOptions
	only   []string
	prefix string
}

func (a *app) newRunCmd() *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "run [flags] -- CMD [ARGS...]",
		Short: "Run a command with the secrets in its environment",
		Long: `run starts CMD with every secret of the environment added to its environment
(a secret replaces a variable of the same name), resolved like the runtime
loader: --at REV, $GITSEAL_REF, --pin-file or $GITSEAL_PIN_FILE, the pin
(refs/gitseal/pins/ENV), then HEAD; or from a bundle with --bundle; or from a
git remote with --remote URL, with no clone (only the chosen commit's objects
are fetched, into memory; --at then names a commit or a ref of the remote).
With $GITSEAL_TRUST (SSH public keys, or files of them, one per line) only a
commit whose publish record a trusted key signed (publish --sign) is read;
anything else exits 4. Uncommitted
edits are never read. GITSEAL_IDENTITY and GITSEAL_PASSPHRASE are removed from
CMD's environment. run then becomes CMD (exec): CMD keeps run's process id,
gets every signal sent to it, and its exit status is run's, death by a signal
included; no gitseal process stays behind. As PID 1 (a container's
entrypoint) run instead stays as CMD's parent and passes SIGINT, SIGTERM,
SIGHUP and SIGQUIT on (128+N when a signal N kills CMD), since the kernel
drops signals a PID 1 has no handler for. A CMD that is not found exits 127.

A secret whose name is not a valid environment variable name (it has '.' or
'-') is an error, unless --prefix is given: every variable is then named
PREFIX + the secret's name with '.' and '-' turned into '_'.`,
		Example: `  gitseal run -- ./server
  gitseal --env production run --only DB_URL,API_KEY -- ./migrate
  gitseal run --bundle /app/secrets.bundle -- /app/server
  gitseal run --prefix APP_ -- env
  gitseal --env production run --remote https://git.example.com/acme/app.git -- ./server`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("run needs a command: gitseal run -- CMD [ARGS...]")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return a.runRun(args, o) },
	}
	f := cmd.Flags()
	f.SetInterspersed(false)
	f.StringVar(&o.at, "at", "", "read the secrets as at `REV` instead of the pin")
	f.StringVar(&o.pinFile, "pin-file", "", "read the commit from pin `FILE` (default $GITSEAL_PIN_FILE)")
	f.StringVar(&o.bundle, "bundle", "", "read the secrets from bundle `FILE` instead of a repository")
	f.StringVar(&o.remote, "remote", "", "read the secrets from the git remote at `URL`, without a clone")
	f.StringSliceVar(&o.only, "only", nil, "pass only these secrets (`NAME,...`)")
	f.StringVar(&o.prefix, "prefix", "", "name the variables `PREFIX`+NAME ('.' and '-' become '_')")
	return cmd
}

// validEnvVar: a name every shell and exec accept.
func validEnvVar(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// childEnv builds the variables to add, checking names and values before
// anything runs, and says which variable names they take. names are sorted
// and unique.
func childEnv(values map[string][]byte, names []string, prefix string) ([]string, func(string) bool, error) {
	// Every NAME=value goes into one string, sliced: a thousand separate
	// ones cost a fresh process more in allocations and page faults.
	var all strings.Builder
	size := 0
	for _, n := range names {
		size += len(prefix) + len(n) + 1 + len(values[n]) // a prefix renames in place
	}
	all.Grow(size)
	ends := make([]int, 0, len(names))
	// Without a prefix a variable is the secret's own name, and names are
	// unique: values itself says which variables are taken.
	taken := func(v string) bool { _, ok := values[v]; return ok }
	var vars map[string]string // with a prefix: variable -> secret
	var rename *strings.Replacer
	if prefix != "" {
		vars = make(map[string]string, len(names))
		taken = func(v string) bool { _, ok := vars[v]; return ok }
		rename = strings.NewReplacer(".", "_", "-", "_")
	}
	for _, n := range names {
		v := n
		if prefix != "" {
			v = prefix + rename.Replace(n)
		}
		if !validEnvVar(v) {
			if prefix != "" {
				return nil, nil, usagef("run: --prefix %q does not make a valid variable name", prefix)
			}
			return nil, nil, withHint(fmt.Errorf("run: secret %s is not a valid environment variable name", n),
				"leave it out with --only, or name every variable PREFIX+NAME with --prefix (e.g. --prefix APP_)")
		}
		if vars != nil {
			if other, dup := vars[v]; dup {
				return nil, nil, fmt.Errorf("run: secrets %s and %s would both be the variable %s", other, n, v)
			}
			vars[v] = n
		}
		val := values[n]
		if bytes.IndexByte(val, 0) >= 0 {
			return nil, nil, fmt.Errorf("run: secret %s contains a NUL byte, which an environment variable cannot hold; read it with `gitseal get %s`", n, n)
		}
		all.WriteString(v)
		all.WriteByte('=')
		all.Write(val)
		ends = append(ends, all.Len())
	}
	s, start := all.String(), 0
	out := make([]string, len(ends))
	for i, end := range ends {
		out[i], start = s[start:end], end
	}
	return out, taken, nil
}

func (a *app) runRun(args []string, o runOptions) error {
	s, err := a.openRuntime(o.runtimeOptions)
	if err != nil {
		return err
	}
	defer s.Close()
	var names []string
	var values map[string][]byte
	if len(o.only) == 0 {
		if values, err = s.All(); err != nil {
			return err
		}
		names = s.Names()
	} else {
		for _, n := range o.only {
			n = strings.TrimSpace(n)
			if n != "" {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		names = slices.Compact(names)
		values = make(map[string][]byte, len(names))
		for _, n := range names {
			v, err := s.Get(n)
			if err != nil {
				return err
			}
			values[n] = v
		}
	}
	add, taken, err := childEnv(values, names, o.prefix)
	if err != nil {
		return err
	}
	// As a container's init (PID 1), CMD must not become the process: the
	// kernel drops signals PID 1 has no handler for, so `docker stop` would
	// not reach a CMD that relies on the default action. gitseal then stays
	// as the parent and passes signals on, as before.
	supervise := os.Getpid() == 1
	if !supervise && (a.stdin != os.Stdin || a.stdout != os.Stdout || a.stderr != os.Stderr) {
		return errors.New("run: gitseal must run as its own process to become CMD (standard streams are not the process's own)")
	}
	if a.stdinIsTerminal() { // a person at a shell, not a service manager
		if err := a.auditRuntime(versioning.RevealRun, "run", s, names); err != nil {
			return err
		}
	}
	environ := os.Environ()
	env := make([]string, 0, len(environ)+len(add))
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if k != "GITSEAL_IDENTITY" && k != "GITSEAL_PASSPHRASE" && !taken(k) {
			env = append(env, kv)
		}
	}
	env = append(env, add...)

	path, err := exec.LookPath(args[0])
	if err != nil {
		a.printError(fmt.Errorf("run: %w", err))
		return exitStatus(127)
	}
	if supervise {
		return a.superviseChild(path, args, env)
	}
	// Become CMD: it gets every signal itself, its exit status (death by a
	// signal included) is run's, and no gitseal process stays behind it.
	// Nothing gitseal holds may outlive the exec: the store is closed first;
	// the loader's files are close-on-exec and its mapped packs go with the
	// exec, which drops them at less cost than unmapping them one by one.
	if a.store != nil {
		a.store.Close()
		a.store = nil
	}
	if a.stopSignals != nil {
		a.stopSignals()
	}
	err = syscall.Exec(path, args, env)
	a.printError(fmt.Errorf("run: %s: %w", args[0], err))
	return exitStatus(126)
}

// superviseChild runs CMD as a child, passes SIGINT, SIGTERM, SIGHUP and
// SIGQUIT on to it, and returns its exit status (128+N when a signal N
// killed it). run uses it when gitseal is PID 1.
func (a *app) superviseChild(path string, args, env []string) error {
	child := exec.Command(path, args[1:]...)
	child.Args[0] = args[0]
	child.Env = env
	child.Stdin, child.Stdout, child.Stderr = a.stdin, a.stdout, a.stderr
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	defer signal.Stop(sigs)
	if err := child.Start(); err != nil {
		a.printError(fmt.Errorf("run: %w", err))
		return exitStatus(126)
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case sig := <-sigs:
				child.Process.Signal(sig)
			case <-done:
				return
			}
		}
	}()
	err := child.Wait()
	close(done)
	var ee *exec.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return exitStatus(128 + int(ws.Signal()))
		}
		return exitStatus(ee.ExitCode())
	default:
		return fmt.Errorf("run: %w", err)
	}
}
