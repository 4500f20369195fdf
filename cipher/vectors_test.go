package cipher

// The interop vectors of testdata/interop (copied from the shared set; the
// README there is the spec). Every case runs through the exported API, and
// every ok case is also re-encrypted byte for byte from its debug values.

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

type anvilVectorFile struct {
	Cases []anvilCase `json:"cases"`
}

type anvilCase struct {
	Name      string  `json:"name"`
	Key       string  `json:"key"`
	Plaintext *string `json:"plaintext"`
	Payload   string  `json:"payload"`
	Expect    string  `json:"expect"`
	CodecOnly bool    `json:"codec_only"`
	Debug     *struct {
		KeyHex string `json:"key_hex"`
		IVHex  string `json:"iv_hex"`
	} `json:"debug"`
}

type fletVectorFile struct {
	Cases       []fletCase `json:"cases"`
	LegacyCases []fletCase `json:"legacy_cases"`
}

type fletCase struct {
	Name       string  `json:"name"`
	Passphrase string  `json:"passphrase"`
	Plaintext  *string `json:"plaintext"`
	Token      string  `json:"token"`
	Expect     string  `json:"expect"`
	Iterations int     `json:"iterations"`
	CodecOnly  bool    `json:"codec_only"`
	Debug      *struct {
		SaltHex     string `json:"salt_hex"`
		FernetToken string `json:"fernet_token"`
		Timestamp   uint64 `json:"fernet_timestamp"`
		IVHex       string `json:"fernet_iv_hex"`
	} `json:"debug"`
}

func readVectors(t testing.TB, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "interop", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func loadAnvil(t testing.TB) []anvilCase {
	var f anvilVectorFile
	readVectors(t, "anvil_vectors.json", &f)
	if len(f.Cases) == 0 {
		t.Fatal("anvil_vectors.json: no cases")
	}
	return f.Cases
}

func loadFlet(t testing.TB) (cases, legacy []fletCase) {
	var f fletVectorFile
	readVectors(t, "flet_vectors.json", &f)
	if len(f.Cases) == 0 || len(f.LegacyCases) == 0 {
		t.Fatal("flet_vectors.json: no cases or no legacy cases")
	}
	return f.Cases, f.LegacyCases
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decryptAnvilCase decrypts as a library caller does: ParseKey, then
// DecryptPayload. A key that does not parse is a failure of its own kind.
func decryptAnvilCase(key, payload string) (pt []byte, keyErr, err error) {
	k, keyErr := ParseKey(key)
	if keyErr != nil {
		return nil, keyErr, nil
	}
	pt, err = DecryptPayload(k, payload)
	return pt, nil, err
}

func TestAnvilVectors(t *testing.T) {
	for _, c := range loadAnvil(t) {
		t.Run(c.Name, func(t *testing.T) {
			pt, keyErr, err := decryptAnvilCase(c.Key, c.Payload)
			switch c.Expect {
			case "ok":
				if keyErr != nil || err != nil {
					t.Fatalf("decrypt: key error %v, error %v; want ok", keyErr, err)
				}
				if string(pt) != *c.Plaintext {
					t.Fatalf("plaintext %q; want %q", pt, *c.Plaintext)
				}
			case "error":
				if keyErr == nil && !errors.Is(err, ErrSecret) {
					t.Fatalf("decrypt: error %v; want one wrapping ErrSecret", err)
				}
				if c.CodecOnly {
					pt, keyErr, err := decryptAnvilCase(string(TrimOneNewline([]byte(c.Key))), string(TrimOneNewline([]byte(c.Payload))))
					if keyErr != nil || err != nil {
						t.Fatalf("codec_only: after TrimOneNewline: key error %v, error %v; want ok", keyErr, err)
					}
					if c.Plaintext != nil && string(pt) != *c.Plaintext {
						t.Fatalf("codec_only: plaintext %q; want %q", pt, *c.Plaintext)
					}
				}
			default:
				t.Fatalf("unknown expect %q", c.Expect)
			}
		})
	}
}

// TestAnvilVectorsEncrypt re-creates each ok payload from its key, plaintext
// and debug IV: byte-exact known answers for the encryption path.
func TestAnvilVectorsEncrypt(t *testing.T) {
	n := 0
	for _, c := range loadAnvil(t) {
		if c.Expect != "ok" {
			continue
		}
		n++
		t.Run(c.Name, func(t *testing.T) {
			key, err := ParseKey(c.Key)
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(key) != c.Debug.KeyHex {
				t.Fatalf("ParseKey: %x; want %s", key, c.Debug.KeyHex)
			}
			got, err := encryptPayloadWithIV(key, []byte(*c.Plaintext), unhex(t, c.Debug.IVHex))
			if err != nil {
				t.Fatal(err)
			}
			if got != c.Payload {
				t.Fatalf("payload\n got %s\nwant %s", got, c.Payload)
			}
		})
	}
	if n == 0 {
		t.Fatal("no ok cases")
	}
}

func fletIters(c fletCase) int {
	if c.Iterations != 0 {
		return c.Iterations
	}
	return fletIterations
}

func TestFletVectors(t *testing.T) {
	cases, legacy := loadFlet(t)
	for _, c := range append(cases, legacy...) {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel() // PBKDF2-bound: use both cores
			pt, err := FletDecrypt(c.Passphrase, c.Token)
			switch c.Expect {
			case "ok":
				if err != nil {
					t.Fatalf("decrypt: %v", err)
				}
				if string(pt) != *c.Plaintext {
					t.Fatalf("plaintext %q; want %q", pt, *c.Plaintext)
				}
			case "error":
				if !errors.Is(err, ErrSecret) {
					t.Fatalf("decrypt: error %v; want one wrapping ErrSecret", err)
				}
				if c.CodecOnly {
					pt, err := FletDecrypt(c.Passphrase, string(TrimOneNewline([]byte(c.Token))))
					if err != nil {
						t.Fatalf("codec_only: after TrimOneNewline: %v", err)
					}
					if c.Plaintext != nil && string(pt) != *c.Plaintext {
						t.Fatalf("codec_only: plaintext %q; want %q", pt, *c.Plaintext)
					}
				}
			default:
				t.Fatalf("unknown expect %q", c.Expect)
			}
		})
	}
}

// TestFletVectorsEncrypt re-creates each ok token (legacy ones at their own
// cost) from its debug salt, IV and timestamp.
func TestFletVectorsEncrypt(t *testing.T) {
	cases, legacy := loadFlet(t)
	n := 0
	for _, c := range append(cases, legacy...) {
		if c.Expect != "ok" {
			continue
		}
		n++
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			d := c.Debug
			got, err := fletEncryptWith(c.Passphrase, []byte(*c.Plaintext), unhex(t, d.SaltHex), unhex(t, d.IVHex), d.Timestamp, fletIters(c))
			if err != nil {
				t.Fatal(err)
			}
			if got != c.Token {
				outer, _ := urlB64.decode(got)
				t.Fatalf("token\n got %s\nwant %s\ninner got %s\n     want %s", got, c.Token, outer[fletSaltSize:], d.FernetToken)
			}
		})
	}
	if n == 0 {
		t.Fatal("no ok cases")
	}
}
