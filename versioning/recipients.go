package versioning

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/gitseal/gitseal/cipher"
	"github.com/gitseal/gitseal/repo"
)

// Who may read an environment: the recipients file lists public keys, and
// datakey.age wraps the data key for each of them. Adding a recipient wraps
// the same data key once more (nothing else changes, so it is cheap and every
// older commit sealed under that key becomes readable to them too); removing
// one re-keys the environment (rotate.go) and reports what they could read.

// HasPassphrase reports whether the environment has a passphrase recipient
// (datakey.scrypt.age).
func (e *Env) HasPassphrase() bool { return e.hasPassphrase() }

// RecipientAdd wraps env's data key for rs as well, in one commit. Keys that
// are already recipients are skipped; added lists the others. When none is
// new, no commit is made.
func (s *Store) RecipientAdd(ctx context.Context, env string, rs []cipher.Recipient, w WriteOptions) (res Result, added []cipher.Recipient, err error) {
	if len(rs) == 0 {
		return Result{}, nil, fmt.Errorf("recipient add: no keys given: %w", ErrInvalid)
	}
	res, err = s.mutate(ctx, env, w, func(t *tx) (string, error) {
		cur, err := t.env.Recipients()
		if err != nil {
			return "", err
		}
		have := map[string]bool{}
		for _, r := range cur {
			have[r.Key] = true
		}
		for _, r := range rs {
			if !have[r.Key] {
				have[r.Key] = true
				added = append(added, r)
			}
		}
		if len(added) == 0 {
			return "", nil
		}
		dk, err := t.env.DataKey()
		if err != nil {
			return "", err
		}
		all := append(cur, added...)
		wrapped, err := cipher.WrapDataKey(dk, all)
		if err != nil {
			return "", fmt.Errorf("recipient add: wrapping the data key: %w", err)
		}
		t.put(recipientsPath(t.env.name), cipher.FormatRecipients(all))
		t.put(dataKeyPath(t.env.name), wrapped)
		msg := message("recipient-add", fmt.Sprintf("recipient add %s: %s", t.env.name, describeRecipients(added)), t.env.name, "")
		for _, r := range added {
			msg += "Gitseal-Recipient: " + r.Fingerprint() + "\n"
		}
		return msg, nil
	})
	if err != nil {
		return Result{}, nil, err
	}
	return res, added, nil
}

func describeRecipients(rs []cipher.Recipient) string {
	var parts []string
	for _, r := range rs {
		if r.Name != "" {
			parts = append(parts, r.Name+" ("+r.Fingerprint()+")")
		} else {
			parts = append(parts, r.Fingerprint())
		}
	}
	return strings.Join(parts, ", ")
}

// RecipientAddPassphrase wraps env's data key with passphrase (age scrypt) in
// datakey.scrypt.age, in one commit, so that GITSEAL_PASSPHRASE can unlock
// it. An existing passphrase recipient is replaced; the old file stays in
// history and still opens the data key of its time.
func (s *Store) RecipientAddPassphrase(ctx context.Context, env, passphrase string, w WriteOptions) (Result, error) {
	if passphrase == "" {
		return Result{}, fmt.Errorf("recipient add --passphrase: the passphrase is empty: %w", ErrInvalid)
	}
	return s.mutate(ctx, env, w, func(t *tx) (string, error) {
		dk, err := t.env.DataKey()
		if err != nil {
			return "", err
		}
		wrapped, err := cipher.WrapDataKeyPassphrase(dk, passphrase)
		if err != nil {
			return "", fmt.Errorf("recipient add --passphrase: %w", err)
		}
		t.put(passphrasePath(t.env.name), wrapped)
		return message("recipient-add", "recipient add "+t.env.name+": passphrase", t.env.name, ""), nil
	})
}

