// Command gitseal keeps an application's secrets encrypted in its own git
// repository. See the README for the commands; this package only parses
// flags, wires the library packages together and prints.
package main

import (
	"os"
	"time"

	"golang.org/x/term"
)

func main() {
	a := &app{
		stdin:  os.Stdin,
		stdout: os.Stdout,
		stderr: os.Stderr,
		getenv: os.Getenv,
		now:    time.Now,
		stdinIsTerminal: func() bool {
			return term.IsTerminal(int(os.Stdin.Fd()))
		},
		stdoutIsTerminal: func() bool {
			return term.IsTerminal(int(os.Stdout.Fd()))
		},
		stderrIsTerminal: func() bool {
			return term.IsTerminal(int(os.Stderr.Fd()))
		},
		readPassword: func() ([]byte, error) {
			return term.ReadPassword(int(os.Stdin.Fd()))
		},
	}
	os.Exit(a.run(os.Args[1:]))
}
