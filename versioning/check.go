package versioning

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/gitseal/gitseal/cipher"
	"github.com/gitseal/gitseal/repo"
)

// Problem is one thing Check or Doctor found wrong, at a path.
type Problem struct {
	// Commit is where it was found.
	Commit repo.Hash
	// Path is the file concerned, from the repository root.
	Path string
	Msg  string
}

func (p Problem) String() string { return p.Path + ": " + p.Msg }

// Check validates the store at the snapshot's commit without any key, for
// CI: every file parses and has a known format version, nothing that does
// not look sealed sits among the secrets or keys, recipients files parse,
// and every environment's data key is wrapped once for each listed
// recipient (SSH recipients are matched by the tag in their age stanza; age
// X25519 stanzas name no recipient, so they are counted). It returns the
// problems found; an error means the check itself could not run.
func (sn *Snapshot) Check() ([]Problem, error) {
	r := sn.store.repo
	var out []Problem
	add := func(p, format string, args ...any) {
		out = append(out, Problem{Commit: sn.commit, Path: p, Msg: fmt.Sprintf(format, args...)})
	}
	top, err := r.DirAt(sn.commit, Root)
	if err != nil {
		return nil, err
	}
	envs := 0
	for _, ent := range top {
		p := path.Join(Root, ent.Name)
		switch {
		case ent.Name == "store.json":
		case !ent.Mode.IsDir():
			add(p, "unexpected file in %s", Root)
		case cipher.ValidName(ent.Name) != nil:
			add(p, "not a valid environment name")
		default:
			envs++
			if err := sn.checkEnv(ent.Name, add); err != nil {
				return nil, err
			}
		}
	}
	if envs == 0 {
		add(Root, "no environment")
	}
	if _, err := sn.Env(sn.meta.DefaultEnv); err != nil {
		add(storePath, "the default environment %q does not exist", sn.meta.DefaultEnv)
	}
	return out, nil
}

func (sn *Snapshot) checkEnv(env string, add func(p, format string, args ...any)) error {
	r := sn.store.repo
	entries, err := r.DirAt(sn.commit, envDir(env))
	if err != nil {
		return err
	}
	have := map[string]repo.TreeEntry{}
	for _, e := range entries {
		have[e.Name] = e
		switch e.Name {
		case "recipients", "datakey.age", "datakey.scrypt.age", "secrets", "keys":
		default:
			add(path.Join(envDir(env), e.Name), "unexpected entry in environment %s", env)
		}
	}
	var rs []cipher.Recipient
	if _, ok := have["recipients"]; !ok {
		add(recipientsPath(env), "missing")
	} else if data, _, err := r.FileAt(sn.commit, recipientsPath(env)); err != nil {
		add(recipientsPath(env), "not a file: %v", err)
	} else if rs, err = cipher.ParseRecipients(data); err != nil {
		add(recipientsPath(env), "%v", err)
	} else if len(rs) == 0 {
		add(recipientsPath(env), "lists no recipient: nobody can be given the data key")
	}
	if _, ok := have["datakey.age"]; !ok {
		add(dataKeyPath(env), "missing: the environment cannot be read")
	} else if data, _, err := r.FileAt(sn.commit, dataKeyPath(env)); err != nil {
		add(dataKeyPath(env), "not a file: %v", err)
	} else if stanzas, err := ageStanzas(data); err != nil {
		add(dataKeyPath(env), "%v", err)
	} else if rs != nil {
		for _, msg := range checkWrapped(stanzas, rs) {
			add(dataKeyPath(env), "%s", msg)
		}
	}
	if _, ok := have["datakey.scrypt.age"]; ok {
		data, _, err := r.FileAt(sn.commit, passphrasePath(env))
		if err == nil {
			var st []ageStanza
			if st, err = ageStanzas(data); err == nil && (len(st) != 1 || st[0].typ != "scrypt") {
				err = fmt.Errorf("not wrapped with exactly one passphrase (scrypt) stanza")
			}
		}
		if err != nil {
			add(passphrasePath(env), "%v", err)
		}
	}
	for _, d := range []string{"secrets", "keys"} {
		dir := path.Join(envDir(env), d)
		if _, ok := have[d]; !ok {
			continue
		}
		ents, err := r.DirAt(sn.commit, dir)
		if err != nil {
			add(dir, "not a directory")
			continue
		}
		for _, e := range ents {
			p := path.Join(dir, e.Name)
			if e.Mode != repo.ModeFile && e.Mode != repo.ModeExec {
				add(p, "not a regular file")
				continue
			}
			if err := cipher.ValidName(e.Name); err != nil {
				add(p, "invalid name: %v", err)
			}
			data, err := r.ReadBlob(e.Hash)
			if err != nil {
				return err
			}
			if err := cipher.CheckSealed(data); err != nil {
				add(p, "not a sealed file (plaintext committed by mistake?): %v", err)
			}
		}
	}
	return nil
}

// ageStanza is one recipient stanza of an age header.
type ageStanza struct {
	typ  string
	args []string
}