// MatchRecipient finds the one recipient of rs that query names: its key,
// its fingerprint, or its name. The error wraps ErrNotFound when none
// matches, ErrInvalid when a name matches several.
func MatchRecipient(rs []cipher.Recipient, query string) (cipher.Recipient, error) {
	q := strings.TrimSpace(query)
	if p, err := cipher.ParseRecipient(q); err == nil {
		q = p.Key
	}
	var byName []cipher.Recipient
	for _, r := range rs {
		if r.Key == q || r.Fingerprint() == q {
			return r, nil
		}
		if r.Name != "" && r.Name == q {
			byName = append(byName, r)
		}
	}
	switch len(byName) {
	case 1:
		return byName[0], nil
	case 0:
		return cipher.Recipient{}, fmt.Errorf("no recipient matches %q by key, fingerprint or name; `gitseal recipient ls` lists them: %w", shortQuery(query), ErrNotFound)
	}
	var fps []string
	for _, r := range byName {
		fps = append(fps, r.Fingerprint())
	}
	return cipher.Recipient{}, fmt.Errorf("%d recipients are named %q (%s); name one by fingerprint: %w", len(byName), q, strings.Join(fps, ", "), ErrInvalid)
}

// shortQuery keeps an error short when a whole key was given.
func shortQuery(q string) string {
	if len(q) > 40 {
		return q[:37] + "..."
	}
	return q
}

// Exposure is one secret or named key a removed recipient could read.
type Exposure struct {
	// Kind is ItemSecret or ItemKey.
	Kind string
	Name string
	// First and Last are the oldest and newest commits (among those that
	// changed the environment) at which the recipient could read it.
	First, Last repo.Hash
	// Versions is how many distinct versions of it they could read.
	Versions int
	// Status says whether the value they could last read is still in use:
	// "unchanged" (the credential must be changed now), "changed" (changed
	// since they lost access), "removed" (no longer in the store; change it
	// wherever it is still valid) or "unknown" (you cannot decrypt it).
	Status string
}

// Exposure statuses.
const (
	ExposureUnchanged = "unchanged"
	ExposureChanged   = "changed"
	ExposureRemoved   = "removed"
	ExposureUnknown   = "unknown"
)

// RevocationReport is what a removed recipient could read before removal:
// re-keying locks them out of everything committed afterwards, but what they
// could decrypt before stays in git history, and those credentials must be
// changed at their source.
type RevocationReport struct {
	Env       string
	Recipient cipher.Recipient
	// Passphrase reports that the removed recipient was the passphrase.
	Passphrase bool
	// Commit is the commit that removed them.
	Commit  repo.Hash
	Exposed []Exposure
	// Unverified counts states of the environment whose data key you could
	// not unwrap; they were judged by the recipients file alone.
	Unverified int
}

