package cipher

// Invariant: every base64 text this package reads goes through b64Codec.decode,
// which accepts exactly the strings the matching encoder writes (interop README
// §0, "canonical decoding"): alphabet only, '=' padding exactly as written, no
// whitespace anywhere, zero unused bits. Two spellings of one payload would let
// a tampered file look unchanged to a byte-comparing reviewer and would make
// our acceptance of foreign input depend on Go's lenient defaults.

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"
)

// b64Codec is one padded base64 alphabet, decoded canonically.
type b64Codec struct {
	enc      *base64.Encoding // padded, Strict
	alphabet string
	name     string // for errors: "base64" or "base64url"
	other    string // the two characters of the other alphabet, for a hint
}

var (
	stdB64 = b64Codec{
		enc:      base64.StdEncoding.Strict(),
		alphabet: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
		name:     "base64",
		other:    "-_",
	}
	urlB64 = b64Codec{
		enc:      base64.URLEncoding.Strict(),
		alphabet: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
		name:     "base64url",
		other:    "+/",
	}
)

// encode returns the padded encoding of b, without line breaks. It encodes
// in chunks into the string's own memory: EncodeToString would allocate and
// fill the text twice, which costs a third more at 1 MiB.
func (c b64Codec) encode(b []byte) string {
	const step = 3 * 512 // whole 3-byte groups: padding only at the very end
	var sb strings.Builder
	sb.Grow(c.enc.EncodedLen(len(b)))
	var out [4 * 512]byte
	for len(b) > 0 {
		n := min(len(b), step)
		c.enc.Encode(out[:], b[:n])
		sb.Write(out[:c.enc.EncodedLen(n)])
		b = b[n:]
	}
	return sb.String()
}

// decode decodes s canonically. Its error describes what is wrong with s by
// offset and kind, never by content, so it is safe for secret input.
func (c b64Codec) decode(s string) ([]byte, error) {
	return c.decodeBytes([]byte(s))
}

// decodeBytes is decode for text already in a byte slice, which it does
// not keep: reading a thousand sealed secrets should not copy each twice.
func (c b64Codec) decodeBytes(s []byte) ([]byte, error) {
	// encoding/base64 skips '\r' and '\n' silently; everything else that is
	// not canonical it rejects itself (Strict covers the unused bits).
	// (Two IndexByte scans are vectorised; ContainsAny is twenty times slower.)
	if len(s)%4 != 0 || bytes.IndexByte(s, '\n') >= 0 || bytes.IndexByte(s, '\r') >= 0 {
		return nil, c.diagnose(string(s))
	}
	buf := make([]byte, c.enc.DecodedLen(len(s)))
	n, err := c.enc.Decode(buf, s)
	if err != nil {
		return nil, c.diagnose(string(s))
	}
	return buf[:n], nil
}

// diagnose explains why s is not canonical. It runs only on the error path.
func (c b64Codec) diagnose(s string) error {
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case ch == '=' || strings.IndexByte(c.alphabet, ch) >= 0:
		case ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f':
			return fmt.Errorf("%s: whitespace or line break at offset %d", c.name, i)
		case strings.IndexByte(c.other, ch) >= 0:
			return fmt.Errorf("%s: character at offset %d belongs to the other base64 alphabet", c.name, i)
		default:
			return fmt.Errorf("%s: invalid character at offset %d", c.name, i)
		}
	}
	if len(s)%4 != 0 {
		return fmt.Errorf("%s: length %d is not a multiple of 4 (missing or extra '=' padding)", c.name, len(s))
	}
	if i := strings.IndexByte(s, '='); i >= 0 && s[i:] != "=" && s[i:] != "==" {
		return fmt.Errorf("%s: '=' padding inside the text at offset %d", c.name, i)
	}
	// Every character is fine and in its place: padding where none is due,
	// or non-zero bits before it.
	return fmt.Errorf("%s: not the canonical encoding (wrong padding or non-zero trailing bits)", c.name)
}

// TrimOneNewline returns b without one final "\n" or "\r\n", the rule for a
// value, key or token read from stdin (interop README §0): a terminal or
// echo adds one, so one is dropped; anything more is part of the input.
func TrimOneNewline(b []byte) []byte {
	if bytes.HasSuffix(b, []byte("\r\n")) {
		return b[:len(b)-2]
	}
	if bytes.HasSuffix(b, []byte("\n")) {
		return b[:len(b)-1]
	}
	return b
}
