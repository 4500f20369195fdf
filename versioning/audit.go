package versioning

// The audit log (DESIGN §7): every time a value is revealed to a person, an
// event is appended to refs/gitseal/audit before the value is shown.
//
// Invariants:
//
//   - The log is a chain of commits on AuditRef. An entry commit has at most
//     one parent and a tree holding exactly one file, event.json, the
//     event's canonical bytes. A merge entry (made when two clones' logs are
//     joined) has exactly two parents and the empty tree. Nothing else is
//     accepted by VerifyAudit.
//   - An event never holds a value: only names, the commit read, who, where
//     and when. Its bytes are canonical (re-encoding a parsed event gives the
//     same bytes), so an edited event is a form error, not a new meaning.
//   - Each clone remembers, in <common git dir>/gitseal/audit-seen, the
//     newest entry it wrote or saw. A log that no longer contains that entry
//     was rewritten or truncated: VerifyAudit reports it and the file is not
//     moved, so the report repeats until someone looks.
//
// # Format
//
// event.json is one line of JSON followed by "\n", the fields in this order:
//
//	{"format":"gitseal-audit/v1","action":"get","command":"get",
//	 "store":"<32 hex>","env":"production","secrets":["DB_PASSWORD"],"keys":[],
//	 "commit":"<40 hex>","who":"Ann <ann@example.com>","user":"ann",
//	 "host":"laptop","time":"2025-01-02T03:04:05Z"}
//
// action is one of get, export, key-export, history-reveal, diff-reveal, run; command is
// the gitseal command line's verbs (never its arguments, which may hold
// anything a person typed); secrets and keys are sorted, unique, valid names
// (possibly empty); time is UTC with whole seconds. HTML characters are not
// escaped. The commit message is "gitseal: audit ACTION ENV/NAMES" with the
// trailer "Gitseal-Action: audit".
//
// Security: the log records reveals made through gitseal by people who
// cooperate with it. Anyone who can read the repository and holds a key can
// decrypt with age directly, and anyone who can push can append well-formed
// entries. What the log does guarantee is that an entry this clone has seen
// cannot be removed or changed without `audit verify` noticing.

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/gitseal/gitseal/cipher"
	"github.com/gitseal/gitseal/repo"
)

// AuditRef is the ref that holds the audit log.
const AuditRef = "refs/gitseal/audit"

const (
	auditFormat   = "gitseal-audit/v1"
	auditFile     = "event.json"
	auditSeenFile = "audit-seen" // in <common dir>/gitseal/
	maxAuditEvent = 64 << 10
	// auditAppendTries bounds the compare-and-swap retries of an append
	// racing other appenders.
	auditAppendTries = 20
	// AuditNotifyKey is the git config key naming the notification command.
	AuditNotifyKey = "gitseal.auditNotify"
)

// Reveal actions recorded in the audit log.
const (
	RevealGet       = "get"
	RevealExport    = "export"
	RevealKeyExport = "key-export"
	RevealHistory   = "history-reveal"
	RevealRun       = "run"
	RevealDiff      = "diff-reveal"
)

var revealActions = map[string]bool{RevealGet: true, RevealExport: true, RevealKeyExport: true, RevealHistory: true, RevealRun: true, RevealDiff: true}

// AuditEvent is one reveal.
type AuditEvent struct {
	// Action is one of the Reveal* constants.
	Action string
	// Command is the gitseal command's verbs ("get", "key export"); never
	// its arguments.
	Command string
	// Store is the store id at Commit.
	Store string
	// Env is the environment read.
	Env string
	// Secrets and Keys are the names revealed (sorted and deduplicated when
	// recorded).
	Secrets []string
	Keys    []string
	// Commit is the commit the values were read at.
	Commit repo.Hash
	// Who is the git identity ("Name <email>"); when none is configured, the
	// login name at the host name, as git's reflog would write it.
	Who string
	// User is the operating system's login name.
	User string
	// Host is the machine's host name.
	Host string
	// Time is when the reveal was recorded, whole seconds, UTC.
	Time time.Time
}