// exposure walks every state of e's environment reachable from its commit
// (each commit that changed the environment's directory) and collects what a
// reader for whom listed returns true could decrypt. A state is readable when
// the reader was listed, or when its data key equals one of the data keys of
// the states where they were: adding a recipient re-wraps the same key, so
// they can also read what was sealed under it before they were added.
func (e *Env) exposure(listed func(c repo.Hash) (bool, error), rep *RevocationReport) error {
	s := e.sn.store
	r := s.repo
	type state struct {
		c      repo.Hash
		listed bool
		dk     *cipher.DataKey
	}
	var states []state
	cache := keyCache{}
	err := r.PathLog(e.sn.commit, envDir(e.name), func(c *repo.Commit, entry repo.Hash) error {
		if entry.IsZero() {
			return nil // the environment was removed here
		}
		if _, err := r.TreeEntryAt(c.Hash, dataKeyPath(e.name)); err != nil {
			return nil
		}
		ok, err := listed(c.Hash)
		if err != nil {
			return err
		}
		st := state{c: c.Hash, listed: ok}
		if dk, err := s.dataKeyAt(c.Hash, e.name, cache); err == nil {
			st.dk = dk
		}
		states = append(states, st)
		return nil
	})
	if err != nil {
		return err
	}
	var keys []*cipher.DataKey
	for _, st := range states {
		if st.listed && st.dk != nil {
			keys = append(keys, st.dk)
		}
	}
	readable := func(st state) bool {
		if st.listed {
			return true
		}
		for _, k := range keys {
			if st.dk != nil && st.dk.Equal(k) {
				return true
			}
		}
		return false
	}
	type seen struct {
		exp   Exposure
		blob  repo.Hash // newest readable version
		blobs map[repo.Hash]bool
	}
	found := map[string]*seen{}
	for _, st := range states { // newest first
		if !readable(st) {
			continue
		}
		if st.dk == nil {
			rep.Unverified++
		}
		for _, kind := range []string{ItemSecret, ItemKey} {
			dir := secretsDir(e.name)
			if kind == ItemKey {
				dir = keysDir(e.name)
			}
			entries, err := r.DirAt(st.c, dir)
			if isNotFound(err) {
				continue
			}
			if err != nil {
				return err
			}
			for _, ent := range entries {
				if ent.Mode != repo.ModeFile || cipher.ValidName(ent.Name) != nil {
					continue
				}
				id := kind + "/" + ent.Name
				x := found[id]
				if x == nil {
					x = &seen{exp: Exposure{Kind: kind, Name: ent.Name, Last: st.c}, blob: ent.Hash, blobs: map[repo.Hash]bool{}}
					found[id] = x
				}
				x.exp.First = st.c
				x.blobs[ent.Hash] = true
			}
		}
	}
	for _, x := range found {
		x.exp.Versions = len(x.blobs)
		x.exp.Status = e.exposureStatus(x.exp, x.blob, cache)
		rep.Exposed = append(rep.Exposed, x.exp)
	}
	sort.Slice(rep.Exposed, func(i, j int) bool {
		a, b := rep.Exposed[i], rep.Exposed[j]
		if a.Kind != b.Kind {
			return a.Kind == ItemSecret
		}
		return a.Name < b.Name
	})
	return nil
}

// exposureStatus compares the version last readable (blob at x.Last) with
// what e holds now.
func (e *Env) exposureStatus(x Exposure, blob repo.Hash, cache keyCache) string {
	s := e.sn.store
	p, kind := secretPath(e.name, x.Name), cipher.KindSecret
	if x.Kind == ItemKey {
		p, kind = keyPath(e.name, x.Name), cipher.KindKeyring
	}
	ent, err := s.repo.TreeEntryAt(e.sn.commit, p)
	if isNotFound(err) {
		return ExposureRemoved
	}
	if err != nil {
		return ExposureUnknown
	}
	if ent.Hash == blob {
		return ExposureUnchanged
	}
	then, err := s.openBlob(x.Last, e.name, kind, x.Name, blob, cache)
	if err != nil {
		return ExposureUnknown
	}
	now, err := s.openBlob(e.sn.commit, e.name, kind, x.Name, ent.Hash, cache)
	if err != nil {
		return ExposureUnknown
	}
	if kind == cipher.KindKeyring {
		// A keyring that gained a version still holds the old ones: what
		// they read is still in use unless it was purged.
		return keyringStatus(then, now)
	}
	if bytes.Equal(then, now) {
		return ExposureUnchanged
	}
	return ExposureChanged
}

// keyringStatus reports whether any key version readable then is still held
// now (marshalled keyrings, compared version by version).
func keyringStatus(then, now []byte) string {
	kt, err1 := cipher.UnmarshalKeyring(then)
	kn, err2 := cipher.UnmarshalKeyring(now)
	if err1 != nil || err2 != nil {
		return ExposureUnknown
	}
	if kt.Export() == kn.Export() {
		return ExposureUnchanged
	}
	for _, v := range kn.Versions() {
		for _, w := range kt.Versions() {
			if v.Version == w.Version && v.Created.Equal(w.Created) && v.Bits == w.Bits {
				return ExposureUnchanged
			}
		}
	}
	return ExposureChanged
}

