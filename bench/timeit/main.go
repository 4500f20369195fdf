// Command timeit runs commands many times, interleaved, and prints the
// median wall-clock time of each in milliseconds.
//
// Usage:
//
//	timeit [-n 21] [-warmup 2] SPEC [::: SPEC]...
//
// A SPEC is a command line, optionally preceded by options that start with @:
//
//	@name=NAME          label in the output (default: the command's first word)
//	@stdin=FILE         the command's stdin is FILE (default: /dev/null)
//	@unique-stdin=TEXT  the command's stdin is TEXT followed by a value that
//	                    differs on every run (for `gitseal set`, which makes no
//	                    commit when the value does not change)
//	@prepare=SHELL      run `sh -c SHELL` before every run, untimed
//
// The command is run directly (no shell) with stdout discarded; wrap it in
// `sh -c` to time a pipeline. Iteration i runs every command once, in an
// order rotated by i, so that noise on a shared machine falls on all of them
// alike. A command that exits non-zero stops timeit with its stderr.
//
// Output: one tab-separated line per command:
// name, median, first quartile, third quartile, minimum, maximum (ms), runs,
// and the median CPU time (user + system, ms) of the process and of the
// children it waited for, which load from other processes disturbs less than
// wall-clock time.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"
)

type spec struct {
	name        string
	argv        []string
	stdinFile   string
	uniqueStdin string
	unique      bool
	prepare     string
	samples     []time.Duration // wall clock
	cpu         []time.Duration // user + system time of the process and what it waited for
}

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "timeit: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("timeit", flag.ContinueOnError)
	n := fs.Int("n", 21, "timed runs of each command")
	warmup := fs.Int("warmup", 2, "untimed runs of each command first")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *n < 1 || *warmup < 0 {
		return errors.New("-n must be at least 1 and -warmup at least 0")
	}
	specs, err := parseSpecs(fs.Args())
	if err != nil {
		return err
	}
	for it := 0; it < *warmup+*n; it++ {
		for k := range specs {
			s := specs[(k+it)%len(specs)]
			d, cpu, err := s.runOnce(it)
			if err != nil {
				return err
			}
			if it >= *warmup {
				s.samples = append(s.samples, d)
				s.cpu = append(s.cpu, cpu)
			}
		}
	}
	for _, s := range specs {
		slices.Sort(s.samples)
		slices.Sort(s.cpu)
		fmt.Fprintf(out, "%s\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%d\t%.2f\n", s.name,
			ms(quantile(s.samples, 0.5)), ms(quantile(s.samples, 0.25)), ms(quantile(s.samples, 0.75)),
			ms(s.samples[0]), ms(s.samples[len(s.samples)-1]), len(s.samples), ms(quantile(s.cpu, 0.5)))
	}
	return nil
}

func parseSpecs(args []string) ([]*spec, error) {
	var specs []*spec
	s := &spec{}
	flush := func() error {
		if len(s.argv) == 0 {
			return errors.New("empty command (want SPEC [::: SPEC]...)")
		}
		if s.name == "" {
			s.name = s.argv[0]
		}
		specs = append(specs, s)
		s = &spec{}
		return nil
	}
	for _, a := range args {
		switch {
		case a == ":::":
			if err := flush(); err != nil {
				return nil, err
			}
		case len(s.argv) == 0 && strings.HasPrefix(a, "@"):
			key, val, _ := strings.Cut(a[1:], "=")
			switch key {
			case "name":
				s.name = val
			case "stdin":
				s.stdinFile = val
			case "unique-stdin":
				s.uniqueStdin, s.unique = val, true
			case "prepare":
				s.prepare = val
			default:
				return nil, fmt.Errorf("unknown option %q", a)
			}
		default:
			s.argv = append(s.argv, a)
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return specs, nil
}

func (s *spec) runOnce(it int) (wall, cpu time.Duration, err error) {
	if s.prepare != "" {
		p := exec.Command("sh", "-c", s.prepare)
		if b, err := p.CombinedOutput(); err != nil {
			return 0, 0, fmt.Errorf("%s: prepare: %v\n%s", s.name, err, b)
		}
	}
	cmd := exec.Command(s.argv[0], s.argv[1:]...)
	switch {
	case s.unique:
		cmd.Stdin = strings.NewReader(fmt.Sprintf("%s%d-%d-%d", s.uniqueStdin, os.Getpid(), it, time.Now().UnixNano()))
	case s.stdinFile != "":
		f, err := os.Open(s.stdinFile)
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %w", s.name, err)
		}
		defer f.Close()
		cmd.Stdin = f
	}
	// Stderr goes to a file, not a pipe, so that a background process the
	// command leaves behind (git's auto-gc) cannot hold the run open.
	// cmd.Stdout stays nil: the child writes to /dev/null.
	stderr, err := os.CreateTemp("", "timeit-stderr-")
	if err != nil {
		return 0, 0, err
	}
	defer os.Remove(stderr.Name())
	defer stderr.Close()
	cmd.Stderr = stderr
	start := time.Now()
	err = cmd.Run()
	wall = time.Since(start)
	if err != nil {
		b, _ := os.ReadFile(stderr.Name())
		return 0, 0, fmt.Errorf("%s: %v (run %d)\n%s", s.name, err, it, b)
	}
	return wall, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), nil
}

// quantile interpolates linearly between the samples around q.
func quantile(sorted []time.Duration, q float64) time.Duration {
	pos := q * float64(len(sorted)-1)
	lo := int(pos)
	if lo+1 >= len(sorted) {
		return sorted[lo]
	}
	frac := pos - float64(lo)
	return sorted[lo] + time.Duration(frac*float64(sorted[lo+1]-sorted[lo]))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
