package repo

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
)

// Reading many blobs at once: the runtime's hot path is every secret of an
// environment, a thousand small blobs. Most are whole (not deltified)
// entries of a pack, and inflating them is most of the work; that part is
// spread over the machine's cores. Everything else, loose objects and
// delta chains, goes through the ordinary reader one by one.

// parallelMin is the fewest blobs worth starting goroutines for.
const parallelMin = 64

// ReadBlobs returns the contents of the blobs hs, in order. It fails when
// any id is missing or not a blob (as ReadBlob would) or a pack entry is
// damaged; when several are, which one the error names is not specified.
// The caller owns the returned slices.
func (r *Repo) ReadBlobs(hs []Hash) ([][]byte, error) {
	db, err := r.objects()
	if err != nil {
		return nil, fmt.Errorf("reading blobs: %w", err)
	}
	out, err := db.readBlobs(hs, runtime.GOMAXPROCS(0))
	if err != nil {
		if errors.Is(err, ErrObjectNotFound) && r.partialClone {
			return nil, fmt.Errorf("%w (partial clone: gitseal does not fetch missing objects)", err)
		}
		return nil, err
	}
	return out, nil
}

// wholeEntry is a pack entry that holds a blob as is.
type wholeEntry struct {
	i   int // index into the caller's ids
	p   *pack
	hdr entryHeader
}

// readBlobs holds the database lock throughout, so no pack is unmapped
// under the workers; they only read the mapped packs, each with its own
// inflater.
func (db *objectDB) readBlobs(hs []Hash, workers int) ([][]byte, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	out := make([][]byte, len(hs))
	whole := make([]wholeEntry, 0, len(hs))
	var rest []int
	for i, h := range hs {
		e, ok, err := db.findWhole(h)
		if err != nil {
			return nil, fmt.Errorf("reading blob %s: %w", h.short(), err)
		}
		if ok {
			e.i = i
			whole = append(whole, e)
		} else {
			rest = append(rest, i)
		}
	}
	// One allocation holds every whole blob, each slice capped at its own
	// end: a thousand separate ones cost a fresh process more in page
	// faults and allocator work than inflating them does.
	var total int64
	for _, e := range whole {
		total += e.hdr.size
	}
	slab := make([]byte, total)
	for _, e := range whole {
		out[e.i], slab = slab[:e.hdr.size:e.hdr.size], slab[e.hdr.size:]
	}
	if err := inflateAll(whole, out, workers); err != nil {
		return nil, err
	}
	for _, i := range rest {
		t, data, err := db.readLocked(hs[i])
		if err != nil {
			return nil, fmt.Errorf("reading object %s: %w", hs[i].short(), err)
		}
		if t != BlobObject {
			return nil, wrongType(hs[i], t, BlobObject)
		}
		out[i] = bytes.Clone(data) // data may be the cache's
	}
	return out, nil
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

// inflateAll inflates the entries into out with up to workers goroutines.
func inflateAll(entries []wholeEntry, out [][]byte, workers int) error {
	if len(entries) < parallelMin || workers < 2 {
		workers = 1
	}
	workers = min(workers, 8, len(entries))
	if workers <= 1 {
		var inf inflater
		return inflateRange(&inf, entries, out)
	}
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		lo, hi := len(entries)*w/workers, len(entries)*(w+1)/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			var inf inflater
			errs[w] = inflateRange(&inf, entries[lo:hi], out)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func inflateRange(inf *inflater, entries []wholeEntry, out [][]byte) error {
	for _, e := range entries {
		end := int64(len(e.p.data)) - 20
		inf.src.Reset(e.p.data[e.hdr.dataOff:end])
		if err := inf.inflateInto(&inf.src, out[e.i]); err != nil {
			return fmt.Errorf("pack %s: entry at %d: %w", filepath.Base(e.p.packPath), e.hdr.off, err)
		}
	}
	return nil
}
