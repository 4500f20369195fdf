package main

import (
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gitseal/gitseal/publish"
	"github.com/gitseal/gitseal/versioning"
)

type importOptions struct {
	format string
	stage  bool
}

func (a *app) newImportCmd() *cobra.Command {
	var o importOptions
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Set many secrets from a dotenv or JSON file, in one commit",
		Long: `import reads NAME=VALUE lines (dotenv) or one JSON object of strings from FILE
("-" for stdin) and sets every secret in one commit. Every name and value is
checked before anything is written. The format follows the file's extension
(.json) unless --format says otherwise. Delete the plaintext file afterwards.`,
		Example: `  gitseal import .env && shred -u .env
  gitseal --env production import --format json secrets.json`,
		Args: exactArgs(1, "one FILE (or - for stdin)"),
		RunE: func(cmd *cobra.Command, args []string) error { return a.runImport(cmd, args[0], o) },
	}
	cmd.Flags().StringVar(&o.format, "format", "", "dotenv or json (default: from the file's extension)")
	cmd.Flags().BoolVar(&o.stage, "stage", false, "write and stage instead of committing")
	return cmd
}

func (a *app) runImport(cmd *cobra.Command, file string, o importOptions) error {
	format := o.format
	if format == "" {
		format = versioning.FormatDotenv
		if strings.HasSuffix(strings.ToLower(file), ".json") {
			format = versioning.FormatJSON
		}
	}
	if format != versioning.FormatDotenv && format != versioning.FormatJSON {
		return usagef("import: unknown --format %q; use dotenv or json", format)
	}
	var r io.Reader = a.stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return errorf("import: %w", err)
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, 256<<20))
	if err != nil {
		return errorf("import: reading %s: %w", file, err)
	}
	values, err := versioning.ParseValues(format, data)
	if err != nil {
		return err
	}
	s, err := a.openStore()
	if err != nil {
		return err
	}
	res, err := s.Import(cmd.Context(), a.envName(), values, versioning.WriteOptions{Stage: o.stage})
	if err != nil {
		return err
	}
	a.reportWrite(res)
	return nil
}

type exportOptions struct {
	format string
	at     string
}

func (a *app) newExportCmd() *cobra.Command {
	var o exportOptions
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Print every secret of an environment as dotenv, JSON or shell",
		Long: `export prints every secret of the environment, resolved like the runtime:
--at REV, $GITSEAL_REF, $GITSEAL_PIN_FILE, the pin (refs/gitseal/pins/ENV), then
the branch tip. Values that are not text
(not UTF-8, or with a NUL byte) cannot be exported; read them with get.`,
		Example: `  gitseal export > .env.local
  eval "$(gitseal export --format shell)"
  gitseal --env production export --format json --at v1.4.0`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return a.runExport(o) },
	}
	cmd.Flags().StringVar(&o.format, "format", "dotenv", "dotenv, json or shell")
	cmd.Flags().StringVar(&o.at, "at", "", "export as at `REV`")
	return cmd
}

// runtimeEnv opens the environment at the commit the runtime would read:
// --at, $GITSEAL_REF, the pin file, the pin, then HEAD (see publish.Resolve).
func (a *app) runtimeEnv(at string) (*versioning.Env, error) {
	s, err := a.openStore()
	if err != nil {
		return nil, err
	}
	res, err := publish.Resolve(s.Repo(), publish.ResolveOptions{Env: a.envName(), Ref: at, Getenv: a.getenv})
	if err != nil {
		return nil, err
	}
	sn, err := s.SnapshotAt(res.Commit)
	if err != nil {
		return nil, err
	}
	return sn.Env(a.envName())
}

func (a *app) runExport(o exportOptions) error {
	switch o.format {
	case versioning.FormatDotenv, versioning.FormatJSON, versioning.FormatShell:
	default:
		return usagef("export: unknown --format %q; use dotenv, json or shell", o.format)
	}
	s, err := a.openRuntime(runtimeOptions{at: o.at})
	if err != nil {
		return err
	}
	defer s.Close()
	values, err := s.All()
	if err != nil {
		return err
	}
	out, err := versioning.FormatValues(o.format, values)
	if err != nil {
		return err
	}
	if err := a.auditRuntime(versioning.RevealExport, "export", s, s.Names()); err != nil {
		return err
	}
	_, err = a.stdout.Write(out)
	return err
}
