package cipher

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

func TestCanonicalBase64(t *testing.T) {
	tests := []struct {
		in      string
		std     bool   // decodes as std
		url     bool   // decodes as url
		wantErr string // part of the std error
	}{
		{in: "", std: true, url: true},
		{in: "QQ==", std: true, url: true},
		{in: "QUI=", std: true, url: true},
		{in: "QUJD", std: true, url: true},
		{in: "+/+/", std: true, wantErr: ""},
		{in: "-_-_", url: true, wantErr: "other base64 alphabet"},
		{in: "QQ", wantErr: "not a multiple of 4"},
		{in: "QQ=", wantErr: "not a multiple of 4"},
		{in: "QQ===", wantErr: "not a multiple of 4"},
		{in: "QUI", wantErr: "not a multiple of 4"},
		{in: "QR==", wantErr: "not the canonical encoding"}, // non-zero unused bits
		{in: "QUJ=", wantErr: "not the canonical encoding"},
		{in: "Q===", wantErr: "padding inside"},
		{in: "QQ==QQ==", wantErr: "padding inside"},
		{in: "=QQ=", wantErr: "padding inside"},
		{in: "QQ==\n", wantErr: "whitespace or line break at offset 4"},
		{in: "QQ==\r\n", wantErr: "whitespace or line break at offset 4"},
		{in: "QU\nJD", wantErr: "whitespace or line break at offset 2"},
		{in: "QUJD\r\nQUJD", wantErr: "whitespace or line break at offset 4"},
		{in: "\nQUJD", wantErr: "whitespace or line break at offset 0"},
		{in: " QUJ", wantErr: "whitespace"},
		{in: "QUJD ", wantErr: "whitespace"},
		{in: "QU\tJ", wantErr: "whitespace"},
		{in: "QU.J", wantErr: "invalid character at offset 2"},
		{in: "QUJ\x00", wantErr: "invalid character at offset 3"},
		{in: "QUJ\xff", wantErr: "invalid character at offset 3"},
	}
	for _, tt := range tests {
		got, err := stdB64.decode(tt.in)
		if tt.std != (err == nil) {
			t.Errorf("std decode %q: %v; want ok=%v", tt.in, err, tt.std)
		}
		if err == nil && stdB64.encode(got) != tt.in {
			t.Errorf("std decode %q: re-encodes as %q", tt.in, stdB64.encode(got))
		}
		if err != nil && tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("std decode %q: error %q; want it to contain %q", tt.in, err, tt.wantErr)
		}
		if _, err := urlB64.decode(tt.in); tt.url != (err == nil) {
			t.Errorf("url decode %q: %v; want ok=%v", tt.in, err, tt.url)
		}
	}
}

// TestCanonicalBase64NeverEchoes checks that a decode error describes the
// input without quoting it: the input may be a key.
func TestCanonicalBase64NeverEchoes(t *testing.T) {
	for _, in := range []string{"SECRETSECRET\n", "SECRET SECRET", "SECRET.SECRETS", "SECRETSECRET=", "SECRETSECRE=="} {
		_, err := stdB64.decode(in)
		if err == nil {
			t.Fatalf("decode %q: no error", in)
		}
		if strings.Contains(err.Error(), "SECRET") {
			t.Errorf("decode error %q quotes its input", err)
		}
	}
}

func TestTrimOneNewline(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"abc", "abc"},
		{"abc\n", "abc"},
		{"abc\r\n", "abc"},
		{"abc\n\n", "abc\n"},
		{"abc\r\n\r\n", "abc\r\n"},
		{"abc\r", "abc\r"},
		{"abc\n\r", "abc\n\r"},
		{"\n", ""},
		{"\r\n", ""},
		{"abc ", "abc "},
	}
	for _, tt := range tests {
		if got := TrimOneNewline([]byte(tt.in)); string(got) != tt.want {
			t.Errorf("TrimOneNewline(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzCanonicalBase64 checks decode against an independent definition:
// s is canonical exactly when Go's lenient decoder reads it and the encoder
// writes the same bytes back as s.
func FuzzCanonicalBase64(f *testing.F) {
	for _, s := range []string{"", "QQ==", "QUI=", "QUJD", "QR==", "QQ==\n", "QU\r\nJD", "-_+/", "Q===", "QQ==QQ=="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, c := range []struct {
			codec   b64Codec
			lenient *base64.Encoding
		}{{stdB64, base64.StdEncoding}, {urlB64, base64.URLEncoding}} {
			got, err := c.codec.decode(s)
			ref, refErr := c.lenient.DecodeString(s)
			canonical := refErr == nil && c.lenient.EncodeToString(ref) == s
			if canonical != (err == nil) {
				t.Fatalf("%s decode %q: error %v; canonical=%v", c.codec.name, s, err, canonical)
			}
			if err == nil && !bytes.Equal(got, ref) {
				t.Fatalf("%s decode %q: %x; want %x", c.codec.name, s, got, ref)
			}
		}
	})
}
