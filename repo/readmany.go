package repo

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
)

// Reading many blobs at once: the runtime's hot path is every secret of an
// environment, a thousand small blobs. Most are whole (not deltified)
// entries of a pack, and inflating them is most of the work; that part is
// spread over the machine's cores. Everything else, loose objects and
// delta chains, goes through the ordinary reader one by one.

// parallelMin is the fewest blobs worth starting goroutines for.
const parallelMin = 64

// EachBlob calls fn(i, data) with the contents of the blob hs[i], once for
// every i, in no particular order and from several goroutines at once, so
// fn must be safe for concurrent use. data is only lent: it is valid until
// fn returns, and fn must neither change it nor keep it (copy what it
// needs). fn must not read from r either: the object database is locked
// while it runs. A missing id, an object that is not a blob (as ReadBlob
// would report them) or a damaged pack entry fails before or instead of
// the call for that blob; an error from fn stops the calls not yet
// started. Either is returned; when several occur, which one is not
// specified.
//
// Nothing is copied out: a caller that decrypts or parses each blob keeps
// only what it makes of it, which in a fresh process saves the page faults
// of holding every blob at once.
func (r *Repo) EachBlob(hs []Hash, fn func(i int, data []byte) error) error {
	db, err := r.objects()
	if err != nil {
		return fmt.Errorf("reading blobs: %w", err)
	}
	err = db.eachBlob(hs, runtime.GOMAXPROCS(0), fn)
	if errors.Is(err, ErrObjectNotFound) && r.partialClone {
		return fmt.Errorf("%w (partial clone: gitseal does not fetch missing objects)", err)
	}
	return err
}

// wholeEntry is a pack entry that holds a blob as is.
type wholeEntry struct {
	p   *pack
	hdr entryHeader
}

// eachBlob holds the database lock throughout, so no pack is unmapped
// under the workers. It lists the packs first; then each worker looks up
// its share of the ids in the mapped indexes (which only read them),
// inflates those that are whole blob entries with its own inflater and
// buffer, and leaves the rest (loose, deltified, not a blob, not found) to
// the ordinary reader, which goes through them one by one at the end.
func (db *objectDB) eachBlob(hs []Hash, workers int, fn func(int, []byte) error) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	for _, d := range db.dirs {
		if _, err := d.loadPacks(); err != nil {
			return fmt.Errorf("reading blobs: %w", err)
		}
	}
	if len(hs) < parallelMin || workers < 2 {
		workers = 1
	}
	workers = min(workers, 8)
	var stop atomic.Bool
	var openMu sync.Mutex // a pack is mapped the first time a worker needs it
	rests := make([][]int, workers)
	errs := make([]error, workers)
	read := func(w int) {
		lo, hi := len(hs)*w/workers, len(hs)*(w+1)/workers
		rests[w], errs[w] = db.readWhole(hs, lo, hi, fn, &stop, &openMu)
	}
	var wg sync.WaitGroup
	for w := 1; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			read(w)
		}()
	}
	read(0) // the caller's goroutine is a worker too
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, rest := range rests {
		for _, i := range rest {
			t, data, err := db.readLocked(hs[i])
			if err != nil {
				return fmt.Errorf("reading object %s: %w", hs[i].short(), err)
			}
			if t != BlobObject {
				return wrongType(hs[i], t, BlobObject)
			}
			if err := fn(i, data); err != nil { // data may be the cache's: lent only
				return err
			}
		}
	}
	return nil
}

// readWhole hands fn those of hs[lo:hi] that are whole blob entries of a
// mapped pack, inflated one by one into one buffer, and returns the indexes
// of the others. It stops early when stop is set, and sets it when it
// fails.
func (db *objectDB) readWhole(hs []Hash, lo, hi int, fn func(int, []byte) error, stop *atomic.Bool, openMu *sync.Mutex) ([]int, error) {
	var rest []int
	var inf inflater
	var buf []byte
	fail := func(err error) ([]int, error) {
		stop.Store(true)
		return nil, err
	}
	for i := lo; i < hi; i++ {
		if stop.Load() {
			return nil, nil
		}
		e, ok, err := db.findWhole(hs[i], openMu)
		if err != nil {
			return fail(fmt.Errorf("reading blob %s: %w", hs[i].short(), err))
		}
		if !ok {
			rest = append(rest, i)
			continue
		}
		if int64(len(buf)) < e.hdr.size {
			buf = make([]byte, e.hdr.size)
		}
		data := buf[:e.hdr.size]
		z := e.p.data[e.hdr.dataOff : len(e.p.data)-20]
		if !inf.quick.inflate(z, data) {
			inf.src.Reset(z)
			if err := inf.inflateInto(&inf.src, data); err != nil {
				return fail(fmt.Errorf("pack %s: entry at %d: %w", filepath.Base(e.p.packPath), e.hdr.off, err))
			}
		}
		if err := fn(i, data); err != nil {
			return fail(err)
		}
	}
	return rest, nil
}

// findWhole finds h as a whole blob entry of a pack, mapping the pack if
// need be (under openMu, when several goroutines look at once). ok is
// false when h is anything else (loose, deltified, not a blob, not found);
// the ordinary reader then deals with it. Goroutines looking at once must
// have listed the packs first (loadPacks then only reads).
func (db *objectDB) findWhole(h Hash, openMu *sync.Mutex) (wholeEntry, bool, error) {
	for _, d := range db.dirs {
		packs, err := d.loadPacks()
		if err != nil {
			return wholeEntry{}, false, err
		}
		for _, p := range packs {
			off, found, err := p.idx.find(h)
			if err != nil {
				return wholeEntry{}, false, err
			}
			if !found {
				continue
			}
			if openMu != nil {
				openMu.Lock()
			}
			err = p.open()
			if openMu != nil {
				openMu.Unlock()
			}
			if err != nil {
				return wholeEntry{}, false, nil // gone: the ordinary reader rescans
			}
			hdr, err := p.readEntryHeader(off)
			if err != nil || hdr.typ != int(BlobObject) || !wholeEntryFits(p, hdr) {
				return wholeEntry{}, false, nil // the ordinary reader reports it
			}
			return wholeEntry{p: p, hdr: hdr}, true, nil
		}
	}
	return wholeEntry{}, false, nil
}

// wholeEntryFits applies inflatePacked's bounds checks before the entry is
// inflated, so that only errors in the data itself are met there.
func wholeEntryFits(p *pack, hdr entryHeader) bool {
	end := int64(len(p.data)) - 20
	return hdr.dataOff < end && hdr.size <= (end-hdr.dataOff)*1032+64
}
