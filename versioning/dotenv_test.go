package versioning

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestParseDotenv(t *testing.T) {
	in := "# c\n\nA=1\nexport B = two # note\nC=\"x\\ny \\\"q\\\" \\$HOME\"\nD='lit $X \\n'\nE=\"multi\nline\"\nF=\n"
	got, err := ParseValues(FormatDotenv, []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"A": "1", "B": "two", "C": "x\ny \"q\" $HOME", "D": `lit $X \n`, "E": "multi\nline", "F": ""}
	if len(got) != len(want) {
		t.Fatalf("got %d values, want %d: %q", len(got), len(want), got)
	}
	for k, v := range want {
		if string(got[k]) != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

func TestParseDotenvErrorsNameTheLineNotTheValue(t *testing.T) {
	for _, in := range []string{
		"OK=1\nsecret-value-without-equals\n",
		"OK=1\n../x=secret-value\n",
		"OK=1\nA=\"secret-value\n",
		"OK=1\nA=\"secret-value\" tail\n",
		"OK=1\nA=1\nA=secret-value\n",
		"OK=1\nA=\"bad \\q secret-value\"\n",
	} {
		_, err := ParseValues(FormatDotenv, []byte(in))
		if err == nil {
			t.Errorf("%q: no error", in)
			continue
		}
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: error %v does not wrap ErrInvalid", in, err)
		}
		if strings.Contains(err.Error(), "secret-value") {
			t.Errorf("%q: error %q echoes the input", in, err)
		}
		if !strings.Contains(err.Error(), "line 2") && !strings.Contains(err.Error(), "line 3") {
			t.Errorf("%q: error %q does not name the line", in, err)
		}
	}
}

func TestFormatRoundTrip(t *testing.T) {
	values := map[string][]byte{"A": []byte("plain"), "B": []byte("with \"quotes\" and 'single' $VAR\\"), "C": []byte("multi\nline\r\n\ttab"), "D": {}}
	for _, f := range []string{FormatDotenv, FormatJSON} {
		out, err := FormatValues(f, values)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseValues(f, out)
		if err != nil {
			t.Fatalf("%s: %v\n%s", f, err, out)
		}
		for k, v := range values {
			if !bytes.Equal(back[k], v) {
				t.Errorf("%s: %s = %q, want %q", f, k, back[k], v)
			}
		}
	}
	if _, err := FormatValues(FormatDotenv, map[string][]byte{"BIN": {0xff, 0}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("binary value: err = %v, want ErrInvalid", err)
	}
}

// FuzzParseDotenv: the parser never panics, and whatever it accepts survives
// a round trip through FormatValues.
func FuzzParseDotenv(f *testing.F) {
	for _, s := range []string{"A=1\n", "export B=\"x\\ny\"\n", "C='lit'\n", "D=\"multi\nline\"\n", "# c\n\nE=v # c\n", "F=\"\\q\"", "G='", "=x", "H=\"a\"b"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ParseValues(FormatDotenv, data)
		if err != nil {
			return
		}
		out, err := FormatValues(FormatDotenv, got)
		if err != nil {
			return // binary values cannot be exported as dotenv
		}
		back, err := ParseValues(FormatDotenv, out)
		if err != nil {
			t.Fatalf("re-parsing our own output: %v\n%q", err, out)
		}
		for k, v := range got {
			if !bytes.Equal(back[k], v) {
				t.Fatalf("%s: %q became %q", k, v, back[k])
			}
		}
	})
}