// ageStanzas reads the recipient stanzas of an age file, armored or not.
// It checks the structure only; the MAC needs the file key.
func ageStanzas(data []byte) ([]ageStanza, error) {
	const begin, end = "-----BEGIN AGE ENCRYPTED FILE-----", "-----END AGE ENCRYPTED FILE-----"
	text := strings.TrimSpace(string(data))
	if strings.HasPrefix(text, begin) {
		if !strings.HasSuffix(text, end) {
			return nil, fmt.Errorf("truncated age armor")
		}
		b64 := strings.Join(strings.Fields(strings.TrimSuffix(strings.TrimPrefix(text, begin), end)), "")
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return nil, fmt.Errorf("age armor is not valid base64")
		}
		data = raw
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 4096), 1<<20)
	if !sc.Scan() || sc.Text() != "age-encryption.org/v1" {
		return nil, fmt.Errorf("not an age v1 file: %w", cipher.ErrUnknownVersion)
	}
	var out []ageStanza
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "-> "):
			f := strings.Fields(line[3:])
			if len(f) == 0 {
				return nil, fmt.Errorf("age header: empty stanza")
			}
			out = append(out, ageStanza{typ: f[0], args: f[1:]})
		case strings.HasPrefix(line, "--- "):
			if len(out) == 0 {
				return nil, fmt.Errorf("age header: no recipient stanza")
			}
			return out, nil
		case len(out) == 0:
			return nil, fmt.Errorf("age header: body line before any stanza")
		}
	}
	return nil, fmt.Errorf("age header: truncated (no MAC line)")
}

// checkWrapped compares the stanzas of datakey.age with the recipients file.
func checkWrapped(stanzas []ageStanza, rs []cipher.Recipient) []string {
	var msgs []string
	x25519, ageKeys := 0, 0
	tags := map[string]int{}
	for _, s := range stanzas {
		switch s.typ {
		case "X25519":
			x25519++
		case "ssh-ed25519", "ssh-rsa":
			if len(s.args) > 0 {
				tags[s.typ+" "+s.args[0]]++
			}
		case "scrypt":
			msgs = append(msgs, "holds a passphrase stanza; passphrases belong in datakey.scrypt.age")
		}
	}
	for _, r := range rs {
		if r.Type() == "age" {
			ageKeys++
			continue
		}
		f := strings.Fields(r.Key)
		if len(f) < 2 {
			continue
		}
		blob, err := base64.StdEncoding.DecodeString(f[1])
		if err != nil {
			continue
		}
		sum := sha256.Sum256(blob)
		tag := r.Type() + " " + base64.RawStdEncoding.EncodeToString(sum[:4])
		if tags[tag] == 0 {
			msgs = append(msgs, fmt.Sprintf("not wrapped for recipient %s (%s); `gitseal rotate` wraps it for every listed recipient", r.Fingerprint(), nameOr(r)))
		}
		delete(tags, tag)
	}
	if len(tags) > 0 {
		var extra []string
		for t := range tags {
			extra = append(extra, t)
		}
		sort.Strings(extra)
		msgs = append(msgs, fmt.Sprintf("wrapped for SSH keys not in the recipients file (%s)", strings.Join(extra, ", ")))
	}
	if x25519 != ageKeys {
		msgs = append(msgs, fmt.Sprintf("wrapped for %d age keys, but the recipients file lists %d", x25519, ageKeys))
	}
	return msgs
}

func nameOr(r cipher.Recipient) string {
	if r.Name != "" {
		return r.Name
	}
	return "unnamed"
}

// DoctorReport is what Doctor found in one environment at one commit.
type DoctorReport struct {
	// Where is "HEAD" or the pin ref.
	Where  string
	Commit repo.Hash
	Env    string
	// Opened counts the secrets and keys that decrypted.
	Opened   int
	Problems []Problem
}

// Doctor proves, with the caller's key, that every secret and named key of
// every environment at the branch tip, and of every published environment at
// its pin (refs/gitseal/pins/<env>), decrypts.
func (s *Store) Doctor() ([]DoctorReport, error) {
	var out []DoctorReport
	tip, err := s.Snapshot("")
	if err != nil {
		return nil, err
	}
	envs, err := tip.Envs()
	if err != nil {
		return nil, err
	}
	for _, env := range envs {
		out = append(out, s.doctorEnv("HEAD", tip, env))
	}
	pins, err := s.repo.Refs(PinRef(""))
	if err != nil {
		return nil, err
	}
	refs := make([]string, 0, len(pins))
	for ref := range pins {
		refs = append(refs, ref)
	}
	sort.Strings(refs)
	for _, ref := range refs {
		env := strings.TrimPrefix(ref, PinRef(""))
		c, err := s.repo.ResolveCommit(pins[ref].String())
		var rep DoctorReport
		if err == nil {
			var sn *Snapshot
			if sn, err = s.SnapshotAt(c); err == nil {
				rep = s.doctorEnv(ref, sn, env)
			}
		}
		if err != nil {
			rep = DoctorReport{Where: ref, Commit: pins[ref], Env: env,
				Problems: []Problem{{Commit: pins[ref], Path: ref, Msg: err.Error()}}}
		}
		out = append(out, rep)
	}
	return out, nil
}

func (s *Store) doctorEnv(where string, sn *Snapshot, env string) DoctorReport {
	rep := DoctorReport{Where: where, Commit: sn.commit, Env: env}
	fail := func(p string, err error) {
		rep.Problems = append(rep.Problems, Problem{Commit: sn.commit, Path: p, Msg: err.Error()})
	}
	e, err := sn.Env(env)
	if err != nil {
		fail(envDir(env), err)
		return rep
	}
	if _, err := e.DataKey(); err != nil {
		fail(dataKeyPath(env), err)
		return rep
	}
	names, err := e.Names()
	if err != nil {
		fail(secretsDir(env), err)
	}
	for _, n := range names {
		if _, err := e.Get(n); err != nil {
			fail(secretPath(env, n), err)
		} else {
			rep.Opened++
		}
	}
	keys, err := e.KeyNames()
	if err != nil {
		fail(keysDir(env), err)
	}
	for _, n := range keys {
		if _, err := e.Keyring(n); err != nil {
			fail(keyPath(env, n), err)
		} else {
			rep.Opened++
		}
	}
	return rep
}
