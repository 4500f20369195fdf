package versioning

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The matcher finds exactly what a naive search for every needle finds.
func TestMatcherAgreesWithNaiveSearch(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("ab\ncd")
	randBytes := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return b
	}
	for round := 0; round < 300; round++ {
		var ns []needle
		for i := 0; i < 1+rng.IntN(6); i++ {
			ns = append(ns, needle{data: randBytes(4 + rng.IntN(4)), name: fmt.Sprint(i)})
		}
		m := newMatcher(ns)
		data := randBytes(rng.IntN(400))
		type hit struct {
			line int
			name string
		}
		got := map[hit]int{}
		m.find(data, func(line int, n *needle) { got[hit{line, string(n.data)}]++ })
		want := map[hit]int{}
		for _, n := range m.needles {
			for i := 0; i+len(n.data) <= len(data); i++ {
				if bytes.HasPrefix(data[i:], n.data) {
					want[hit{1 + bytes.Count(data[:i], []byte{'\n'}), string(n.data)}]++
				}
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("round %d: matcher found %v, naive search %v", round, got, want)
		}
	}
}

func TestForms(t *testing.T) {
	fs := forms([]byte(" a/b c+d?\n"))
	got := map[string]bool{}
	for _, f := range fs {
		got[f[0]+"="+f[1]] = true
	}
	for _, want := range []string{
		"plaintext= a/b c+d?\n", "trimmed=a/b c+d?", "base64=YS9iIGMrZD8=", "base64=YS9iIGMrZD8",
		"base64url=YS9iIGMrZD8=", "hex=612f6220632b643f", "hex=612F6220632B643F",
		"url-encoded=a%2Fb+c%2Bd%3F", "url-encoded=a%2Fb%20c+d%3F",
	} {
		if !got[want] {
			t.Errorf("forms lack %q; have %v", want, got)
		}
	}
}

func scanGit(t testing.TB, dir string, env []string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

func TestScanStaged(t *testing.T) {
	owner := newPerson(t, "owner")
	dir := teamRepo(t, owner)
	s := openAs(t, dir, owner)
	mustSet(t, s, "DB", "staged-scan-value")
	os.WriteFile(filepath.Join(dir, "committed.txt"), []byte("staged-scan-value\n"), 0o644)
	scanGit(t, dir, nil, "add", "committed.txt")
	scanGit(t, dir, nil, "commit", "-q", "--no-verify", "-m", "an old leak, already committed")
	os.WriteFile(filepath.Join(dir, "new.txt"), []byte("x\ny staged-scan-value\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "unstaged.txt"), []byte("staged-scan-value\n"), 0o644)
	scanGit(t, dir, nil, "add", "new.txt")

	res, err := s.Scan(context.Background(), ScanOptions{Staged: true})
	if err != nil {
		t.Fatal(err)
	}
	// Only what the next commit adds: not the committed file, not the
	// unstaged one.
	if len(res.Findings) != 1 || res.Findings[0] != (Finding{File: "new.txt", Line: 2, Env: "default", Name: "DB", Form: "plaintext"}) {
		t.Fatalf("findings = %+v", res.Findings)
	}
	// Another index, as git commit -a hands hooks through GIT_INDEX_FILE.
	tmpIndex := filepath.Join(t.TempDir(), "index")
	scanGit(t, dir, []string{"GIT_INDEX_FILE=" + tmpIndex}, "read-tree", "HEAD")
	scanGit(t, dir, []string{"GIT_INDEX_FILE=" + tmpIndex}, "add", "unstaged.txt")
	t.Setenv("GIT_INDEX_FILE", tmpIndex)
	res, err = s.Scan(context.Background(), ScanOptions{Staged: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 1 || res.Findings[0].File != "unstaged.txt" {
		t.Fatalf("findings with GIT_INDEX_FILE = %+v", res.Findings)
	}
}

// BenchmarkScanStaged10k: `scan --staged` over 10,000 staged files of
// 200–800 bytes with 20 secrets, as a pre-commit hook on a large change
// runs it.
func BenchmarkScanStaged10k(b *testing.B) {
	owner := newPerson(b, "owner")
	dir := teamRepo(b, owner)
	s := openAs(b, dir, owner)
	values := map[string][]byte{}
	for i := 0; i < 20; i++ {
		values[fmt.Sprintf("S%02d", i)] = []byte(fmt.Sprintf("bench-secret-value-%02d-%x", i, rand.Uint64()))
	}
	if _, err := s.Import(context.Background(), "", values, WriteOptions{}); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	words := strings.Fields("the quick brown fox jumps over a lazy dog config value host port user name")
	for i := 0; i < 10000; i++ {
		var buf bytes.Buffer
		n := 200 + rng.IntN(600)
		for buf.Len() < n {
			buf.WriteString(words[rng.IntN(len(words))])
			if rng.IntN(8) == 0 {
				buf.WriteByte('\n')
			} else {
				buf.WriteByte(' ')
			}
		}
		p := filepath.Join(dir, "src", fmt.Sprintf("d%03d", i/100), fmt.Sprintf("f%05d.txt", i))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, buf.Bytes(), 0o644)
	}
	scanGit(b, dir, nil, "add", "src")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := s.Scan(context.Background(), ScanOptions{Staged: true})
		if err != nil {
			b.Fatal(err)
		}
		if res.Files != 10000 || len(res.Findings) != 0 {
			b.Fatalf("scanned %d files, %d findings", res.Files, len(res.Findings))
		}
	}
}
