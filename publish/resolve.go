package publish

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/gitseal/gitseal/repo"
	"github.com/gitseal/gitseal/versioning"
)

// Where a runtime's commit came from, in the order they are tried.
const (
	FromRef      = "ref"              // an explicit ref: Options.Ref, --at
	FromEnvRef   = "GITSEAL_REF"      // the GITSEAL_REF variable
	FromPinFile  = "pin file"         // Options.PinFile, GITSEAL_PIN_FILE
	FromPin      = "pin"              // refs/gitseal/pins/<env>
	FromHead     = "HEAD"             // nothing pinned: the checked-out commit
	FromBundle   = "bundle"           // a bundle's commit
	envVarRef    = "GITSEAL_REF"      // overrides the pin
	envVarPin    = "GITSEAL_PIN_FILE" // a pin file written by publish --pin-file
	envVarEnv    = "GITSEAL_ENV"      // the environment
	envVarBundle = "GITSEAL_BUNDLE"   // a bundle to load instead of a repository
)

// ResolveOptions say how to pick the commit a runtime reads.
type ResolveOptions struct {
	// Env is the environment; "" means GITSEAL_ENV, then the pin file's,
	// then the store's default at HEAD.
	Env string
	// Ref is an explicit revision; it wins over everything else.
	Ref string
	// PinFile is a pin file; "" means GITSEAL_PIN_FILE.
	PinFile string
	// Getenv reads GITSEAL_REF, GITSEAL_PIN_FILE and GITSEAL_ENV; nil means
	// os.Getenv.
	Getenv func(string) string
}

// Resolution is the commit a runtime reads and why.
type Resolution struct {
	Env    string
	Commit repo.Hash
	// From is one of FromRef, FromEnvRef, FromPinFile, FromPin, FromHead.
	From string
	// StoreID, when a pin file was used, is the store it was written for.
	StoreID string
}

// Resolve picks the commit a runtime reads, in the order of DESIGN §5: an
// explicit ref, GITSEAL_REF, a pin file, the pin ref, then HEAD. It reads
// refs and committed objects only, never the working tree.
func Resolve(r *repo.Repo, o ResolveOptions) (Resolution, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	env := o.Env
	if env == "" {
		env = getenv(envVarEnv)
	}
	revFrom := func(rev, from string) (Resolution, error) {
		c, err := r.ResolveCommit(rev)
		if err != nil {
			if from == FromEnvRef {
				return Resolution{}, fmt.Errorf("GITSEAL_REF: %w", err)
			}
			return Resolution{}, err
		}
		res := Resolution{Env: env, Commit: c, From: from}
		if res.Env == "" {
			res.Env = defaultEnvAt(r, c)
		}
		return res, nil
	}
	if o.Ref != "" {
		return revFrom(o.Ref, FromRef)
	}
	if rev := getenv(envVarRef); rev != "" {
		return revFrom(rev, FromEnvRef)
	}
	pinFile := o.PinFile
	if pinFile == "" {
		pinFile = getenv(envVarPin)
	}
	if pinFile != "" {
		p, err := ReadPinFile(pinFile)
		if err != nil {
			return Resolution{}, err
		}
		if env != "" && env != p.Env {
			return Resolution{}, fmt.Errorf("pin file %s is for environment %s, not %s", pinFile, p.Env, env)
		}
		return Resolution{Env: p.Env, Commit: p.Commit, From: FromPinFile, StoreID: p.StoreID}, nil
	}
	head, err := r.Head()
	if err != nil {
		return Resolution{}, err
	}
	if env == "" {
		env = defaultEnvAt(r, head.Commit)
	}
	if err := validEnv(env); err != nil {
		return Resolution{}, err
	}
	pin, err := current(r, PinRef(env))
	if err != nil {
		return Resolution{}, fmt.Errorf("reading the pin of %s: %w", env, err)
	}
	if !pin.IsZero() {
		return Resolution{Env: env, Commit: pin, From: FromPin}, nil
	}
	if head.Commit.IsZero() {
		return Resolution{}, fmt.Errorf("%s is not published and HEAD has no commits yet: %w", env, versioning.ErrNoStore)
	}
	return Resolution{Env: env, Commit: head.Commit, From: FromHead}, nil
}

// defaultEnvAt is the store's default environment at c, or DefaultEnv when
// c has no readable store (the error comes later, from reading it).
func defaultEnvAt(r objectReader, c repo.Hash) string {
	if !c.IsZero() {
		if data, _, err := r.FileAt(c, versioning.StorePath); err == nil {
			if info, err := versioning.ParseStoreFile(data); err == nil {
				return info.DefaultEnv
			}
		}
	}
	return versioning.DefaultEnv
}

// ReadPinFile reads and parses a pin file.
func ReadPinFile(path string) (PinFile, error) {
	data, err := readSmall(path)
	if err != nil {
		return PinFile{}, fmt.Errorf("reading pin file: %w", err)
	}
	p, err := ParsePinFile(data)
	if err != nil {
		return PinFile{}, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// WritePinFile writes a pin file (mode 0644: it holds no secret).
func WritePinFile(path string, p PinFile) error {
	if err := os.WriteFile(path, p.Marshal(), 0o644); err != nil {
		return fmt.Errorf("writing pin file: %w", err)
	}
	return nil
}

func readSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, maxSmallFile+1)
	n, err := f.Read(buf)
	for err == nil && n < len(buf) {
		var m int
		m, err = f.Read(buf[n:])
		n += m
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return buf[:n], nil
}