// RecipientRemove removes the recipient that query names (key, fingerprint
// or name; see MatchRecipient) from env and re-keys the environment in one
// commit, so that they cannot read anything committed afterwards. The report
// lists every secret and key they could read before, and whether each is
// still in use: the credentials to change.
func (s *Store) RecipientRemove(ctx context.Context, env, query string, opts RekeyOptions) (Result, *RevocationReport, error) {
	var rep *RevocationReport
	res, err := s.mutate(ctx, env, opts.WriteOptions, func(t *tx) (string, error) {
		cur, err := t.env.Recipients()
		if err != nil {
			return "", err
		}
		victim, err := MatchRecipient(cur, query)
		if err != nil {
			return "", fmt.Errorf("recipient rm from %s: %w", t.env.name, err)
		}
		var keep []cipher.Recipient
		for _, r := range cur {
			if r.Key != victim.Key {
				keep = append(keep, r)
			}
		}
		if len(keep) == 0 {
			return "", fmt.Errorf("recipient rm: %s is the only recipient of %s; add another first (`gitseal recipient add KEY`): %w", victim.Fingerprint(), t.env.name, ErrRefused)
		}
		rep = &RevocationReport{Env: t.env.name, Recipient: victim}
		recips := map[repo.Hash]bool{}
		listed := func(c repo.Hash) (bool, error) {
			data, blob, err := s.repo.FileAt(c, recipientsPath(t.env.name))
			if isNotFound(err) {
				return false, nil
			}
			if err != nil {
				return false, err
			}
			if v, ok := recips[blob]; ok {
				return v, nil
			}
			rs, err := cipher.ParseRecipients(data)
			in := false
			for _, r := range rs {
				in = in || r.Key == victim.Key
			}
			if err != nil {
				// A damaged file in history: assume the worst.
				in = true
			}
			recips[blob] = in
			return in, nil
		}
		if err := t.env.exposure(listed, rep); err != nil {
			return "", err
		}
		if err := t.rekey(keep, opts.Progress, false); err != nil {
			return "", err
		}
		msg := message("recipient-rm", fmt.Sprintf("recipient rm %s: %s", t.env.name, describeRecipients([]cipher.Recipient{victim})), t.env.name, "")
		return msg + "Gitseal-Recipient: " + victim.Fingerprint() + "\n", nil
	})
	if err != nil {
		return Result{}, nil, err
	}
	rep.Commit = res.Commit
	return res, rep, nil
}

// RecipientRemovePassphrase removes env's passphrase recipient and re-keys
// the environment, as RecipientRemove does for a key, with the same report.
func (s *Store) RecipientRemovePassphrase(ctx context.Context, env string, opts RekeyOptions) (Result, *RevocationReport, error) {
	var rep *RevocationReport
	res, err := s.mutate(ctx, env, opts.WriteOptions, func(t *tx) (string, error) {
		if !t.env.hasPassphrase() {
			return "", fmt.Errorf("recipient rm --passphrase: %s has no passphrase recipient: %w", t.env.name, ErrNotFound)
		}
		rep = &RevocationReport{Env: t.env.name, Passphrase: true}
		listed := func(c repo.Hash) (bool, error) {
			_, err := s.repo.TreeEntryAt(c, passphrasePath(t.env.name))
			return err == nil, nil
		}
		if err := t.env.exposure(listed, rep); err != nil {
			return "", err
		}
		rs, err := t.env.Recipients()
		if err != nil {
			return "", err
		}
		if err := t.rekey(rs, opts.Progress, true); err != nil {
			return "", err
		}
		return message("recipient-rm", "recipient rm "+t.env.name+": passphrase", t.env.name, ""), nil
	})
	if err != nil {
		return Result{}, nil, err
	}
	rep.Commit = res.Commit
	return res, rep, nil
}
