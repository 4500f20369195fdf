package repo

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/format/pktline"
)

// pkts frames lines as pkt-lines; "" is a flush-pkt.
func pkts(t *testing.T, lines ...string) *bytes.Buffer {
	t.Helper()
	var b bytes.Buffer
	e := pktline.NewEncoder(&b)
	for _, l := range lines {
		var err error
		if l == "" {
			err = e.Flush()
		} else {
			err = e.EncodeString(l)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return &b
}

const (
	hexA = "1111111111111111111111111111111111111111"
	hexB = "2222222222222222222222222222222222222222"
	zero = "0000000000000000000000000000000000000000"
)

func TestReadAdvert(t *testing.T) {
	a, err := readAdvert(pkts(t,
		hexA+" HEAD\x00multi_ack side-band-64k symref=HEAD:refs/heads/main agent=git/2.39\n",
		hexA+" refs/heads/main\n",
		hexB+" refs/tags/v1\n",
		hexA+" refs/tags/v1^{}\n",
		""))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"HEAD": hexA, "refs/heads/main": hexA, "refs/tags/v1": hexB}
	if len(a.refs) != len(want) {
		t.Errorf("refs = %v, want %v (peeled entries left out)", a.refs, want)
	}
	for name, h := range want {
		if a.refs[name].String() != h {
			t.Errorf("refs[%s] = %s, want %s", name, a.refs[name], h)
		}
	}
	if !a.supports("side-band-64k") || a.caps["symref"] != "HEAD:refs/heads/main" || a.supports("thin-pack") {
		t.Errorf("capabilities = %v", a.caps)
	}

	// An empty repository: capabilities^{} and no refs.
	a, err = readAdvert(pkts(t, zero+" capabilities^{}\x00report-status delete-refs\n", ""))
	if err != nil || len(a.refs) != 0 || !a.supports("report-status") {
		t.Errorf("empty repository: %+v, %v", a, err)
	}
	// "version 1" comes before the refs when a server speaks v1.
	a, err = readAdvert(pkts(t, "version 1\n", hexA+" refs/heads/main\x00ofs-delta\n", ""))
	if err != nil || a.refs["refs/heads/main"].String() != hexA || !a.supports("ofs-delta") {
		t.Errorf("version 1: %+v, %v", a, err)
	}
	// A SHA-256 repository is refused by name.
	a, err = readAdvert(pkts(t, zero+" capabilities^{}\x00object-format=sha256\n", ""))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.checkFormat(); err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Errorf("sha256 remote: %v", err)
	}

	// receive-pack's ".have" lines (its alternates' tips) are not refs;
	// "shallow" lines (a shallow remote) come after the refs.
	a, err = readAdvert(pkts(t,
		hexA+" refs/heads/main\x00report-status\n",
		hexB+" .have\n",
		"shallow "+hexB+"\n",
		""))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := a.refs[".have"]; ok || len(a.refs) != 1 {
		t.Errorf("refs = %v: want refs/heads/main only, no .have", a.refs)
	}
	if len(a.haves) != 1 || a.haves[0].String() != hexB {
		t.Errorf("haves = %v, want [%s]", a.haves, hexB)
	}
	if len(a.shallow) != 1 || a.shallow[0].String() != hexB {
		t.Errorf("shallow = %v, want [%s]", a.shallow, hexB)
	}

	for name, in := range map[string]*bytes.Buffer{
		"bad-shallow": pkts(t, hexA+" refs/heads/main\x00\n", "shallow xyz\n", ""),
		"hang-up":     {},
		"truncated":   pkts(t, hexA+" refs/heads/main\x00\n"),
		"malformed":   pkts(t, "not-a-hash refs/heads/main\x00\n", ""),
		"ERR":         pkts(t, "ERR access denied or repository not exported: /x.git\n"),
	} {
		if _, err := readAdvert(in); err == nil {
			t.Errorf("%s: no error", name)
		} else if (name == "hang-up" || name == "ERR") && !errors.Is(err, errNoRepository) {
			t.Errorf("%s: %v does not say there is no repository", name, err)
		}
	}
}

