package publish

// The publish record and the pin file are small line-oriented text formats
// (FORMAT.md §2 and §3): a version tag line, then "key value" lines in a fixed
// order. A fixed order and no optional whitespace make each record's bytes
// canonical, so a later signature can cover them exactly.

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gitseal/gitseal/repo"
)

const (
	recordTag  = "gitseal-publish v1"
	pinFileTag = "gitseal-pin v1"
	// maxSmallFile bounds what is read as a record or a pin file.
	maxSmallFile = 64 << 10
)

// Actions of a publish record.
const (
	ActionPublish   = "publish"
	ActionUnpublish = "unpublish"
)

// Record is one entry of an environment's publish history.
type Record struct {
	// Env is the environment published.
	Env string
	// Action is ActionPublish or ActionUnpublish.
	Action string
	// Commit is the commit pinned (zero for an unpublish).
	Commit repo.Hash
	// Previous is the pin before this entry (zero when there was none).
	Previous repo.Hash
	// Publisher is "Name <email>", as git would write the committer.
	Publisher string
	// Time is when the entry was made, whole seconds.
	Time time.Time
	// Seq numbers the entries of one environment: 1, 2, 3, …
	Seq int
	// RecordCommit is the commit on the publish ref that holds this entry;
	// set when read from history, not part of the record's bytes.
	RecordCommit repo.Hash
	// Signature is the armored SSH signature stored next to the record
	// (FORMAT.md §6), nil when unsigned; not part of the record's bytes.
	Signature []byte
}

func hashOrDash(h repo.Hash) string {
	if h.IsZero() {
		return "-"
	}
	return h.String()
}

func parseHashOrDash(s string) (repo.Hash, error) {
	if s == "-" {
		return repo.ZeroHash, nil
	}
	return repo.ParseHash(s)
}

// Marshal returns the record's canonical bytes (FORMAT.md §2).
func (r Record) Marshal() []byte {
	var b bytes.Buffer
	b.WriteString(recordTag + "\n")
	fmt.Fprintf(&b, "env %s\n", r.Env)
	fmt.Fprintf(&b, "action %s\n", r.Action)
	fmt.Fprintf(&b, "commit %s\n", hashOrDash(r.Commit))
	fmt.Fprintf(&b, "previous %s\n", hashOrDash(r.Previous))
	fmt.Fprintf(&b, "publisher %s\n", r.Publisher)
	fmt.Fprintf(&b, "time %s\n", r.Time.UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "seq %d\n", r.Seq)
	return b.Bytes()
}

// fields splits a small format into its values, checking the tag and that
// the keys come exactly in the order given.
func fields(what, tag string, data []byte, keys ...string) ([]string, error) {
	if len(data) > maxSmallFile {
		return nil, fmt.Errorf("reading %s: larger than %d bytes", what, maxSmallFile)
	}
	text := string(data)
	if !strings.HasSuffix(text, "\n") {
		return nil, fmt.Errorf("reading %s: does not end in a newline", what)
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if lines[0] != tag {
		if strings.HasPrefix(lines[0], strings.Fields(tag)[0]+" ") {
			return nil, fmt.Errorf("reading %s: version %q is not known to this gitseal; upgrade gitseal", what, clip(lines[0]))
		}
		return nil, fmt.Errorf("reading %s: not a %s file", what, strings.Fields(tag)[0])
	}
	if len(lines)-1 != len(keys) {
		return nil, fmt.Errorf("reading %s: %d fields, want %d", what, len(lines)-1, len(keys))
	}
	vals := make([]string, len(keys))
	for i, k := range keys {
		key, val, ok := strings.Cut(lines[i+1], " ")
		if !ok || key != k || val == "" {
			return nil, fmt.Errorf("reading %s: line %d: want %q", what, i+2, k+" VALUE")
		}
		vals[i] = val
	}
	return vals, nil
}

// ParseRecord parses what Marshal wrote; anything else is an error.
func ParseRecord(data []byte) (Record, error) {
	v, err := fields("publish record", recordTag, data, "env", "action", "commit", "previous", "publisher", "time", "seq")
	if err != nil {
		return Record{}, err
	}
	r := Record{Env: v[0], Action: v[1], Publisher: v[4]}
	if err := validEnv(r.Env); err != nil {
		return Record{}, fmt.Errorf("reading publish record: %w", err)
	}
	if r.Action != ActionPublish && r.Action != ActionUnpublish {
		return Record{}, fmt.Errorf("reading publish record: unknown action %q", clip(r.Action))
	}
	if r.Commit, err = parseHashOrDash(v[2]); err != nil {
		return Record{}, fmt.Errorf("reading publish record: commit: %w", err)
	}
	if (r.Action == ActionPublish) == r.Commit.IsZero() {
		return Record{}, fmt.Errorf("reading publish record: %s with commit %s", r.Action, clip(v[2]))
	}
	if r.Previous, err = parseHashOrDash(v[3]); err != nil {
		return Record{}, fmt.Errorf("reading publish record: previous: %w", err)
	}
	if r.Time, err = time.Parse(time.RFC3339, v[5]); err != nil {
		return Record{}, fmt.Errorf("reading publish record: time: %w", err)
	}
	if r.Seq, err = strconv.Atoi(v[6]); err != nil || r.Seq < 1 || strconv.Itoa(r.Seq) != v[6] {
		return Record{}, fmt.Errorf("reading publish record: seq %q is not a positive number", clip(v[6]))
	}
	if !bytes.Equal(r.Marshal(), data) {
		return Record{}, fmt.Errorf("reading publish record: not in canonical form")
	}
	return r, nil
}

// PinFile is the content of a pin file written by `publish --pin-file`
// (FORMAT.md §3): which commit an environment of which store was published at.
type PinFile struct {
	Env     string
	Commit  repo.Hash
	StoreID string
}

// Marshal returns the pin file's bytes.
func (p PinFile) Marshal() []byte {
	return []byte(fmt.Sprintf("%s\nenv %s\ncommit %s\nstore %s\n", pinFileTag, p.Env, p.Commit, p.StoreID))
}

// ParsePinFile parses what PinFile.Marshal wrote.
func ParsePinFile(data []byte) (PinFile, error) {
	v, err := fields("pin file", pinFileTag, data, "env", "commit", "store")
	if err != nil {
		return PinFile{}, err
	}
	p := PinFile{Env: v[0], StoreID: v[2]}
	if err := validEnv(p.Env); err != nil {
		return PinFile{}, fmt.Errorf("reading pin file: %w", err)
	}
	if p.Commit, err = repo.ParseHash(v[1]); err != nil {
		return PinFile{}, fmt.Errorf("reading pin file: commit: %w", err)
	}
	if len(p.StoreID) != 32 || strings.Trim(p.StoreID, "0123456789abcdef") != "" {
		return PinFile{}, fmt.Errorf("reading pin file: store id is not 32 hex digits")
	}
	return p, nil
}

// clip shortens text from a file for an error message.
func clip(s string) string {
	if len(s) > 48 {
		return s[:48] + "…"
	}
	return s
}
