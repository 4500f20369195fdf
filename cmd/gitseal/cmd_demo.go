package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gitseal/gitseal/cipher"
	"github.com/gitseal/gitseal/repo"
)

type demoOptions struct{ keep bool }

func (a *app) newDemoCmd() *cobra.Command {
	var o demoOptions
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the main job in a throwaway repository, narrated",
		Long: `demo creates a throwaway git repository and identity in a temporary directory,
then runs gitseal's main job in it: init, set, generate, get (now and at an
older commit), ls, history, publish, and a runtime read that stays on the
published commit after a later change; then it checks that no git object holds
a value.
Your own repositories, identity and git config are not touched.`,
		Example: `  gitseal demo
  gitseal demo --keep`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return a.runDemo(o) },
	}
	cmd.Flags().BoolVar(&o.keep, "keep", false, "keep the throwaway repository and print where it is")
	return cmd
}

func (a *app) runDemo(o demoOptions) error {
	tmp, err := os.MkdirTemp("", "gitseal-demo-")
	if err != nil {
		return err
	}
	if !o.keep {
		defer os.RemoveAll(tmp)
	}
	dir := filepath.Join(tmp, "app")
	idFile := filepath.Join(tmp, "identity")
	out := a.stdout
	say := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }

	say("# A throwaway app repository: %s", dir)
	if _, err := repo.Init(dir, repo.InitOptions{Branch: "main", UserName: "Demo Developer", UserEmail: "dev@example.com"}); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	file, pub, err := cipher.GenerateIdentity(a.now())
	if err != nil {
		return err
	}
	if err := writeNewFile(idFile, file); err != nil {
		return err
	}
	say("# A throwaway identity (age X25519): %s", pub.Key)

	env := map[string]string{"GITSEAL_IDENTITY_FILE": idFile}
	step := func(stdin string, args ...string) (string, error) {
		say("\n$ %sgitseal %s", pipeOf(stdin), strings.Join(args, " "))
		var so, se bytes.Buffer
		child := &app{
			stdin: strings.NewReader(stdin), stdout: &so, stderr: &se, now: a.now,
			getenv: func(k string) string {
				if v, ok := env[k]; ok {
					return v
				}
				if strings.HasPrefix(k, "GITSEAL_") {
					return ""
				}
				return a.getenv(k)
			},
			stdinIsTerminal: func() bool { return false }, stdoutIsTerminal: func() bool { return false },
			stderrIsTerminal: func() bool { return false },
			readPassword:     func() ([]byte, error) { return nil, fmt.Errorf("no terminal") },
		}
		code := child.run(append([]string{"-C", dir}, args...))
		for _, l := range strings.Split(strings.TrimRight(so.String(), "\n"), "\n") {
			if l != "" {
				say("  %s", l)
			}
		}
		for _, l := range strings.Split(strings.TrimRight(se.String(), "\n"), "\n") {
			if l != "" {
				say("  %s", l)
			}
		}
		if code != 0 {
			return so.String(), fmt.Errorf("demo: `gitseal %s` failed (exit %d)", strings.Join(args, " "), code)
		}
		return so.String(), nil
	}
	values := []string{"correct horse battery staple", "Tr0ub4dor&3", "hunter2-rotated"}
	steps := []struct {
		comment string
		stdin   string
		args    []string
	}{
		{"Create the store: one commit under .gitseal/, readable by the identity", "", []string{"init"}},
		{"Set a secret from stdin: encrypted, one commit", values[0] + "\n", []string{"set", "DB_PASSWORD"}},
		{"Generate a strong random one", "", []string{"generate", "SESSION_KEY", "--bytes", "32"}},
		{"Change the first: a new version, a new commit", values[1] + "\n", []string{"set", "DB_PASSWORD"}},
		{"Read it back", "", []string{"get", "DB_PASSWORD"}},
		{"Read the version before (two commits back)", "", []string{"get", "DB_PASSWORD", "--at", "HEAD~2"}},
		{"List the secrets with their last change", "", []string{"ls", "--json"}},
		{"Every version of DB_PASSWORD", "", []string{"history", "DB_PASSWORD"}},
		{"Publish: pin the environment to this commit for the runtime", "", []string{"publish", "default"}},
		{"Change the secret after the release", values[2] + "\n", []string{"set", "DB_PASSWORD"}},
		{"The branch tip has the new value", "", []string{"get", "DB_PASSWORD"}},
		{"The runtime still reads the published commit", "", []string{"export", "--format", "shell"}},
	}
	for _, s := range steps {
		say("\n# %s", s.comment)
		if _, err := step(s.stdin, s.args...); err != nil {
			return err
		}
	}

	n, err := checkNoPlaintext(dir, values)
	if err != nil {
		return err
	}
	say("\n# Checked every one of the %d git objects in the repository: no value appears in any.", n)
	if o.keep {
		say("# Kept: cd %s && GITSEAL_IDENTITY_FILE=%s gitseal ls", dir, idFile)
	} else {
		say("# Removed %s.", tmp)
	}
	return nil
}

func pipeOf(stdin string) string {
	if stdin == "" {
		return ""
	}
	return "echo '…' | "
}

// checkNoPlaintext reads every object reachable from HEAD and fails if any
// holds one of values.
func checkNoPlaintext(dir string, values []string) (int, error) {
	r, err := repo.Open(dir)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	n := 0
	err = r.WalkObjects(func(h repo.Hash, data []byte) error {
		n++
		for _, v := range values {
			if bytes.Contains(data, []byte(v)) {
				return fmt.Errorf("demo: object %s holds a plaintext value", h)
			}
		}
		return nil
	})
	return n, err
}