func TestFetchRequestAndResponse(t *testing.T) {
	a := &advert{caps: map[string]string{"side-band-64k": "", "side-band": "", "ofs-delta": "", "shallow": "", "thin-pack": "", "no-progress": ""}}
	caps, sb := fetchCaps(a, 1)
	if sb != 65520 || strings.Contains(strings.Join(caps, " "), "thin-pack") || !strings.Contains(strings.Join(caps, " "), "shallow") {
		t.Errorf("fetchCaps = %v, %d: want side-band-64k, shallow, never thin-pack", caps, sb)
	}
	var req bytes.Buffer
	if err := writeFetchRequest(&req, fetchRequest{wants: []Hash{mustHash(t, hexA), mustHash(t, hexB)}, haves: []Hash{mustHash(t, hexB)}, depth: 1}, caps); err != nil {
		t.Fatal(err)
	}
	want := pkts(t, "want "+hexA+" "+strings.Join(caps, " ")+"\n", "want "+hexB+"\n", "deepen 1\n", "", "have "+hexB+"\n", "done\n")
	if req.String() != want.String() {
		t.Errorf("request:\n%q\nwant\n%q", req.String(), want.String())
	}
	// A shallow client names its shallow commits after the wants, before
	// the depth and the flush-pkt (gitprotocol-pack(5), upload-request).
	req.Reset()
	if err := writeFetchRequest(&req, fetchRequest{wants: []Hash{mustHash(t, hexA)}, shallow: []Hash{mustHash(t, hexB), mustHash(t, hexA)}, depth: 2}, nil); err != nil {
		t.Fatal(err)
	}
	want = pkts(t, "want "+hexA+"\n", "shallow "+hexB+"\n", "shallow "+hexA+"\n", "deepen 2\n", "", "done\n")
	if req.String() != want.String() {
		t.Errorf("shallow request:\n%q\nwant\n%q", req.String(), want.String())
	}

	// The response: shallow list, NAK, then the pack in side-band 1 with
	// progress on 2.
	resp := pkts(t, "shallow "+hexA+"\n", "unshallow "+hexB+"\n", "", "NAK\n", "\x02counting objects\n", "\x01PACK", "\x01-data", "")
	rd, su, err := readFetchResponse(resp, 1, 65520)
	if err != nil {
		t.Fatal(err)
	}
	if len(su.shallow) != 1 || su.shallow[0].String() != hexA || len(su.unshallow) != 1 || su.unshallow[0].String() != hexB {
		t.Errorf("shallow list = %+v, want shallow %s, unshallow %s", su, hexA, hexB)
	}
	got, err := io.ReadAll(rd)
	if err != nil || string(got) != "PACK-data" {
		t.Errorf("pack = %q, %v; want the channel-1 bytes only", got, err)
	}
	// Channel 3 is the remote's fatal error.
	rd, _, err = readFetchResponse(pkts(t, "ACK "+hexB+"\n", "\x01PA", "\x03upload-pack: out of memory\n"), 0, 65520)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(rd); err == nil || !strings.Contains(err.Error(), "out of memory") {
		t.Errorf("channel 3: %v", err)
	}
	// The pack ends with a flush-pkt: a stream that ends before it was cut
	// short, however whole the bytes so far look.
	rd, _, err = readFetchResponse(pkts(t, "NAK\n", "\x01PACK", "\x01-data"), 0, 65520)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(rd); err == nil || !strings.Contains(err.Error(), "hung up") || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("side-band stream without its flush-pkt: read %q, %v; want an error saying the remote hung up", got, err)
	}
	// Anything else where ACK/NAK belongs is an error.
	if _, _, err := readFetchResponse(pkts(t, "PACK\n"), 0, 0); err == nil {
		t.Error("a response without ACK or NAK was accepted")
	}
}

func TestPushReport(t *testing.T) {
	var cmds bytes.Buffer
	ups := []RefUpdate{{Name: "refs/gitseal/pins/prod", New: mustHash(t, hexA)}, {Name: "refs/gitseal/x", Old: mustHash(t, hexB)}}
	if err := writeCommands(&cmds, ups, []string{"report-status", "atomic"}); err != nil {
		t.Fatal(err)
	}
	want := pkts(t, zero+" "+hexA+" refs/gitseal/pins/prod\x00report-status atomic\n", hexB+" "+zero+" refs/gitseal/x\n", "")
	if cmds.String() != want.String() {
		t.Errorf("commands:\n%q\nwant\n%q", cmds.String(), want.String())
	}
	rep, err := readPushReport(pkts(t, "unpack ok\n", "ok refs/gitseal/pins/prod\n", "ng refs/gitseal/x stale info\n", ""))
	if err != nil || rep.unpack != "ok" || len(rep.rejected) != 1 || rep.rejected["refs/gitseal/x"] != "stale info" {
		t.Errorf("report = %+v, %v", rep, err)
	}
	rep, err = readPushReport(pkts(t, "unpack index-pack abnormal exit\n", "ng refs/a unpacker error\n", ""))
	if err != nil || rep.unpack != "index-pack abnormal exit" {
		t.Errorf("unpack failure: %+v, %v", rep, err)
	}
	if _, err := readPushReport(pkts(t, "unpack ok\n")); err == nil {
		t.Error("a report cut short was accepted")
	}
}

