package repo

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sync"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// fallbackDB is the reference the flat reader is tested against: it reads
// objects through go-git's filesystem storage, one storage
// per object directory (the repository's, then each alternate's: go-git
// resolves relative alternates against its filesystem root rather than the
// objects directory, so the chain is walked here). It decodes every pack
// index on first use. It is test-only: linked into gitseal, its package
// initialisation cost every process about 0.5 ms, and the flat reader reads
// every pack and index version git writes (a pack it does not know is
// refused with a hint to repack).
type fallbackDB struct {
	stores []*filesystem.Storage
}

// newFallbackDB opens go-git storage for each objects directory given.
func newFallbackDB(objectDirs []string) *fallbackDB {
	fb := &fallbackDB{}
	for _, od := range objectDirs {
		// go-git's storage is rooted at the directory holding "objects".
		fs := osfs.New(filepath.Dir(od), osfs.WithBoundOS())
		st := filesystem.NewStorageWithOptions(fs, cache.NewObjectLRU(16*cache.MiByte),
			filesystem.Options{KeepDescriptors: true, AlternatesFS: osfs.New("/", osfs.WithBoundOS())})
		fb.stores = append(fb.stores, st)
	}
	return fb
}

func (fb *fallbackDB) read(h Hash) (ObjectType, []byte, error) {
	for _, st := range fb.stores {
		o, err := st.EncodedObject(plumbing.AnyObject, plumbing.Hash(h))
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			continue
		}
		if err != nil {
			return 0, nil, err
		}
		t, err := fromPlumbingType(o.Type())
		if err != nil {
			return 0, nil, err
		}
		rd, err := o.Reader()
		if err != nil {
			return 0, nil, err
		}
		data, err := io.ReadAll(rd)
		rd.Close()
		if err != nil {
			return 0, nil, err
		}
		return t, data, nil
	}
	return 0, nil, ErrObjectNotFound
}

func fromPlumbingType(t plumbing.ObjectType) (ObjectType, error) {
	switch t {
	case plumbing.CommitObject:
		return CommitObject, nil
	case plumbing.TreeObject:
		return TreeObject, nil
	case plumbing.BlobObject:
		return BlobObject, nil
	case plumbing.TagObject:
		return TagObject, nil
	}
	return 0, fmt.Errorf("unexpected object type %v", t)
}

func (fb *fallbackDB) close() error {
	var first error
	for _, st := range fb.stores {
		if err := st.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

var (
	fallbackMu sync.Mutex
	fallbacks  = map[*objectDB]*fallbackDB{}
)

// fallback returns the go-git reader for db's object directories.
func (db *objectDB) fallback() *fallbackDB {
	fallbackMu.Lock()
	defer fallbackMu.Unlock()
	if fb := fallbacks[db]; fb != nil {
		return fb
	}
	paths := make([]string, len(db.dirs))
	for i, d := range db.dirs {
		paths[i] = d.path
	}
	fb := newFallbackDB(paths)
	fallbacks[db] = fb
	return fb
}
