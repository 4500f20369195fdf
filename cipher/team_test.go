package cipher

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"filippo.io/age"
)

// team makes n identities and their recipients, in order.
func team(t testing.TB, n int) ([]*Identities, []Recipient) {
	t.Helper()
	var ids []*Identities
	var rs []Recipient
	for i := 0; i < n; i++ {
		file, pub, err := GenerateIdentity(time.Now())
		if err != nil {
			t.Fatal(err)
		}
		id, err := ParseIdentities(file, fmt.Sprintf("member-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		rs = append(rs, pub)
	}
	return ids, rs
}

// TestUnwrapDataKeyFor: every member of a team opens the data key with the
// recipients in wrap order, in another order, or none; someone outside the
// team cannot.
func TestUnwrapDataKeyFor(t *testing.T) {
	ids, rs := team(t, 12)
	dk, err := NewDataKey()
	if err != nil {
		t.Fatal(err)
	}
	wrapped, err := WrapDataKey(dk, rs)
	if err != nil {
		t.Fatal(err)
	}
	reversed := make([]Recipient, len(rs))
	for i, r := range rs {
		reversed[len(rs)-1-i] = r
	}
	for name, order := range map[string][]Recipient{"wrap order": rs, "reversed": reversed, "none": nil, "stale": rs[:3]} {
		for i, id := range ids {
			got, err := UnwrapDataKeyFor(wrapped, id, order)
			if err != nil {
				t.Fatalf("%s: member %d: %v", name, i, err)
			}
			if !got.Equal(dk) {
				t.Fatalf("%s: member %d unwrapped another key", name, i)
			}
		}
	}
	outsiders, _ := team(t, 1)
	if _, err := UnwrapDataKeyFor(wrapped, outsiders[0], rs); !errors.Is(err, ErrSecret) {
		t.Errorf("an outsider: %v, want ErrSecret", err)
	}
}

// TestStanzaFirstTriesItsPlaceFirst: with the place known, an identity
// opens its own stanza without looking at the others. Here every other
// stanza is malformed, which age reports as soon as it meets one: the
// identity alone fails on them, the identity that knows its place does not.
func TestStanzaFirstTriesItsPlaceFirst(t *testing.T) {
	fileKey := make([]byte, 16)
	for i := range fileKey {
		fileKey[i] = byte(i)
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	ours, err := id.Recipient().Wrap(fileKey)
	if err != nil {
		t.Fatal(err)
	}
	const at = 7
	stanzas := make([]*age.Stanza, 10)
	for i := range stanzas {
		stanzas[i] = &age.Stanza{Type: "X25519", Args: []string{"not-a-share"}, Body: make([]byte, 32)}
	}
	stanzas[at] = ours[0]
	if _, err := id.Unwrap(stanzas); err == nil {
		t.Fatal("the plain identity opened the stanzas; the test shows nothing")
	}
	got, err := stanzaFirst{id, at}.Unwrap(stanzas)
	if err != nil || string(got) != string(fileKey) {
		t.Errorf("stanzaFirst = %x, %v; want the file key", got, err)
	}
	// A wrong place falls back to trying them all (and meets the bad ones).
	if _, err := (stanzaFirst{id, 2}).Unwrap(stanzas); err == nil {
		t.Error("a wrong place did not fall back to every stanza")
	}
}

// BenchmarkUnwrapTeam: the last of 20 members unwrapping, without and with
// the recipients' order.
//
//	go test ./cipher -run '^$' -bench UnwrapTeam
func BenchmarkUnwrapTeam(b *testing.B) {
	ids, rs := team(b, 20)
	dk, err := NewDataKey()
	if err != nil {
		b.Fatal(err)
	}
	wrapped, err := WrapDataKey(dk, rs)
	if err != nil {
		b.Fatal(err)
	}
	last := ids[len(ids)-1]
	for _, bc := range []struct {
		name  string
		order []Recipient
	}{{"unordered", nil}, {"ordered", rs}} {
		b.Run(bc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := UnwrapDataKeyFor(wrapped, last, bc.order); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
