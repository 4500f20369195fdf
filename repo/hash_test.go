package repo

import (
	"strings"
	"testing"
)

func TestHash(t *testing.T) {
	const id = "3F2A1C90aabbccddeeff00112233445566778899"
	h, err := ParseHash(id)
	if err != nil {
		t.Fatal(err)
	}
	if h.String() != strings.ToLower(id) || h.IsZero() || h.short() != "3f2a1c9" {
		t.Errorf("ParseHash(%s) = %s (%s)", id, h, h.short())
	}
	if !ZeroHash.IsZero() || ZeroHash.String() != strings.Repeat("0", 40) {
		t.Error("ZeroHash")
	}
	for _, bad := range []string{"", "3f2a1c9", id + "0", strings.Repeat("g", 40), strings.Repeat("0", 39) + " "} {
		if _, err := ParseHash(bad); err == nil {
			t.Errorf("ParseHash(%q) succeeded", bad)
		}
	}
}
