package versioning

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitseal/gitseal/cipher"
	"github.com/gitseal/gitseal/repo"
)

// git runs the git binary in dir and returns its trimmed output.
func auditGit(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

func auditStore(t *testing.T) (*Store, string, repo.Hash) {
	t.Helper()
	owner := newPerson(t, "owner")
	dir := teamRepo(t, owner)
	s := openAs(t, dir, owner)
	c := mustSet(t, s, "DB_PASSWORD", "audit-secret-value-1")
	return s, dir, c
}

func record(t *testing.T, s *Store, ev AuditEvent) AuditEntry {
	t.Helper()
	e, err := s.RecordReveal(context.Background(), ev)
	if err != nil {
		t.Fatalf("RecordReveal: %v", err)
	}
	return e
}

func TestAuditRecordAndLog(t *testing.T) {
	s, dir, c := auditStore(t)
	e1 := record(t, s, AuditEvent{Action: RevealGet, Command: "get", Env: "default", Secrets: []string{"DB_PASSWORD"}, Commit: c})
	e2 := record(t, s, AuditEvent{Action: RevealExport, Command: "export", Env: "default", Secrets: []string{"Z", "A", "Z"}, Commit: c})

	// The event as git sees it: the file at the ref's tip, byte for byte.
	if got := auditGit(t, dir, "cat-file", "blob", AuditRef+":event.json"); got+"\n" != string(e2.Raw) {
		t.Fatalf("event.json at the tip = %q, want %q", got, e2.Raw)
	}
	if got := auditGit(t, dir, "rev-parse", AuditRef+"^"); got != e1.Entry.String() {
		t.Fatalf("second entry's parent = %s, want the first entry %s", got, e1.Entry)
	}
	auditGit(t, dir, "fsck", "--strict", "--no-progress")

	log, err := s.AuditLog()
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 2 || log[0].Entry != e2.Entry || log[1].Entry != e1.Entry {
		t.Fatalf("AuditLog = %+v, want the two entries newest first", log)
	}
	ev := log[1].AuditEvent
	if ev.Store == "" || ev.Env != "default" || ev.Commit != c || ev.Host == "" || ev.User == "" {
		t.Fatalf("event missing fields: %+v", ev)
	}
	if ev.Who != "T <t@example.com>" {
		t.Fatalf("who = %q, want the git committer", ev.Who)
	}
	if got := log[0].Secrets; strings.Join(got, ",") != "A,Z" {
		t.Fatalf("secrets = %v, want sorted and unique", got)
	}
	if time.Since(ev.Time) > time.Minute || ev.Time.Nanosecond() != 0 {
		t.Fatalf("time = %v, want now in whole seconds", ev.Time)
	}
	// Never a value, anywhere in the log's objects.
	all := auditGit(t, dir, "log", "-p", "--format=%B", AuditRef)
	if strings.Contains(all, "audit-secret-value-1") {
		t.Fatal("the audit log holds a value")
	}
	if !strings.Contains(all, "Gitseal-Action: audit") {
		t.Fatalf("entry message has no trailer:\n%s", all)
	}
	// The clone remembers the newest entry.
	seen, err := s.readSeen()
	if err != nil || seen != e2.Entry {
		t.Fatalf("audit-seen = %s, %v; want %s", seen, err, e2.Entry)
	}
}

func TestAuditRecordWithoutGitIdentity(t *testing.T) {
	s, _, c := auditStore(t)
	for _, k := range []string{"GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"} {
		os.Unsetenv(k) // t.Setenv in teamRepo restores them
	}
	e := record(t, s, AuditEvent{Action: RevealGet, Command: "get", Env: "default", Secrets: []string{"DB_PASSWORD"}, Commit: c})
	if !strings.Contains(e.Who, "@") {
		t.Fatalf("who = %q, want login@host", e.Who)
	}
}

func TestAuditRefusesBadEvents(t *testing.T) {
	s, _, c := auditStore(t)
	for _, ev := range []AuditEvent{
		{Action: "peek", Command: "get", Env: "default", Commit: c},
		{Action: RevealGet, Command: "", Env: "default", Commit: c},
		{Action: RevealGet, Command: "get", Env: "../x", Commit: c},
		{Action: RevealGet, Command: "get", Env: "default", Secrets: []string{"a/b"}, Commit: c},
		{Action: RevealGet, Command: "get\n", Env: "default", Commit: c},
	} {
		if _, err := s.RecordReveal(context.Background(), ev); err == nil {
			t.Errorf("RecordReveal(%+v) succeeded", ev)
		}
	}
	if tip, _ := auditTip(s.repo); !tip.IsZero() {
		t.Fatalf("a refused event left a log entry %s", tip)
	}
}

func TestParseAuditEvent(t *testing.T) {
	good := AuditEvent{Action: RevealGet, Command: "get", Store: strings.Repeat("ab", 16), Env: "prod",
		Secrets: []string{"A"}, Commit: repo.Hash{1}, Who: "Ann <ann@example.com>", User: "ann", Host: "h",
		Time: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
	raw := good.Marshal()
	if want := `{"format":"gitseal-audit/v1","action":"get","command":"get","store":"abababababababababababababababab","env":"prod","secrets":["A"],"keys":[],"commit":"0100000000000000000000000000000000000000","who":"Ann <ann@example.com>","user":"ann","host":"h","time":"2025-01-02T03:04:05Z"}` + "\n"; string(raw) != want {
		t.Fatalf("Marshal =\n%s\nwant\n%s", raw, want)
	}
	ev, err := ParseAuditEvent(raw)
	if err != nil || !bytes.Equal(ev.Marshal(), raw) {
		t.Fatalf("round trip: %v", err)
	}
	bad := map[string]string{
		"field order":     strings.Replace(string(raw), `"action":"get","command":"get"`, `"command":"get","action":"get"`, 1),
		"spacing":         strings.Replace(string(raw), `"env":"prod"`, `"env": "prod"`, 1),
		"unknown field":   strings.Replace(string(raw), `"host":"h"`, `"host":"h","value":"x"`, 1),
		"newer version":   strings.Replace(string(raw), "gitseal-audit/v1", "gitseal-audit/v2", 1),
		"not ours":        strings.Replace(string(raw), "gitseal-audit/v1", "other", 1),
		"unsorted":        strings.Replace(string(raw), `["A"]`, `["B","A"]`, 1),
		"bad name":        strings.Replace(string(raw), `["A"]`, `["../A"]`, 1),
		"null list":       strings.Replace(string(raw), `"keys":[]`, `"keys":null`, 1),
		"short commit":    strings.Replace(string(raw), "0100000000000000000000000000000000000000", "01", 1),
		"local time":      strings.Replace(string(raw), "03:04:05Z", "03:04:05+01:00", 1),
		"no final line":   strings.TrimSuffix(string(raw), "\n"),
		"trailing data":   string(raw) + "{}\n",
		"escaped html":    strings.Replace(string(raw), "<ann", `\u003cann`, 1),
		"empty host":      strings.Replace(string(raw), `"host":"h"`, `"host":""`, 1),
		"uppercase store": strings.Replace(string(raw), "abab", "ABAB", 1),
	}
	for what, data := range bad {
		_, err := ParseAuditEvent([]byte(data))
		if err == nil {
			t.Errorf("%s: parsed", what)
		}
		if what == "newer version" && !errors.Is(err, cipher.ErrUnknownVersion) {
			t.Errorf("%s: %v, want ErrUnknownVersion", what, err)
		}
	}
}

func FuzzParseAuditEvent(f *testing.F) {
	f.Add([]byte(AuditEvent{Action: RevealRun, Command: "run", Store: strings.Repeat("0", 32), Env: "e",
		Commit: repo.Hash{9}, Who: "w", User: "u", Host: "h", Time: time.Unix(0, 0)}.Marshal()))
	f.Add([]byte(`{"format":"gitseal-audit/v1"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := ParseAuditEvent(data)
		if err != nil {
			return
		}
		if !bytes.Equal(ev.Marshal(), data) {
			t.Fatalf("accepted a non-canonical event")
		}
	})
}

func TestAuditVerifyDetectsTruncation(t *testing.T) {
	s, dir, c := auditStore(t)
	var es []AuditEntry
	for i := 0; i < 3; i++ {
		es = append(es, record(t, s, AuditEvent{Action: RevealGet, Command: "get", Env: "default", Secrets: []string{"DB_PASSWORD"}, Commit: c}))
	}
	rep, err := s.VerifyAudit()
	if err != nil || rep.Entries != 3 || rep.Tip != es[2].Entry {
		t.Fatalf("VerifyAudit = %+v, %v; want 3 good entries", rep, err)
	}
	// Someone moves the ref back by one entry.
	auditGit(t, dir, "update-ref", AuditRef, es[1].Entry.String())
	rep, err = s.VerifyAudit()
	if !errors.Is(err, ErrAuditTampered) || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("VerifyAudit after truncation: %v", err)
	}
	// The report repeats: the remembered entry does not move.
	if _, err := s.VerifyAudit(); !errors.Is(err, ErrAuditTampered) {
		t.Fatalf("second VerifyAudit after truncation: %v", err)
	}
	// A reveal after the truncation is recorded, and does not hide it.
	record(t, s, AuditEvent{Action: RevealGet, Command: "get", Env: "default", Commit: c})
	if _, err := s.VerifyAudit(); !errors.Is(err, ErrAuditTampered) {
		t.Fatalf("VerifyAudit after an append on a truncated log: %v", err)
	}
	// Deleting the log is truncation too.
	auditGit(t, dir, "update-ref", "-d", AuditRef)
	if _, err := s.VerifyAudit(); err == nil || !strings.Contains(err.Error(), "gone") {
		t.Fatalf("VerifyAudit after deletion: %v", err)
	}
}

func TestAuditVerifyDetectsRewrite(t *testing.T) {
	s, dir, c := auditStore(t)
	e1 := record(t, s, AuditEvent{Action: RevealGet, Command: "get", Env: "default", Secrets: []string{"DB_PASSWORD"}, Commit: c})
	record(t, s, AuditEvent{Action: RevealGet, Command: "get", Env: "default", Secrets: []string{"DB_PASSWORD"}, Commit: c})
	if _, err := s.VerifyAudit(); err != nil {
		t.Fatal(err)
	}
	// Rebuild the chain with the first event's host changed: well formed,
	// but not the log this clone saw.
	forged := bytes.Replace(e1.Raw, []byte(`"host":"`+e1.Host+`"`), []byte(`"host":"elsewhere"`), 1)
	blob := hashObjectGit(t, dir, forged)
	tree := mktree(t, dir, "100644 blob "+blob+"\tevent.json\n")
	c1 := auditGit(t, dir, "commit-tree", tree, "-m", "gitseal: audit get default/DB_PASSWORD")
	tip2 := auditGit(t, dir, "rev-parse", AuditRef+"^{tree}")
	c2 := auditGit(t, dir, "commit-tree", tip2, "-p", c1, "-m", "gitseal: audit get default/DB_PASSWORD")
	auditGit(t, dir, "update-ref", AuditRef, c2)

	_, err := s.VerifyAudit()
	if !errors.Is(err, ErrAuditTampered) || !strings.Contains(err.Error(), "rewritten") {
		t.Fatalf("VerifyAudit after a rewrite: %v", err)
	}
	// The forged log reads fine on its own (form is valid): only the
	// remembered entry tells.
	if log, err := s.AuditLog(); err != nil || len(log) != 2 || log[1].Host != "elsewhere" {
		t.Fatalf("AuditLog of the forged chain = %v, %v", log, err)
	}
	if seen, _ := s.readSeen(); seen == repo.Hash(mustParse(t, c2)) {
		t.Fatal("reading a rewritten log moved the remembered entry")
	}
}

func TestAuditVerifyChecksForm(t *testing.T) {
	s, dir, c := auditStore(t)
	record(t, s, AuditEvent{Action: RevealGet, Command: "get", Env: "default", Commit: c})
	tipTree := auditGit(t, dir, "rev-parse", AuditRef+"^{tree}")
	good := auditGit(t, dir, "rev-parse", AuditRef+":event.json")
	cases := map[string]string{
		"extra file":    "100644 blob " + good + "\tevent.json\n100644 blob " + good + "\tvalue\n",
		"edited event":  "100644 blob " + hashObjectGit(t, dir, []byte(`{"format":"gitseal-audit/v1"}`+"\n")) + "\tevent.json\n",
		"executable":    "100755 blob " + good + "\tevent.json\n",
		"renamed event": "100644 blob " + good + "\tother.json\n",
	}
	for what, entries := range cases {
		t.Run(what, func(t *testing.T) {
			tree := mktree(t, dir, entries)
			bad := auditGit(t, dir, "commit-tree", tree, "-p", AuditRef, "-m", "gitseal: audit get")
			auditGit(t, dir, "update-ref", AuditRef, bad)
			rep, err := s.VerifyAudit()
			if !errors.Is(err, ErrAuditTampered) || !strings.Contains(err.Error(), "malformed") || len(rep.Problems) != 1 {
				t.Fatalf("VerifyAudit = %+v, %v; want one malformed entry", rep, err)
			}
			if _, err := s.AuditLog(); err == nil {
				t.Fatal("AuditLog read a malformed entry")
			}
			auditGit(t, dir, "update-ref", AuditRef, AuditRef+"^")
		})
	}
	// A three-parent commit is no audit entry either.
	one := auditGit(t, dir, "rev-parse", AuditRef)
	bad := auditGit(t, dir, "commit-tree", tipTree, "-p", one, "-p", c.String(), "-p", c.String()+"^", "-m", "x")
	auditGit(t, dir, "update-ref", AuditRef, bad)
	if _, err := s.VerifyAudit(); !errors.Is(err, ErrAuditTampered) {
		t.Fatalf("VerifyAudit with an octopus entry: %v", err)
	}
}

func TestAuditConcurrentAppends(t *testing.T) {
	owner := newPerson(t, "owner")
	dir := teamRepo(t, owner)
	c := mustSet(t, openAs(t, dir, owner), "A", "v")
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		s := openAs(t, dir, owner)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.RecordReveal(context.Background(), AuditEvent{Action: RevealGet, Command: "get", Env: "default", Secrets: []string{"A"}, Commit: c})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := auditGit(t, dir, "rev-list", "--count", AuditRef); got != "8" {
		t.Fatalf("the log has %s entries, want 8", got)
	}
	if got := auditGit(t, dir, "rev-list", "--count", "--min-parents=2", AuditRef); got != "0" {
		t.Fatalf("concurrent appends made %s merges, want a straight chain", got)
	}
	if rep, err := openAs(t, dir, owner).VerifyAudit(); err != nil || rep.Entries != n {
		t.Fatalf("VerifyAudit = %+v, %v", rep, err)
	}
}

func TestAuditMerge(t *testing.T) {
	s, dir, c := auditStore(t)
	base := record(t, s, AuditEvent{Action: RevealGet, Command: "get", Env: "default", Commit: c})
	// Another clone's log: the base entry, then one of its own.
	other := t.TempDir()
	auditGit(t, other, "clone", "-q", dir, ".")
	auditGit(t, other, "fetch", "-q", "origin", AuditRef+":"+AuditRef)
	so, err := Open(other, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer so.Close()
	theirs := record(t, so, AuditEvent{Action: RevealExport, Command: "export", Env: "default", Commit: c})
	ours := record(t, s, AuditEvent{Action: RevealGet, Command: "get", Env: "default", Commit: c})
	auditGit(t, dir, "fetch", "-q", other, AuditRef+":refs/gitseal/remote-audit")

	tip, err := s.AuditMerge(context.Background(), theirs.Entry)
	if err != nil {
		t.Fatal(err)
	}
	if got := auditGit(t, dir, "rev-parse", tip.String()+"^1", tip.String()+"^2"); got != ours.Entry.String()+"\n"+theirs.Entry.String() {
		t.Fatalf("merge parents = %q", got)
	}
	rep, err := s.VerifyAudit()
	if err != nil || rep.Entries != 3 || rep.Merges != 1 {
		t.Fatalf("VerifyAudit = %+v, %v; want 3 entries and 1 merge", rep, err)
	}
	log, err := s.AuditLog()
	if err != nil || len(log) != 3 {
		t.Fatalf("AuditLog = %d entries, %v", len(log), err)
	}
	// Merging again, or merging an older entry, changes nothing.
	for _, h := range []repo.Hash{theirs.Entry, base.Entry} {
		if again, err := s.AuditMerge(context.Background(), h); err != nil || again != tip {
			t.Fatalf("AuditMerge(%s) again = %s, %v; want %s", h, again, err, tip)
		}
	}
	// The other clone fast-forwards to the merged log.
	auditGit(t, other, "fetch", "-q", dir, AuditRef+":refs/gitseal/remote-audit")
	if ff, err := so.AuditMerge(context.Background(), tip); err != nil || ff != tip {
		t.Fatalf("fast-forward = %s, %v", ff, err)
	}
	if _, err := so.VerifyAudit(); err != nil {
		t.Fatal(err)
	}
	auditGit(t, dir, "fsck", "--strict", "--no-progress")
}

func TestAuditNotify(t *testing.T) {
	s, dir, c := auditStore(t)
	if got := s.AuditNotifyCommand(); got != "" {
		t.Fatalf("AuditNotifyCommand with nothing configured = %q", got)
	}
	// A tracked file that looks like git config is never read.
	os.WriteFile(filepath.Join(dir, ".gitconfig"), []byte("[gitseal]\n\tauditNotify = touch pwned\n"), 0o644)
	if got := s.AuditNotifyCommand(); got != "" {
		t.Fatalf("AuditNotifyCommand read a work-tree file: %q", got)
	}
	out := filepath.Join(t.TempDir(), "event")
	auditGit(t, dir, "config", AuditNotifyKey, `cat > "$OUT"; echo "id=${GITSEAL_IDENTITY:-none}" >> "$OUT"; echo notified`)
	cmd := s.AuditNotifyCommand()
	if !strings.HasPrefix(cmd, "cat >") {
		t.Fatalf("AuditNotifyCommand = %q", cmd)
	}
	e := record(t, s, AuditEvent{Action: RevealGet, Command: "get", Env: "default", Secrets: []string{"DB_PASSWORD"}, Commit: c})
	t.Setenv("OUT", out)
	t.Setenv("GITSEAL_IDENTITY", "AGE-SECRET-KEY-NOT-FOR-HOOKS")
	var stderr bytes.Buffer
	if err := RunAuditNotify(context.Background(), cmd, dir, e.Raw, &stderr); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(out)
	if want := string(e.Raw) + "id=none\n"; string(got) != want {
		t.Fatalf("the command received %q, want %q", got, want)
	}
	if stderr.String() != "notified\n" {
		t.Fatalf("the command's output = %q", stderr.String())
	}
	err := RunAuditNotify(context.Background(), "exit 7", dir, e.Raw, &stderr)
	if err == nil || !strings.Contains(err.Error(), "exit status 7") {
		t.Fatalf("a failing command: %v", err)
	}
}

func hashObjectGit(t *testing.T, dir string, data []byte) string {
	t.Helper()
	cmd := exec.Command("git", "hash-object", "-w", "--stdin")
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

func mktree(t *testing.T, dir, entries string) string {
	t.Helper()
	cmd := exec.Command("git", "mktree")
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(entries)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

func mustParse(t *testing.T, s string) repo.Hash {
	t.Helper()
	h, err := repo.ParseHash(s)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestAuditSeenAppends: the seen anchor is appended to, not rewritten; the
// last id in it counts, a torn line is skipped, and a long file is
// compacted to its last id.
func TestAuditSeenAppends(t *testing.T) {
	s, _, c := auditStore(t)
	var entries []repo.Hash
	for i := 0; i < 3; i++ {
		e := record(t, s, AuditEvent{Action: RevealGet, Command: "get", Env: "default", Secrets: []string{"DB_PASSWORD"}, Commit: c})
		entries = append(entries, e.Entry)
	}
	b, err := os.ReadFile(s.seenPath())
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range entries {
		if !strings.Contains(string(b), h.String()+"\n") {
			t.Fatalf("seen file %q lacks entry %s: it was rewritten, not appended to", b, h)
		}
	}
	if seen, err := s.readSeen(); err != nil || seen != entries[2] {
		t.Fatalf("readSeen = %s, %v; want the last entry %s", seen, err, entries[2])
	}

	// A crash in the middle of an append leaves a partial id: the one before counts,
	// and the next append does not run into it.
	f, err := os.OpenFile(s.seenPath(), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("\n" + entries[0].String()[:17])
	f.Close()
	if seen, err := s.readSeen(); err != nil || seen != entries[2] {
		t.Fatalf("after a torn line, readSeen = %s, %v; want %s", seen, err, entries[2])
	}
	e := record(t, s, AuditEvent{Action: RevealGet, Command: "get", Env: "default", Secrets: []string{"DB_PASSWORD"}, Commit: c})
	if seen, err := s.readSeen(); err != nil || seen != e.Entry {
		t.Fatalf("after an append past a torn line, readSeen = %s, %v; want %s", seen, err, e.Entry)
	}
	if rep, err := s.VerifyAudit(); err != nil || len(rep.Problems) != 0 {
		t.Fatalf("VerifyAudit after a torn line: %v, %v", rep.Problems, err)
	}

	// Nothing but damage: an error that says how to recover.
	os.WriteFile(s.seenPath(), []byte("not an id\n"), 0o644)
	if _, err := s.readSeen(); err == nil || !strings.Contains(err.Error(), "delete it") {
		t.Fatalf("readSeen of a damaged file = %v, want the damage reported", err)
	}

	// Past the size limit the file is rewritten to the one id.
	os.WriteFile(s.seenPath(), bytes.Repeat([]byte(entries[0].String()+"\n"), seenCompactAt/41+1), 0o644)
	if err := s.writeSeen(e.Entry); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(s.seenPath()); string(b) != e.Entry.String()+"\n" {
		t.Fatalf("after compaction the seen file is %d bytes, want the last id alone", len(b))
	}
}

// TestAuditUserFromUID: the event's user is the account running gitseal,
// not whatever $USER says.
func TestAuditUserFromUID(t *testing.T) {
	u, err := user.Current()
	if err != nil || u.Username == "" {
		t.Skipf("this uid has no password database entry (%v)", err)
	}
	s, _, c := auditStore(t)
	t.Setenv("USER", "mallory-not-me")
	t.Setenv("LOGNAME", "mallory-not-me")
	e := record(t, s, AuditEvent{Action: RevealGet, Command: "get", Env: "default", Secrets: []string{"DB_PASSWORD"}, Commit: c})
	if e.User != u.Username {
		t.Fatalf("audit user = %q with USER=mallory-not-me, want the account %q", e.User, u.Username)
	}
}
