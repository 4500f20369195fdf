package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gitseal/gitseal/cipher"
	"github.com/gitseal/gitseal/versioning"
)

// app is everything a command may touch. Commands write only through it.
type app struct {
	stdin            io.Reader
	stdout, stderr   io.Writer
	getenv           func(string) string
	now              func() time.Time
	stdinIsTerminal  func() bool
	stdoutIsTerminal func() bool
	stderrIsTerminal func() bool
	readPassword     func() ([]byte, error)

	// stopSignals gives SIGINT back to its disposition from before gitseal
	// (nil when gitseal never took it).
	stopSignals func()

	// global flags
	dir      string
	env      string
	identity string
	noSign   bool

	store *versioning.Store
}

func (a *app) run(args []string) int {
	// SIGINT cancels the command's context, so that a write stops cleanly.
	// run writes nothing (its audit entry is one crash-safe commit) and
	// becomes CMD, which must find SIGINT as gitseal found it (ignored
	// stays ignored, as nohup and `cmd &` in scripts want): it leaves
	// SIGINT alone.
	ctx := context.Background()
	if commandWord(args) != "run" {
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(ctx, os.Interrupt)
		defer stop()
		a.stopSignals = stop
	}
	root := a.newRootCmd(args)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err != nil && isCobraUsageError(err) {
		err = usageError{err}
	}
	if a.store != nil {
		a.store.Close()
	}
	if err != nil {
		a.printError(err)
	}
	return exitCode(err)
}

// isCobraUsageError recognises the errors cobra makes itself for an unknown
// command or a bad argument count.
func isCobraUsageError(err error) bool {
	var u usageError
	if errors.As(err, &u) {
		return false
	}
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "accepts ", "requires at least", "requires at most", "flag needs an argument", "invalid argument"} {
		if strings.HasPrefix(msg, p) || strings.Contains(msg, " "+p) {
			return true
		}
	}
	return false
}

func (a *app) newRootCmd(args []string) *cobra.Command {
	root := &cobra.Command{
		Use:   "gitseal",
		Short: "Encrypted secrets in your app's own git repository",
		Long: `gitseal keeps an application's secrets encrypted in its own git repository.
Every change to a secret is one commit; reads come from committed objects only.`,
		SilenceErrors: true,
		SilenceUsage:  true,
		Example: `  gitseal init
  printf 'hunter2' | gitseal set DB_PASSWORD
  gitseal get DB_PASSWORD`,
	}
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	pf := root.PersistentFlags()
	pf.StringVarP(&a.dir, "directory", "C", "", "run as if gitseal was started in `DIR`")
	pf.StringVar(&a.env, "env", "", "the environment (default: $GITSEAL_ENV, then the store's default)")
	pf.StringVar(&a.identity, "identity", "", "identity `FILE` (age or OpenSSH private key); overrides GITSEAL_IDENTITY*")
	pf.BoolVar(&a.noSign, "no-sign", false, "do not sign commits, even if git config asks for it (commit.gpgSign)")
	all := a.commands()
	if i := slices.IndexFunc(all, func(c command) bool { return c.name == commandWord(args) }); i >= 0 {
		// Only the command being run is built: building all of them costs
		// more than a whole `git show` (see "Performance" in the README).
		// Nor cobra's completion command, which is not the one run either.
		all = all[i : i+1]
		root.CompletionOptions.DisableDefaultCmd = true
	}
	for _, c := range all {
		root.AddCommand(c.build())
	}
	return root
}

// command is a top-level command: its name and how to build it.
type command struct {
	name  string
	build func() *cobra.Command
}

