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
	i   int // index into the caller's ids
	p   *pack
	hdr entryHeader
}

// eachBlob holds the database lock throughout, so no pack is unmapped
// under the workers; they only read the mapped packs, each with its own
// inflater and buffer.
func (db *objectDB) eachBlob(hs []Hash, workers int, fn func(int, []byte) error) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	whole := make([]wholeEntry, 0, len(hs))
	var rest []int
	for i, h := range hs {
		e, ok, err := db.findWhole(h)
		if err != nil {
			return fmt.Errorf("reading blob %s: %w", h.short(), err)
		}
		if ok {
			e.i = i
			whole = append(whole, e)
		} else {
			rest = append(rest, i)
		}
	}
	if err := inflateAll(whole, workers, fn); err != nil {
		return err
	}
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
	return nil
}

// findWhole finds h as a whole blob entry of a mapped pack. ok is false
// when h is anything else (loose, deltified, not a blob, not found); the
// ordinary reader then deals with it.
func (db *objectDB) findWhole(h Hash) (wholeEntry, bool, error) {
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
			if err := p.open(); err != nil {
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

// wholeEntryFits applies inflatePacked's bounds checks before any worker
// starts, so that workers only meet errors in the data itself.
func wholeEntryFits(p *pack, hdr entryHeader) bool {
	end := int64(len(p.data)) - 20
	return hdr.dataOff < end && hdr.size <= (end-hdr.dataOff)*1032+64
}

// inflateAll inflates the entries with up to workers goroutines and hands
// each to fn.
func inflateAll(entries []wholeEntry, workers int, fn func(int, []byte) error) error {
	if len(entries) < parallelMin || workers < 2 {
		workers = 1
	}
	workers = min(workers, 8, len(entries))
	if workers <= 1 {
		return inflateRange(entries, fn, nil)
	}
	var stop atomic.Bool
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		lo, hi := len(entries)*w/workers, len(entries)*(w+1)/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[w] = inflateRange(entries[lo:hi], fn, &stop)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// inflateRange inflates entries one by one into one buffer, as large as the
// largest, and hands each to fn. It stops early when stop is set, and sets
// it when it fails.
func inflateRange(entries []wholeEntry, fn func(int, []byte) error, stop *atomic.Bool) error {
	var inf inflater
	var size int64
	for _, e := range entries {
		size = max(size, e.hdr.size)
	}
	buf := make([]byte, size)
	for _, e := range entries {
		if stop != nil && stop.Load() {
			return nil
		}
		z := e.p.data[e.hdr.dataOff : len(e.p.data)-20]
		data := buf[:e.hdr.size]
		var err error
		if !inf.quick.inflate(z, data) {
			inf.src.Reset(z)
			if err = inf.inflateInto(&inf.src, data); err != nil {
				err = fmt.Errorf("pack %s: entry at %d: %w", filepath.Base(e.p.packPath), e.hdr.off, err)
			}
		}
		if err == nil {
			err = fn(e.i, data)
		}
		if err != nil {
			if stop != nil {
				stop.Store(true)
			}
			return err
		}
	}
	return nil
}