// auditWire is the JSON form; its field order is the canonical order.
type auditWire struct {
	Format  string   `json:"format"`
	Action  string   `json:"action"`
	Command string   `json:"command"`
	Store   string   `json:"store"`
	Env     string   `json:"env"`
	Secrets []string `json:"secrets"`
	Keys    []string `json:"keys"`
	Commit  string   `json:"commit"`
	Who     string   `json:"who"`
	User    string   `json:"user"`
	Host    string   `json:"host"`
	Time    string   `json:"time"`
}

// Marshal returns the event's canonical bytes (the Format section above).
func (ev AuditEvent) Marshal() []byte {
	w := auditWire{
		Format: auditFormat, Action: ev.Action, Command: ev.Command, Store: ev.Store, Env: ev.Env,
		Secrets: nonNil(ev.Secrets), Keys: nonNil(ev.Keys), Commit: ev.Commit.String(),
		Who: ev.Who, User: ev.User, Host: ev.Host, Time: ev.Time.UTC().Format(time.RFC3339),
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(w) // cannot fail: strings and slices of strings only
	return b.Bytes()
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// ParseAuditEvent parses what Marshal wrote; anything else (another field
// order, unknown fields, invalid names, non-canonical spacing) is an error.
func ParseAuditEvent(data []byte) (AuditEvent, error) {
	if len(data) > maxAuditEvent {
		return AuditEvent{}, fmt.Errorf("reading audit event: larger than %d bytes", maxAuditEvent)
	}
	var w auditWire
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return AuditEvent{}, fmt.Errorf("reading audit event: not valid JSON of the expected shape")
	}
	if w.Format != auditFormat {
		if strings.HasPrefix(w.Format, "gitseal-audit/") {
			return AuditEvent{}, fmt.Errorf("reading audit event: format %q: %w", clipText(w.Format), cipher.ErrUnknownVersion)
		}
		return AuditEvent{}, errors.New("reading audit event: not a gitseal audit event")
	}
	ev := AuditEvent{Action: w.Action, Command: w.Command, Store: w.Store, Env: w.Env,
		Secrets: w.Secrets, Keys: w.Keys, Who: w.Who, User: w.User, Host: w.Host}
	var err error
	if ev.Commit, err = repo.ParseHash(w.Commit); err != nil {
		return AuditEvent{}, errors.New("reading audit event: commit is not a 40-digit object id")
	}
	if ev.Time, err = time.Parse(time.RFC3339, w.Time); err != nil {
		return AuditEvent{}, errors.New("reading audit event: time is not RFC 3339")
	}
	if err := ev.check(); err != nil {
		return AuditEvent{}, fmt.Errorf("reading audit event: %w", err)
	}
	if !bytes.Equal(ev.Marshal(), data) {
		return AuditEvent{}, errors.New("reading audit event: not in canonical form")
	}
	return ev, nil
}

// check validates the fields every event must have.
func (ev AuditEvent) check() error {
	if !revealActions[ev.Action] {
		return fmt.Errorf("unknown action %q", clipText(ev.Action))
	}
	if ev.Command == "" || !printableText(ev.Command) {
		return errors.New("command is empty or not printable")
	}
	if b, err := hex.DecodeString(ev.Store); err != nil || len(b) != 16 || strings.ToLower(ev.Store) != ev.Store {
		return errors.New("store is not 32 lowercase hex digits")
	}
	if err := validEnv(ev.Env); err != nil {
		return err
	}
	for _, list := range [][]string{ev.Secrets, ev.Keys} {
		for i, n := range list {
			if err := cipher.ValidName(n); err != nil {
				return fmt.Errorf("name: %w", err)
			}
			if i > 0 && list[i-1] >= n {
				return errors.New("names are not sorted and unique")
			}
		}
	}
	if ev.Commit.IsZero() {
		return errors.New("no commit")
	}
	for what, s := range map[string]string{"who": ev.Who, "user": ev.User, "host": ev.Host} {
		if s == "" || !printableText(s) {
			return fmt.Errorf("%s is empty or not printable", what)
		}
	}
	return nil
}

func printableText(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return len(s) <= 512
}

func clipText(s string) string {
	if len(s) > 40 || !printableText(s) {
		return fmt.Sprintf("(%d bytes)", len(s))
	}
	return s
}

// AuditEntry is one event as found in the log.
type AuditEntry struct {
	AuditEvent
	// Entry is the commit on AuditRef that holds the event.
	Entry repo.Hash
	// Raw is the event's bytes, as stored (and as given to the notify command).
	Raw []byte
}

func sortedUnique(names []string) []string {
	out := append([]string(nil), names...)
	sort.Strings(out)
	n := 0
	for i, s := range out {
		if i == 0 || s != out[n-1] {
			out[n] = s
			n++
		}
	}
	return out[:n]
}

// RecordReveal appends ev to the audit log and returns the entry. Who,
// User, Host and Time are filled in when empty; Store is read from Commit
// when empty. The caller shows the values only after this succeeds.
func (s *Store) RecordReveal(ctx context.Context, ev AuditEvent) (AuditEntry, error) {
	r := s.repo
	ev.Secrets, ev.Keys = sortedUnique(ev.Secrets), sortedUnique(ev.Keys)
	if ev.Time.IsZero() {
		ev.Time = s.now()
	}
	ev.Time = ev.Time.UTC().Truncate(time.Second)
	who, err := r.Signature("committer", ev.Time)
	if err != nil {
		// An audit entry with a made-up identity beats a refusal to record;
		// git's reflog makes the same choice.
		who = loginIdent(ev.Time)
	}
	who.When = ev.Time
	if ev.Who == "" {
		ev.Who = who.Name + " <" + who.Email + ">"
	}
	if ev.User == "" {
		ev.User = loginName()
	}
	if ev.Host == "" {
		ev.Host = hostName()
	}
	if ev.Store == "" && !ev.Commit.IsZero() {
		sn, err := s.SnapshotAt(ev.Commit)
		if err != nil {
			return AuditEntry{}, fmt.Errorf("recording the reveal: %w", err)
		}
		ev.Store = sn.StoreID()
	}
	if err := ev.check(); err != nil {
		return AuditEntry{}, fmt.Errorf("recording the reveal: %w", err)
	}
	raw := ev.Marshal()
	blob, err := r.WriteBlob(raw)
	if err != nil {
		return AuditEntry{}, fmt.Errorf("recording the reveal: %w", err)
	}
	tree, err := r.WriteTree([]repo.TreeEntry{{Name: auditFile, Mode: repo.ModeFile, Hash: blob}})
	if err != nil {
		return AuditEntry{}, fmt.Errorf("recording the reveal: %w", err)
	}
	msg := auditMessage(ev)
	for try := 0; ; try++ {
		if err := ctx.Err(); err != nil {
			return AuditEntry{}, fmt.Errorf("recording the reveal: %w", err)
		}
		tip, err := auditTip(r)
		if err != nil {
			return AuditEntry{}, fmt.Errorf("recording the reveal: %w", err)
		}
		var parents []repo.Hash
		if !tip.IsZero() {
			parents = []repo.Hash{tip}
		}
		c, err := r.WriteCommit(repo.CommitSpec{Tree: tree, Parents: parents, Author: who, Committer: who, Message: msg})
		if err != nil {
			return AuditEntry{}, fmt.Errorf("recording the reveal: %w", err)
		}
		err = r.UpdateRef(AuditRef, c, tip, "gitseal: audit "+ev.Action)
		if errors.Is(err, repo.ErrRefChanged) && try < auditAppendTries {
			continue // another reveal was recorded meanwhile; go on top of it
		}
		if err != nil {
			return AuditEntry{}, fmt.Errorf("recording the reveal: %w", err)
		}
		s.advanceSeen(tip, c)
		return AuditEntry{AuditEvent: ev, Entry: c, Raw: raw}, nil
	}
}

func auditMessage(ev AuditEvent) string {
	names := append(append([]string(nil), ev.Secrets...), ev.Keys...)
	what := ev.Env
	switch {
	case len(names) == 1:
		what += "/" + names[0]
	case len(names) <= 3:
		what += "/{" + strings.Join(names, ",") + "}"
	default:
		what += fmt.Sprintf(" (%d names)", len(names))
	}
	return "gitseal: audit " + ev.Action + " " + what + "\n\nGitseal-Action: audit\nGitseal-Reveal: " + ev.Action + "\n"
}

// loginName is the name of the user id running gitseal, from the password
// database: unlike $USER, the one field of an event the environment cannot
// set. $USER or $LOGNAME only when the database has no entry (a container
// running as a bare uid).
func loginName() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	for _, k := range []string{"USER", "LOGNAME"} {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	return "unknown"
}

func hostName() string {
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "localhost"
}

func loginIdent(now time.Time) repo.Signature {
	name := loginName()
	return repo.Signature{Name: name, Email: name + "@" + hostName(), When: now}
}

func auditTip(r *repo.Repo) (repo.Hash, error) {
	h, err := r.Ref(AuditRef)
	if errors.Is(err, repo.ErrRefNotFound) {
		return repo.ZeroHash, nil
	}
	return h, err
}

// seenPath is where this clone remembers the newest entry it wrote or saw.
func (s *Store) seenPath() string {
	return filepath.Join(s.repo.CommonDir(), "gitseal", auditSeenFile)
}

// The seen file is append-only: every entry the clone moves its anchor to
// is one more line, and the last line that is an object id is the anchor.
// An append costs far less than writing a new file and renaming it over
// the old (a reveal pays for it every time). A line torn by a crash is
// skipped, so the anchor can only lag; each append starts with a newline,
// so a torn line never runs into the next. Past seenCompactAt bytes the
// file is rewritten to its last line.
const seenCompactAt = 64 << 10

func (s *Store) readSeen() (repo.Hash, error) {
	b, err := os.ReadFile(s.seenPath())
	if errors.Is(err, fs.ErrNotExist) {
		return repo.ZeroHash, nil
	}
	if err != nil {
		return repo.ZeroHash, fmt.Errorf("reading %s: %w", s.seenPath(), err)
	}
	h, ok := lastSeen(b)
	if !ok {
		return repo.ZeroHash, fmt.Errorf("reading %s: not an object id; it was damaged (delete it to trust the log as it is now)", s.seenPath())
	}
	return h, nil
}

// lastSeen is the last line of a seen file that is an object id; an empty
// file has none and is not damaged.
func lastSeen(b []byte) (repo.Hash, bool) {
	lines := strings.Split(string(b), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if h, err := repo.ParseHash(strings.TrimSpace(lines[i])); err == nil {
			return h, true
		}
	}
	return repo.ZeroHash, strings.TrimSpace(string(b)) == ""
}

func (s *Store) writeSeen(h repo.Hash) error {
	p := s.seenPath()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if fi, err := os.Stat(p); err == nil && fi.Size() < seenCompactAt {
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		_, err = f.WriteString("\n" + h.String() + "\n")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	}
	tmp := fmt.Sprintf("%s.tmp%d", p, os.Getpid())
	if err := os.WriteFile(tmp, []byte(h.String()+"\n"), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, p); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// advanceSeen moves the remembered entry to newTip when the log up to
// oldTip still contains it. Failures are ignored: the anchor only ever
// lags, which weakens nothing already recorded.
func (s *Store) advanceSeen(oldTip, newTip repo.Hash) {
	seen, err := s.readSeen()
	if err != nil {
		return
	}
	if seen.IsZero() || seen == oldTip || seen == newTip {
		s.writeSeen(newTip)
		return
	}
	if ok, err := s.auditContains(oldTip, seen); err == nil && ok {
		s.writeSeen(newTip)
	}
}

// auditContains reports whether want is reachable from tip.
func (s *Store) auditContains(tip, want repo.Hash) (bool, error) {
	return s.auditAny(tip, func(h repo.Hash) bool { return h == want })
}

// auditAny reports whether an entry reachable from tip satisfies match,
// stopping at the first that does.
func (s *Store) auditAny(tip repo.Hash, match func(repo.Hash) bool) (bool, error) {
	found := false
	err := s.walkAudit(tip, func(h repo.Hash, _ *repo.Commit) error {
		if match(h) {
			found = true
			return errStopWalk
		}
		return nil
	})
	if errors.Is(err, errStopWalk) {
		err = nil
	}
	return found, err
}

var errStopWalk = errors.New("stop")

// walkAudit visits every commit reachable from tip once, newest first in
// parent order (breadth first).
func (s *Store) walkAudit(tip repo.Hash, fn func(h repo.Hash, c *repo.Commit) error) error {
	if tip.IsZero() {
		return nil
	}
	seen := map[repo.Hash]bool{tip: true}
	queue := []repo.Hash{tip}
	for len(queue) > 0 {
		h := queue[0]
		queue = queue[1:]
		c, err := s.repo.ReadCommit(h)
		if err != nil {
			return fmt.Errorf("reading audit entry %s: %w", shortHash(h), err)
		}
		if err := fn(h, c); err != nil {
			return err
		}
		for _, p := range c.Parents {
			if !seen[p] {
				seen[p] = true
				queue = append(queue, p)
			}
		}
	}
	return nil
}

// readEntry checks one commit's form and returns its event; merge is true
// for a merge entry, which holds no event.
func (s *Store) readEntry(h repo.Hash, c *repo.Commit) (entry AuditEntry, merge bool, err error) {
	tree, err := s.repo.ReadTree(c.Tree)
	if err != nil {
		return AuditEntry{}, false, err
	}
	if len(c.Parents) == 2 {
		if len(tree) != 0 || !strings.HasPrefix(c.Message, "gitseal: audit merge") {
			return AuditEntry{}, true, errors.New("a merge entry must have the empty tree and the message \"gitseal: audit merge\"")
		}
		return AuditEntry{Entry: h}, true, nil
	}
	if len(c.Parents) > 2 {
		return AuditEntry{}, false, fmt.Errorf("%d parents", len(c.Parents))
	}
	if len(tree) != 1 || tree[0].Name != auditFile || tree[0].Mode != repo.ModeFile {
		return AuditEntry{}, false, fmt.Errorf("its tree must hold exactly the file %s", auditFile)
	}
	raw, err := s.repo.ReadBlob(tree[0].Hash)
	if err != nil {
		return AuditEntry{}, false, err
	}
	ev, err := ParseAuditEvent(raw)
	if err != nil {
		return AuditEntry{}, false, err
	}
	return AuditEntry{AuditEvent: ev, Entry: h, Raw: raw}, false, nil
}

// AuditLog lists the log's events, newest first (by time, then entry id).
// It checks each entry's form as it goes and fails on the first bad one;
// VerifyAudit explains more. Reading the log counts as having seen it: the
// remembered newest entry moves to the tip when the log still contains it.
func (s *Store) AuditLog() ([]AuditEntry, error) {
	tip, err := auditTip(s.repo)
	if err != nil {
		return nil, fmt.Errorf("reading the audit log: %w", err)
	}
	seen, _ := s.readSeen()
	var out []AuditEntry
	sawSeen := seen.IsZero()
	err = s.walkAudit(tip, func(h repo.Hash, c *repo.Commit) error {
		if h == seen {
			sawSeen = true
		}
		e, merge, err := s.readEntry(h, c)
		if err != nil {
			return fmt.Errorf("audit entry %s: %w: %w", shortHash(h), err, ErrAuditTampered)
		}
		if !merge {
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the audit log: %w", err)
	}
	if sawSeen && !tip.IsZero() {
		s.writeSeen(tip)
	}
	sortEntries(out)
	return out, nil
}

func sortEntries(es []AuditEntry) {
	sort.SliceStable(es, func(i, j int) bool {
		if !es[i].Time.Equal(es[j].Time) {
			return es[i].Time.After(es[j].Time)
		}
		return false // breadth-first order from the tip is newest first
	})
}

// AuditReport is what VerifyAudit found.
type AuditReport struct {
	// Tip is the log's newest commit (zero when there is no log).
	Tip repo.Hash
	// Entries counts the events, Merges the merge entries.
	Entries, Merges int
	// Seen is the newest entry this clone had written or seen before the
	// check (zero when none); SeenBefore reports it was absent.
	Seen repo.Hash
	// Problems lists what is wrong, one sentence each; empty when the log
	// verified.
	Problems []string
}

// VerifyAudit checks every entry's form and that the log still contains the
// newest entry this clone wrote or saw. When the log verifies, that entry
// becomes the tip. The error wraps ErrAuditTampered when there are
// Problems; the report is returned either way.
func (s *Store) VerifyAudit() (AuditReport, error) {
	r := s.repo
	var rep AuditReport
	tip, err := auditTip(r)
	if err != nil {
		return rep, fmt.Errorf("verifying the audit log: %w", err)
	}
	seen, err := s.readSeen()
	if err != nil {
		rep.Problems = append(rep.Problems, err.Error())
	}
	rep.Tip, rep.Seen = tip, seen
	found := false
	err = s.walkAudit(tip, func(h repo.Hash, c *repo.Commit) error {
		if h == seen {
			found = true
		}
		_, merge, err := s.readEntry(h, c)
		switch {
		case err != nil:
			rep.Problems = append(rep.Problems, fmt.Sprintf("entry %s is malformed: %v", shortHash(h), err))
		case merge:
			rep.Merges++
		default:
			rep.Entries++
		}
		return nil
	})
	if err != nil {
		// A missing object in the chain is damage too, not a failure to look.
		rep.Problems = append(rep.Problems, err.Error())
	}
	if !seen.IsZero() && !found {
		rep.Problems = append(rep.Problems, s.describeLoss(tip, seen))
	}
	if len(rep.Problems) > 0 {
		return rep, fmt.Errorf("%w: %s", ErrAuditTampered, strings.Join(rep.Problems, "; "))
	}
	if !tip.IsZero() && tip != seen {
		if err := s.writeSeen(tip); err != nil {
			return rep, fmt.Errorf("verifying the audit log: remembering %s: %w", shortHash(tip), err)
		}
	}
	return rep, nil
}

// describeLoss says how a log lost the entry seen: cut back (the tip is an
// older entry of the chain seen), deleted, or rewritten.
func (s *Store) describeLoss(tip, seen repo.Hash) string {
	if tip.IsZero() {
		return fmt.Sprintf("the log is gone: %s does not exist, but this clone saw entries up to %s (truncated)", AuditRef, shortHash(seen))
	}
	if ok, err := s.auditContains(seen, tip); err == nil && ok {
		return fmt.Sprintf("the log was truncated: it ends at %s, but this clone saw newer entries up to %s", shortHash(tip), shortHash(seen))
	}
	return fmt.Sprintf("the log was rewritten: the newest entry this clone saw (%s) is no longer in it", shortHash(seen))
}

// MergeAuditLog is Store.AuditMerge for a repository opened elsewhere: the
// sync code (package publish) merges a fetched log with it.
func MergeAuditLog(ctx context.Context, r *repo.Repo, other repo.Hash) (repo.Hash, error) {
	s := &Store{repo: r, now: time.Now}
	return s.AuditMerge(ctx, other)
}

// AuditLogsShareEntry reports whether the logs ending at a and b have an
// entry in common. Two clones' logs always do (the entries before they
// diverged); two that do not mean one side's log was replaced wholesale.
func AuditLogsShareEntry(r *repo.Repo, a, b repo.Hash) (bool, error) {
	if a.IsZero() || b.IsZero() {
		return false, nil
	}
	s := &Store{repo: r}
	inA := map[repo.Hash]bool{}
	if err := s.walkAudit(a, func(h repo.Hash, _ *repo.Commit) error { inA[h] = true; return nil }); err != nil {
		return false, err
	}
	return s.auditAny(b, func(h repo.Hash) bool { return inA[h] })
}

// AuditMerge joins another copy of the log (other, such as a fetched
// remote's refs/gitseal/audit) into AuditRef: a fast-forward when the local
// log is contained in other, nothing when other is contained in the local
// log, otherwise a merge entry with both as parents. It returns the new tip.
func (s *Store) AuditMerge(ctx context.Context, other repo.Hash) (repo.Hash, error) {
	r := s.repo
	if other.IsZero() {
		return auditTip(r)
	}
	for try := 0; ; try++ {
		if err := ctx.Err(); err != nil {
			return repo.ZeroHash, err
		}
		tip, err := auditTip(r)
		if err != nil {
			return repo.ZeroHash, fmt.Errorf("merging audit logs: %w", err)
		}
		if tip == other {
			return tip, nil
		}
		if ok, err := s.auditContains(tip, other); err != nil {
			return repo.ZeroHash, fmt.Errorf("merging audit logs: %w", err)
		} else if ok {
			return tip, nil
		}
		next := other
		if !tip.IsZero() {
			ff, err := s.auditContains(other, tip)
			if err != nil {
				return repo.ZeroHash, fmt.Errorf("merging audit logs: %w", err)
			}
			if !ff {
				now := s.now()
				who, err := r.Signature("committer", now)
				if err != nil {
					who = loginIdent(now)
				}
				empty, err := r.WriteTree(nil)
				if err != nil {
					return repo.ZeroHash, fmt.Errorf("merging audit logs: %w", err)
				}
				next, err = r.WriteCommit(repo.CommitSpec{Tree: empty, Parents: []repo.Hash{tip, other}, Author: who, Committer: who,
					Message: "gitseal: audit merge\n\nGitseal-Action: audit\n"})
				if err != nil {
					return repo.ZeroHash, fmt.Errorf("merging audit logs: %w", err)
				}
			}
		}
		err = r.UpdateRef(AuditRef, next, tip, "gitseal: audit merge")
		if errors.Is(err, repo.ErrRefChanged) && try < auditAppendTries {
			continue
		}
		if err != nil {
			return repo.ZeroHash, fmt.Errorf("merging audit logs: %w", err)
		}
		s.advanceSeen(tip, next)
		return next, nil
	}
}

// AuditNotifyCommand returns the notification command set in git config
// (gitseal.auditNotify), "" when none. It is read from git's config files
// only, never from a file tracked in the repository, so cloning a
// repository never makes gitseal run a command someone else chose.
func (s *Store) AuditNotifyCommand() string {
	v, _ := s.repo.Config(AuditNotifyKey)
	return strings.TrimSpace(v)
}

// auditNotifyTimeout bounds how long a notification command may run.
const auditNotifyTimeout = 30 * time.Second

// RunAuditNotify runs command through `sh -c` in dir with the event's JSON
// on stdin. Its standard output and error go to out (never to gitseal's
// stdout, which carries data only). GITSEAL_IDENTITY and GITSEAL_PASSPHRASE
// are removed from its environment. It is killed after 30 seconds. The
// error says how it failed; callers report it as a warning.
func RunAuditNotify(ctx context.Context, command, dir string, event []byte, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, auditNotifyTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(event)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = time.Second
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k != "GITSEAL_IDENTITY" && k != "GITSEAL_PASSPHRASE" {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if err := cmd.Run(); err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return fmt.Errorf("audit notification (%s): still running after %v; stopped", AuditNotifyKey, auditNotifyTimeout)
		}
		return fmt.Errorf("audit notification (%s): %w", AuditNotifyKey, err)
	}
	return nil
}