// commands lists every top-level command, in the order help shows them.
// TestCommandTable checks each name against what its build returns.
func (a *app) commands() []command {
	return []command{
		{"init", a.newInitCmd},
		{"keygen", a.newKeygenCmd},
		{"set", a.newSetCmd},
		{"generate", a.newGenerateCmd},
		{"get", a.newGetCmd},
		{"ls", a.newLsCmd},
		{"rm", a.newRmCmd},
		{"import", a.newImportCmd},
		{"export", a.newExportCmd},
		{"history", a.newHistoryCmd},
		{"key", a.newKeyCmd},
		{"encrypt", a.newEncryptCmd},
		{"decrypt", a.newDecryptCmd},
		{"demo", a.newDemoCmd},
		{"log", a.newLogCmd},
		{"diff", a.newDiffCmd},
		{"publish", a.newPublishCmd},
		{"unpublish", a.newUnpublishCmd},
		{"pins", a.newPinsCmd},
		{"run", a.newRunCmd},
		{"bundle", a.newBundleCmd},
		{"rollback", a.newRollbackCmd},
		{"recipient", a.newRecipientCmd},
		{"rotate", a.newRotateCmd},
		{"env", a.newEnvCmd},
		{"check", a.newCheckCmd},
		{"doctor", a.newDoctorCmd},
		{"audit", a.newAuditCmd},
		{"setup-git", a.newSetupGitCmd},
		{"textconv", a.newTextconvCmd},
		{"merge-driver", a.newMergeDriverCmd},
		{"scan", a.newScanCmd},
		{"push", a.newPushCmd},
		{"fetch", a.newFetchCmd},
		{"reseal", a.newResealCmd},
		{"version", a.newVersionCmd},
	}
}

// commandWord is the command args name: the first argument that is not a
// global flag or a global flag's value. It is "" when that is not clear (a
// flag it does not know, help asked for before the command, no command),
// and then every command is built and cobra sorts it out.
func commandWord(args []string) string {
	for i := 0; i < len(args); i++ {
		arg := args[i]
		switch {
		case arg == "-C" || arg == "--directory" || arg == "--env" || arg == "--identity":
			i++ // the flag's value
		case strings.HasPrefix(arg, "-C") || arg == "--no-sign" ||
			strings.HasPrefix(arg, "--directory=") || strings.HasPrefix(arg, "--env=") ||
			strings.HasPrefix(arg, "--identity=") || strings.HasPrefix(arg, "--no-sign="):
		case strings.HasPrefix(arg, "-"):
			return ""
		default:
			return arg
		}
	}
	return ""
}

// workDir is the directory gitseal acts in.
func (a *app) workDir() (string, error) {
	if a.dir != "" {
		return filepath.Abs(a.dir)
	}
	return os.Getwd()
}

func (a *app) homeDir() string {
	if h := a.getenv("HOME"); h != "" {
		return h
	}
	h, _ := os.UserHomeDir()
	return h
}

func (a *app) identitySource() cipher.IdentitySource {
	return cipher.IdentitySource{File: a.identity, Getenv: a.getenv, HomeDir: a.homeDir()}
}

// openStore opens the store of the repository gitseal acts in, once.
func (a *app) openStore() (*versioning.Store, error) {
	if a.store != nil {
		return a.store, nil
	}
	dir, err := a.workDir()
	if err != nil {
		return nil, err
	}
	s, err := versioning.Open(dir, versioning.Options{
		Identity:   a.identitySource(),
		Passphrase: a.getenv("GITSEAL_PASSPHRASE"),
		NoSign:     a.noSign,
		Now:        a.now,
	})
	if err != nil {
		return nil, err
	}
	a.store = s
	return s, nil
}

// envName is the environment named on the command line or in GITSEAL_ENV;
// "" means the store's default.
func (a *app) envName() string {
	if a.env != "" {
		return a.env
	}
	return a.getenv("GITSEAL_ENV")
}

// snapshot opens the store and returns it as at rev ("" for the branch tip).
func (a *app) snapshot(rev string) (*versioning.Snapshot, error) {
	s, err := a.openStore()
	if err != nil {
		return nil, err
	}
	return s.Snapshot(rev)
}

// snapshotEnv returns the chosen environment at rev ("" for the branch tip).
func (a *app) snapshotEnv(rev string) (*versioning.Env, error) {
	sn, err := a.snapshot(rev)
	if err != nil {
		return nil, err
	}
	return sn.Env(a.envName())
}

// reportWrite tells a person what a mutation did.
func (a *app) reportWrite(res versioning.Result) {
	switch {
	case !res.Changed:
		a.infof("gitseal: nothing changed (the value is already set); no commit made")
	case res.Staged:
		a.infof("%s (staged, not committed)", strings.TrimPrefix(res.Subject, "gitseal: "))
	default:
		a.infof("[%s] %s", res.Commit.String()[:7], res.Subject)
	}
}

// exactArgs is cobra.ExactArgs with a message that says what is missing.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s takes %s (got %d arguments); see `gitseal %s --help`", cmd.Name(), what, len(args), cmd.Name())
		}
		return nil
	}
}

func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) != 0 {
		return usagef("%s takes no arguments (got %q)", cmd.Name(), args[0])
	}
	return nil
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