func TestParseEndpoint(t *testing.T) {
	for in, want := range map[string]endpoint{
		"/srv/a.git":                           {scheme: "file", path: "/srv/a.git"},
		"file:///srv/a.git":                    {scheme: "file", path: "/srv/a.git"},
		"git://h.example:9999/a.git":           {scheme: "git", host: "h.example", port: "9999", path: "/a.git"},
		"ssh://git@h.example:2222/~u/a.git":    {scheme: "ssh", user: "git", host: "h.example", port: "2222", path: "~u/a.git"},
		"git@github.com:acme/app.git":          {scheme: "ssh", user: "git", host: "github.com", path: "acme/app.git"},
		"h.example:a.git":                      {scheme: "ssh", host: "h.example", path: "a.git"},
		"https://u:tok@h.example/acme/a.git":   {scheme: "https", user: "u", pass: "tok", passSet: true, host: "h.example", path: "/acme/a.git"},
		"./relative/but/a/path:with-a-colon":   {scheme: "file", path: "./relative/but/a/path:with-a-colon"},
		"git+ssh://h.example/srv/a.git":        {scheme: "ssh", host: "h.example", path: "/srv/a.git"},
		"[h.example:2222]:a.git":               {scheme: "ssh", host: "h.example", port: "2222", path: "a.git"},
		"git@[h.example:2222]:acme/a.git":      {scheme: "ssh", user: "git", host: "h.example", port: "2222", path: "acme/a.git"},
		"[h.example]:/srv/a.git":               {scheme: "ssh", host: "h.example", path: "/srv/a.git"},
		"git@[::1]:a.git":                      {scheme: "ssh", user: "git", host: "::1", path: "a.git"},
		"[h.example:notaport]:a.git":           {scheme: "ssh", host: "h.example:notaport", path: "a.git"},
		"http://127.0.0.1:8080/x.git?a=b#frag": {scheme: "http", host: "127.0.0.1", port: "8080", path: "/x.git"},
	} {
		got, err := parseEndpoint(in)
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		got.httpURL = nil
		if *got != want {
			t.Errorf("%s:\n got %+v\nwant %+v", in, *got, want)
		}
	}
	for _, bad := range []string{"", "ftp://h/a.git", "git:///a.git", "ssh://h.example", "file://other-host/a.git",
		"[h.example:22:a.git", "[h.example:22]a.git", "[h.example:22]:", "git@[]:a.git"} {
		if _, err := parseEndpoint(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	ep, _ := parseEndpoint("https://u:tok@h.example/a.git")
	if ep.httpURL.User != nil || ep.httpURL.String() != "https://h.example/a.git" {
		t.Errorf("http URL keeps its user info: %v", ep.httpURL)
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://u:s3cret-token@h.example/a.git":       "https://u:***@h.example/a.git",
		"https://:s3cret@h.example/a.git":              "https://:***@h.example/a.git",
		"https://u@h.example/a.git":                    "https://u@h.example/a.git",
		"ssh://git@h.example/a@b.git":                  "ssh://git@h.example/a@b.git",
		"https://u:p%zz@h/a.git":                       "https://u:***@h/a.git", // not even a valid URL
		"git@github.com:acme/a.git":                    "git@github.com:acme/a.git",
		"/srv/a.git":                                   "/srv/a.git",
		"https://h.example/a.git?access_token=abc&x=1": "https://h.example/a.git?access_token=***&x=***",
		"https://u:pa?ss@h/a.git":                      "https://u:***@h/a.git",
		"https://h.example?tok=1":                      "https://h.example?tok=***",
		"https://h/a.git?flag":                         "https://h/a.git?flag",
		"https://h/a.git?t=1#frag":                     "https://h/a.git?t=***#frag",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSQQuote(t *testing.T) {
	for in, want := range map[string]string{
		"/srv/a.git":   `'/srv/a.git'`,
		"it's":         `'it'\''s'`,
		"wow!":         `'wow'\!''`,
		"a b;rm -rf /": `'a b;rm -rf /'`,
	} {
		if got := sqQuote(in); got != want {
			t.Errorf("sqQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestParseErrorHidesPassword: a URL that does not parse is not quoted back.
func TestParseErrorHidesPassword(t *testing.T) {
	for _, raw := range []string{"https://user:hunter2%zz@example.com/x.git", "https://user:hunter2@example.com:99999999x/x.git"} {
		_, err := parseEndpoint(raw)
		if err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("parseEndpoint(%q) = %v; want an error without the password", raw, err)
		}
	}
}

// TestSSHVariant: the variant comes from GIT_SSH_VARIANT, else ssh.variant,
// else the program's name, and decides how the port is passed (git help
// config, ssh.variant).
func TestSSHVariant(t *testing.T) {
	ep := &endpoint{scheme: "ssh", user: "git", host: "h.example", port: "2222", path: "a.git"}
	noConfig := func(string) (string, bool) { return "", false }
	for _, tc := range []struct {
		prog    sshProgram
		env     string // GIT_SSH_VARIANT; "-" unset
		config  string // ssh.variant; "" unset
		want    sshVariant
		wantArg string // the arguments before the target
	}{
		{sshProgram{path: "/usr/bin/ssh"}, "-", "", variantSSH, "-p 2222"},
		{sshProgram{path: "/opt/putty/plink"}, "-", "", variantPlink, "-P 2222"},
		{sshProgram{path: "/opt/putty/plink.exe"}, "-", "", variantPlink, "-P 2222"},
		{sshProgram{path: "/opt/tgit/TortoisePlink.exe"}, "-", "", variantTortoisePlink, "-batch -P 2222"},
		{sshProgram{cmdline: `"/opt/my putty/plink" -v`}, "-", "", variantPlink, "-P 2222"},
		{sshProgram{cmdline: "ssh -F /dev/null"}, "-", "", variantSSH, "-p 2222"},
		{sshProgram{path: "/usr/local/bin/wrapper"}, "-", "", variantAuto, ""},
		{sshProgram{path: "/usr/local/bin/wrapper"}, "putty", "", variantPlink, "-P 2222"},
		{sshProgram{path: "/usr/local/bin/wrapper"}, "-", "tortoiseplink", variantTortoisePlink, "-batch -P 2222"},
		{sshProgram{path: "/usr/local/bin/wrapper"}, "-", "whatever", variantSSH, "-p 2222"},
		{sshProgram{path: "/usr/bin/ssh"}, "simple", "", variantSimple, ""},
		{sshProgram{path: "/usr/bin/ssh"}, "auto", "plink", variantSSH, "-p 2222"}, // the variable wins, and asks for detection
		{sshProgram{path: "/opt/putty/plink"}, "-", "auto", variantPlink, "-P 2222"},
	} {
		t.Setenv("GIT_SSH_VARIANT", tc.env) // restored when the test ends
		if tc.env == "-" {
			os.Unsetenv("GIT_SSH_VARIANT")
		}
		config := noConfig
		if tc.config != "" {
			config = func(key string) (string, bool) { return tc.config, key == "ssh.variant" }
		}
		v := sshVariantOf(tc.prog, config)
		if v != tc.want {
			t.Errorf("%+v (GIT_SSH_VARIANT %q, ssh.variant %q): variant %d, want %d", tc.prog, tc.env, tc.config, v, tc.want)
			continue
		}
		if v == variantAuto {
			continue
		}
		args, err := sshArgs(ep, "git-upload-pack", v, tc.prog.name())
		if v == variantSimple {
			if err == nil || !strings.Contains(err.Error(), "port 2222") || !strings.Contains(err.Error(), "ssh.variant") {
				t.Errorf("simple with a port: %v, %v; want an error naming the port and ssh.variant", args, err)
			}
			noPort := *ep
			noPort.port = ""
			if args, err := sshArgs(&noPort, "git-upload-pack", v, "ssh"); err != nil || len(args) != 2 {
				t.Errorf("simple without a port: %q, %v; want the target and the command only", args, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%+v: %v", tc.prog, err)
			continue
		}
		if got := strings.Join(args[:len(args)-2], " "); got != tc.wantArg || args[len(args)-2] != "git@h.example" {
			t.Errorf("%+v: arguments %q, want %q then git@h.example", tc.prog, args, tc.wantArg)
		}
	}
}
