package cipher

// TestPythonInterop checks both formats against an independent
// implementation: testdata/interop_check.py, built on Python's
// `cryptography` package as the vectors were. It runs when python3 can import
// cryptography (Debian: python3-cryptography) and skips, saying why, otherwise.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os/exec"
	"testing"
	"time"
)

type pyRequest struct {
	AnvilDecrypt []pyAnvil `json:"anvil_decrypt"`
	FletDecrypt  []pyFlet  `json:"flet_decrypt"`
	AnvilEncrypt []pyAnvil `json:"anvil_encrypt"`
	FletEncrypt  []pyFlet  `json:"flet_encrypt"`
}

type pyAnvil struct {
	Key       string `json:"key"`
	Payload   string `json:"payload,omitempty"`
	Plaintext string `json:"plaintext"`
}

type pyFlet struct {
	Passphrase string `json:"passphrase"`
	Token      string `json:"token,omitempty"`
	Plaintext  string `json:"plaintext"`
}

type pyDecrypted struct {
	PlaintextB64 *string `json:"plaintext_b64"`
	Error        string  `json:"error"`
}

type pyAnswer struct {
	AnvilDecrypt []pyDecrypted `json:"anvil_decrypt"`
	FletDecrypt  []pyDecrypted `json:"flet_decrypt"`
	AnvilEncrypt []struct {
		Payload string `json:"payload"`
	} `json:"anvil_encrypt"`
	FletEncrypt []struct {
		Token string `json:"token"`
	} `json:"flet_encrypt"`
}

func runPython(t *testing.T, req pyRequest) pyAnswer {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found: cannot check against Python's cryptography package")
	}
	if out, err := exec.Command(py, "-c", "import cryptography").CombinedOutput(); err != nil {
		t.Skipf("python3 cannot import cryptography (install python3-cryptography): %v: %s", err, out)
	}
	in, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "testdata/interop_check.py")
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("interop_check.py: %v\n%s", err, stderr.Bytes())
	}
	var ans pyAnswer
	if err := json.Unmarshal(out, &ans); err != nil {
		t.Fatalf("interop_check.py answer: %v\n%s", err, out)
	}
	if len(ans.AnvilDecrypt) != len(req.AnvilDecrypt) || len(ans.FletDecrypt) != len(req.FletDecrypt) ||
		len(ans.AnvilEncrypt) != len(req.AnvilEncrypt) || len(ans.FletEncrypt) != len(req.FletEncrypt) {
		t.Fatalf("interop_check.py answered %d/%d/%d/%d items", len(ans.AnvilDecrypt), len(ans.FletDecrypt), len(ans.AnvilEncrypt), len(ans.FletEncrypt))
	}
	return ans
}

func TestPythonInterop(t *testing.T) {
	texts := []string{"", "x", "public test message 123", "NUL\x00, CR LF\r\n, tab\t, end\n", "Ñandú — 北京 — 🚀🚀 e\u0301", string(bytes.Repeat([]byte("0123456789"), 300))}
	k128, _ := NewKeyring(128, t0)
	k256, _ := NewKeyring(256, t0)
	other, _ := NewKeyring(128, t0)
	var req pyRequest

	// Go encrypts, Python decrypts: bare payloads and both key sizes of a
	// keyring (AES-256 is our extension, but plain AES-256-GCM).
	var wantAnvil []string
	for i, s := range texts {
		k := []*Keyring{k128, k256}[i%2]
		p, err := k.Encrypt([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		req.AnvilDecrypt = append(req.AnvilDecrypt, pyAnvil{Key: k.Export(), Payload: p})
		wantAnvil = append(wantAnvil, s)
	}
	p, err := EncryptPayload(testKey128, []byte(texts[2]))
	if err != nil {
		t.Fatal(err)
	}
	req.AnvilDecrypt = append(req.AnvilDecrypt, pyAnvil{Key: stdB64.encode(testKey128), Payload: p})
	wantAnvil = append(wantAnvil, texts[2])
	// A control Python must refuse: the right format under another key.
	req.AnvilDecrypt = append(req.AnvilDecrypt, pyAnvil{Key: other.Export(), Payload: p})

	// Flet at full cost: a few only (≈0.1 s each side).
	fletTexts := []struct{ pass, text string }{{"pw", texts[4]}, {"", texts[3]}, {"mot de passe é 🔑", texts[0]}}
	for _, c := range fletTexts {
		tok, err := FletEncrypt(c.pass, []byte(c.text))
		if err != nil {
			t.Fatal(err)
		}
		req.FletDecrypt = append(req.FletDecrypt, pyFlet{Passphrase: c.pass, Token: tok})
	}
	req.FletDecrypt = append(req.FletDecrypt, pyFlet{Passphrase: "wrong", Token: req.FletDecrypt[0].Token})

	// Python encrypts, Go decrypts.
	for i, s := range texts {
		k := []*Keyring{k128, k256}[i%2]
		req.AnvilEncrypt = append(req.AnvilEncrypt, pyAnvil{Key: k.Export(), Plaintext: s})
	}
	for _, c := range fletTexts {
		req.FletEncrypt = append(req.FletEncrypt, pyFlet{Passphrase: c.pass, Plaintext: c.text})
	}

	ans := runPython(t, req)

	checkPy := func(what string, got pyDecrypted, want string) {
		t.Helper()
		if got.PlaintextB64 == nil {
			t.Errorf("%s: Python could not decrypt gitseal's output: %s", what, got.Error)
			return
		}
		b, err := base64.StdEncoding.DecodeString(*got.PlaintextB64)
		if err != nil || string(b) != want {
			t.Errorf("%s: Python decrypted %q; want %q", what, b, want)
		}
	}
	for i, want := range wantAnvil {
		checkPy("payload "+req.AnvilDecrypt[i].Payload, ans.AnvilDecrypt[i], want)
	}
	if ans.AnvilDecrypt[len(wantAnvil)].Error == "" {
		t.Error("Python decrypted a payload under the wrong key: the check proves nothing")
	}
	for i, c := range fletTexts {
		checkPy("token "+req.FletDecrypt[i].Token, ans.FletDecrypt[i], c.text)
	}
	if ans.FletDecrypt[len(fletTexts)].Error == "" {
		t.Error("Python decrypted a token under the wrong passphrase: the check proves nothing")
	}

	for i, s := range texts {
		payload := ans.AnvilEncrypt[i].Payload
		k := []*Keyring{k128, k256}[i%2]
		if got, err := k.Decrypt(payload); err != nil || string(got) != s {
			t.Errorf("Python payload %s: %q, %v; want %q", payload, got, err, s)
		}
		if _, err := other.Decrypt(payload); !errors.Is(err, ErrSecret) {
			t.Errorf("Python payload opened under another key: %v", err)
		}
	}
	for i, c := range fletTexts {
		tok := ans.FletEncrypt[i].Token
		if got, err := FletDecrypt(c.pass, tok); err != nil || string(got) != c.text {
			t.Errorf("Python token %s: %q, %v; want %q", tok, got, err, c.text)
		}
	}
}
