package versioning

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gitseal/gitseal/cipher"
)

func TestParseSealedPathAndTextconvCandidates(t *testing.T) {
	for p, want := range map[string]sealedPath{
		".gitseal/prod/secrets/DB_PASSWORD":                   {"prod", cipher.KindSecret, "DB_PASSWORD"},
		"/work/app/.gitseal/default/keys/app_key":             {"default", cipher.KindKeyring, "app_key"},
		"sub/.gitseal/e/secrets/a.b-c":                        {"e", cipher.KindSecret, "a.b-c"},
		".gitseal/prod/secrets/DB_PASSWORD/x":                 {},
		".gitseal/../secrets/X":                               {},
		"gitseal/prod/secrets/X":                              {},
		".gitseal/prod/recipients":                            {},
		"x.gitseal/prod/secrets/X":                            {},
		".gitseal/prod/other/X":                               {},
		".gitseal//secrets/X":                                 {},
		"a/.gitseal/prod/secrets/":                            {},
		"/tmp/git-blob-AbCdEf/DB_PASSWORD":                    {},
		".gitseal/" + strings.Repeat("e", 200) + "/secrets/X": {},
	} {
		got, ok := parseSealedPath(p)
		if ok != (want != sealedPath{}) || got != want {
			t.Errorf("parseSealedPath(%q) = %+v, %v; want %+v", p, got, ok, want)
		}
	}
	names := func(cs []sealedPath) string {
		var s []string
		for _, c := range cs {
			s = append(s, c.kind+":"+c.env+"/"+c.name)
		}
		return strings.Join(s, " ")
	}
	for file, want := range map[string]string{
		"/tmp/git-blob-AbCdEf/DB_PASSWORD": "secret:/DB_PASSWORD keyring:/DB_PASSWORD",
		"/tmp/Xy12Ab_DB_PASSWORD":          "secret:/Xy12Ab_DB_PASSWORD secret:/DB_PASSWORD keyring:/Xy12Ab_DB_PASSWORD keyring:/DB_PASSWORD",
		".gitseal/prod/keys/k":             "keyring:prod/k",
		"/tmp/git-blob-x/../":              "",
	} {
		if got := names(textconvCandidates(file)); got != want {
			t.Errorf("textconvCandidates(%q) = %q, want %q", file, got, want)
		}
	}
}

// mergeFixture is a store with one secret, and helpers to seal values the
// way each side of a merge would.
type mergeFixture struct {
	s       *Store
	storeID string
	dk      *cipher.DataKey
}

func newMergeFixture(t *testing.T) *mergeFixture {
	owner := newPerson(t, "owner")
	dir := teamRepo(t, owner)
	s := openAs(t, dir, owner)
	mustSet(t, s, "X", "base")
	e := tipEnv(t, s, "")
	dk, err := e.DataKey()
	if err != nil {
		t.Fatal(err)
	}
	return &mergeFixture{s: s, storeID: e.Snapshot().StoreID(), dk: dk}
}

