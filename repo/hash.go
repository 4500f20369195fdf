package repo

import (
	"encoding/hex"
	"fmt"
)

// Hash is a SHA-1 object id. gitseal reads and writes SHA-1 repositories
// only; Open refuses a SHA-256 repository with a clear error.
type Hash [20]byte

// ZeroHash is the all-zero id, used for "no object" (an unborn branch, an
// absent path).
var ZeroHash Hash

// String returns the id as 40 lowercase hex digits.
func (h Hash) String() string {
	return hex.EncodeToString(h[:])
}

// IsZero reports whether h is ZeroHash.
func (h Hash) IsZero() bool {
	return h == ZeroHash
}

// short returns the 7-digit abbreviation used in error messages.
func (h Hash) short() string {
	return hex.EncodeToString(h[:4])[:7]
}

// ParseHash parses exactly 40 hex digits (either case).
func ParseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != 40 {
		return h, fmt.Errorf("parsing object id %q: want 40 hex digits", clip(s))
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, fmt.Errorf("parsing object id %q: not hex", clip(s))
	}
	return h, nil
}

// clip keeps error messages short when given long input.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