func (f *mergeFixture) seal(t *testing.T, dk *cipher.DataKey, v string) []byte {
	t.Helper()
	b, err := cipher.Seal(dk, cipher.Binding{StoreID: f.storeID, Env: "default", Kind: cipher.KindSecret, Name: "X"}, []byte(v))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (f *mergeFixture) open(t *testing.T, dk *cipher.DataKey, sealed []byte) string {
	t.Helper()
	v, err := cipher.Open(dk, cipher.Binding{StoreID: f.storeID, Env: "default", Kind: cipher.KindSecret, Name: "X"}, sealed)
	if err != nil {
		t.Fatalf("the merged file does not open under the expected data key: %v", err)
	}
	return string(v)
}

func TestMergeSealed(t *testing.T) {
	f := newMergeFixture(t)
	const p = ".gitseal/default/secrets/X"
	k := f.dk
	cases := []struct {
		name               string
		base, ours, theirs string // "" base: none
		clean              bool
		want               string
	}{
		{"same value both sides", "base", "new", "new", true, "new"},
		{"ours changed", "base", "ours", "base", true, "ours"},
		{"theirs changed", "base", "base", "theirs", true, "theirs"},
		{"both changed", "base", "ours", "theirs", false, ""},
		{"added both, same", "", "v", "v", true, "v"},
		{"added both, different", "", "a", "b", false, ""},
		{"empty value kept", "base", "", "base", true, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var base []byte
			if tc.base != "" {
				base = f.seal(t, k, "pt-"+tc.base)
			}
			pt := func(v string) string {
				if v == "" {
					return ""
				}
				return "pt-" + v
			}
			ours, theirs := f.seal(t, k, pt(tc.ours)), f.seal(t, k, pt(tc.theirs))
			res, err := f.s.MergeSealed(p, base, ours, theirs)
			if err != nil {
				t.Fatal(err)
			}
			if res.Clean != tc.clean {
				t.Fatalf("clean = %v (%s), want %v", res.Clean, res.Reason, tc.clean)
			}
			if bytes.Contains(res.Data, []byte("pt-")) {
				t.Fatalf("the result holds a plaintext:\n%s", res.Data)
			}
			if !tc.clean {
				if !IsConflict(res.Data) || !bytes.Contains(res.Data, []byte("ours "+strings.TrimSpace(string(ours)))) {
					t.Fatalf("conflict file:\n%s", res.Data)
				}
				return
			}
			if got := f.open(t, k, res.Data); got != pt(tc.want) {
				t.Fatalf("merged value = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestMergeSealedAcrossRotation(t *testing.T) {
	f := newMergeFixture(t)
	const p = ".gitseal/default/secrets/X"
	// Theirs rotated the data key (the secret re-sealed unchanged); ours
	// changed the value. Both keys are findable: the new one is theirs.
	if _, err := f.s.Rotate(context.Background(), "", RekeyOptions{}); err != nil {
		t.Fatal(err)
	}
	e := tipEnv(t, f.s, "")
	k1, err := e.DataKey()
	if err != nil {
		t.Fatal(err)
	}
	k0 := f.dk
	base, ours, theirs := f.seal(t, k0, "base"), f.seal(t, k0, "changed"), f.seal(t, k1, "base")
	res, err := f.s.MergeSealed(p, base, ours, theirs)
	if err != nil || !res.Clean {
		t.Fatalf("MergeSealed = %+v, %v", res, err)
	}
	if got := f.open(t, k1, res.Data); got != "changed" {
		t.Fatalf("merged = %q, want the change sealed under the rotated key", got)
	}
	// The other direction.
	res, _ = f.s.MergeSealed(p, base, theirs, ours)
	if got := f.open(t, k1, res.Data); !res.Clean || got != "changed" {
		t.Fatalf("reverse merge = %q, clean %v", got, res.Clean)
	}
	// Both sides with their own new key: no merged key exists.
	k2, _ := cipher.NewDataKey()
	res, _ = f.s.MergeSealed(p, base, f.seal(t, k2, "x"), theirs)
	if res.Clean {
		t.Fatal("merged with a data key no commit holds")
	}
}

func TestMergeSealedRefuses(t *testing.T) {
	f := newMergeFixture(t)
	if _, err := f.s.MergeSealed("src/main.go", nil, nil, nil); err == nil {
		t.Fatal("merged a file outside .gitseal")
	}
	// A side that is not a sealed file (say, a plaintext pasted in) is a
	// conflict, and its content is not copied into the result.
	ok := f.seal(t, f.dk, "v")
	res, err := f.s.MergeSealed(".gitseal/default/secrets/X", nil, ok, []byte("plaintext-pasted\n"))
	if err != nil || res.Clean || bytes.Contains(res.Data, []byte("plaintext-pasted")) {
		t.Fatalf("MergeSealed = %q, %v", res.Data, err)
	}
	// A committed conflict file reads as ErrConflict through Get.
	if !IsConflict(res.Data) {
		t.Fatal("not a conflict file")
	}
	e := tipEnv(t, f.s, "")
	if _, err := e.open(cipher.KindSecret, "X", res.Data); !errors.Is(err, ErrConflict) {
		t.Fatalf("reading a conflict file: %v", err)
	}
}

func TestTextconv(t *testing.T) {
	f := newMergeFixture(t)
	sealed := f.seal(t, f.dk, "shown-value")
	for _, file := range []string{".gitseal/default/secrets/X", "/tmp/git-blob-q1w2e3/X", "/tmp/Ab12Cd_X"} {
		if got := string(f.s.Textconv(file, sealed)); got != "shown-value\n" {
			t.Errorf("Textconv(%s) = %q", file, got)
		}
	}
	if got := string(f.s.Textconv("/tmp/git-blob-q1w2e3/Y", sealed)); !strings.HasPrefix(got, "gitseal: sealed value; no identity") {
		t.Errorf("Textconv under the wrong name = %q", got)
	}
	if got := string(f.s.Textconv("x", []byte("gitseal:v9:abc\n"))); !strings.Contains(got, "newer gitseal") {
		t.Errorf("Textconv of a newer format = %q", got)
	}
	bin := f.seal(t, f.dk, "\x00\xff")
	if got := string(f.s.Textconv(".gitseal/default/secrets/X", bin)); got != "gitseal: binary value, 2 bytes, base64:\nAP8=\n" {
		t.Errorf("Textconv of a binary value = %q", got)
	}
}
