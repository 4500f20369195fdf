package repo

// The git wire protocol, version 0/1 (gitprotocol-pack(5)), as far as
// gitseal speaks it: reading a ref advertisement, asking upload-pack for a
// pack (wants, haves, an optional depth, "done"), and sending receive-pack
// ref updates with a pack and reading its report. Framing is go-git's
// plumbing/format/pktline; the rest is here, so that gitseal does not link
// go-git's transport packages, whose initialisation (and the config,
// OpenPGP and HTTP/2 packages they bring) cost every gitseal process about
// a millisecond and a half at start-up, whatever the command.
//
// The byte streams come from a transport (transport.go): a local
// git-upload-pack process, git://, ssh:// or smart HTTP.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/format/pktline"
)

// agentCap is what gitseal calls itself to a remote.
const agentCap = "agent=gitseal"

// Conditions of the wire, for wording errors.
var (
	errNoRepository = errors.New("no git repository there")
	errAuthRequired = errors.New("authentication required")
	errAuthFailed   = errors.New("authentication failed")
	// errAccessRefused: an HTTP 403, which is not about credentials being
	// wrong (that is a 401) but about access being refused.
	errAccessRefused = errors.New("access refused")
)

// advert is a remote's ref advertisement.
type advert struct {
	refs map[string]Hash // by full name, "HEAD" included when advertised
	caps map[string]string
	// haves are the ".have" lines of receive-pack: tips of the remote's
	// alternates, objects it has that are at none of its refs. They are
	// not refs and never appear in refs.
	haves []Hash
	// shallow are the remote's shallow commits: it has them but not their
	// parents, so a pack it sends stops there.
	shallow []Hash
}

func (a *advert) supports(c string) bool {
	_, ok := a.caps[c]
	return ok
}

// readAdvert reads a ref advertisement up to its flush-pkt. An empty
// repository advertises no refs (git sends "capabilities^{}" in their
// place; an empty stream or a lone flush-pkt also counts as empty). An
// "ERR" line becomes an error with the remote's text. "shallow" lines (a
// shallow remote) and ".have" lines (receive-pack's alternates) are kept
// apart from the refs.
func readAdvert(rd io.Reader) (*advert, error) {
	a := &advert{refs: map[string]Hash{}, caps: map[string]string{}}
	s := pktline.NewScanner(rd)
	first := true
	for s.Scan() {
		line := s.Bytes()
		if len(line) == 0 { // flush-pkt
			return a, nil
		}
		line = bytes.TrimSuffix(line, []byte("\n"))
		if first {
			first = false
			if string(line) == "version 1" {
				first = true
				continue
			}
			if i := bytes.IndexByte(line, 0); i >= 0 {
				for _, c := range strings.Fields(string(line[i+1:])) {
					k, v, _ := strings.Cut(c, "=")
					a.caps[k] = v
				}
				line = line[:i]
			}
		}
		if rest, ok := bytes.CutPrefix(line, []byte("shallow ")); ok {
			h, err := ParseHash(string(rest))
			if err != nil {
				return nil, fmt.Errorf("malformed shallow line %q in the ref advertisement", clip(string(line)))
			}
			a.shallow = append(a.shallow, h)
			continue
		}
		hexID, name, ok := strings.Cut(string(line), " ")
		h, err := ParseHash(hexID)
		if !ok || err != nil {
			return nil, fmt.Errorf("malformed ref advertisement line %q", clip(string(line)))
		}
		switch {
		case name == ".have":
			a.haves = append(a.haves, h)
		case name == "capabilities^{}" || strings.HasSuffix(name, "^{}"):
		default:
			a.refs[name] = h
		}
	}
	if err := s.Err(); err != nil {
		return nil, wireErr(err)
	}
	if first {
		// Nothing at all: git daemon hangs up like this on a path it does
		// not serve. (An empty repository still sends capabilities^{}.)
		return nil, fmt.Errorf("%w: the remote hung up without listing its refs (no repository at that path, or access denied)", errNoRepository)
	}
	return nil, io.ErrUnexpectedEOF
}

// checkFormat refuses a remote whose object ids are not SHA-1.
func (a *advert) checkFormat() error {
	if f, ok := a.caps["object-format"]; ok && f != "sha1" {
		return fmt.Errorf("the remote's object format is %s; gitseal reads SHA-1 repositories only", f)
	}
	return nil
}

// wireErr turns a pkt-line "ERR" into an error carrying the remote's text.
func wireErr(err error) error {
	var el *pktline.ErrorLine
	if errors.As(err, &el) {
		msg := el.Text
		if strings.Contains(msg, "access denied") || strings.Contains(msg, "not found") ||
			strings.Contains(msg, "does not appear to be a git repository") || strings.Contains(msg, "not exported") {
			return fmt.Errorf("%w: the remote said %q", errNoRepository, msg)
		}
		return fmt.Errorf("the remote said %q", msg)
	}
	return err
}

// fetchRequest is what to ask upload-pack for.
type fetchRequest struct {
	wants []Hash
	haves []Hash
	// shallow are the client's shallow commits (its .git/shallow): the
	// remote must not take their parents for had, and sends what lies
	// behind them when a want needs it.
	shallow []Hash
	depth   int // 0: full history
}

// writeFetchRequest writes wants (with the capabilities asked for on the
// first), the client's shallow commits, the depth, a flush-pkt, the haves
// and "done": the whole negotiation in one go, as a stateless (HTTP)
// request needs and a stateful one allows. caps are those the request asks
// for.
func writeFetchRequest(w io.Writer, req fetchRequest, caps []string) error {
	e := pktline.NewEncoder(w)
	for i, h := range req.wants {
		line := "want " + h.String()
		if i == 0 && len(caps) > 0 {
			line += " " + strings.Join(caps, " ")
		}
		if err := e.EncodeString(line + "\n"); err != nil {
			return err
		}
	}
	for _, h := range req.shallow {
		if err := e.EncodeString("shallow " + h.String() + "\n"); err != nil {
			return err
		}
	}
	if req.depth > 0 {
		if err := e.EncodeString("deepen " + strconv.Itoa(req.depth) + "\n"); err != nil {
			return err
		}
	}
	if err := e.Flush(); err != nil {
		return err
	}
	for _, h := range req.haves {
		if err := e.EncodeString("have " + h.String() + "\n"); err != nil {
			return err
		}
	}
	return e.EncodeString("done\n")
}

// fetchCaps picks the capabilities a fetch asks for among those offered:
// side-band for the pack, no progress, OFS deltas, shallow when a depth is
// asked for; never thin-pack, since a received pack is stored as it
// arrives and must be complete.
func fetchCaps(a *advert, depth int) (caps []string, sideband int) {
	switch {
	case a.supports("side-band-64k"):
		caps, sideband = append(caps, "side-band-64k"), 65520
	case a.supports("side-band"):
		caps, sideband = append(caps, "side-band"), 1000
	}
	for _, c := range []string{"ofs-delta", "no-progress"} {
		if a.supports(c) {
			caps = append(caps, c)
		}
	}
	if depth > 0 && a.supports("shallow") {
		caps = append(caps, "shallow")
	}
	return append(caps, agentCap), sideband
}

// shallowUpdate is the shallow list of upload-pack's answer to a request
// with a depth: commits the pack stops at, and commits the client had as
// shallow whose parents the pack now brings.
type shallowUpdate struct {
	shallow, unshallow []Hash
}

// readFetchResponse reads upload-pack's answer up to the pack: the shallow
// list when a depth was asked for (upload-pack sends none otherwise, even
// to a shallow client), then its one ACK or NAK. What rd holds next is the
// pack, in side-band framing when sideband > 0.
func readFetchResponse(rd io.Reader, depth int, sideband int) (io.Reader, shallowUpdate, error) {
	var su shallowUpdate
	s := pktline.NewScanner(rd)
	if depth > 0 {
		for {
			if !s.Scan() {
				return nil, su, responseErr(s.Err())
			}
			line := strings.TrimSuffix(string(s.Bytes()), "\n")
			if line == "" {
				break
			}
			list := &su.shallow
			hexID, ok := strings.CutPrefix(line, "shallow ")
			if !ok {
				list = &su.unshallow
				hexID, ok = strings.CutPrefix(line, "unshallow ")
			}
			h, err := ParseHash(hexID)
			if !ok || err != nil {
				return nil, su, fmt.Errorf("unexpected %q in the shallow list", clip(line))
			}
			*list = append(*list, h)
		}
	}
	for {
		if !s.Scan() {
			return nil, su, responseErr(s.Err())
		}
		line := string(s.Bytes())
		if line == "NAK\n" || line == "NAK" || strings.HasPrefix(line, "ACK ") {
			break
		}
		if line == "" {
			continue
		}
		return nil, su, fmt.Errorf("unexpected %q where ACK or NAK belongs", clip(line))
	}
	if sideband > 0 {
		return &demuxer{s: pktline.NewScanner(rd)}, su, nil
	}
	return rd, su, nil
}

// responseErr is the error of a scanner that stopped: the stream ended
// (nil) where the protocol says more must come, or the remote's "ERR".
func responseErr(err error) error {
	if err == nil {
		return fmt.Errorf("the remote hung up before the end of its answer: %w", io.ErrUnexpectedEOF)
	}
	return wireErr(err)
}

// demuxer reads the pack out of side-band framing: channel 1 is data,
// 2 progress (dropped), 3 a fatal error from the remote. The stream ends
// with a flush-pkt; an end of stream before it is an error, since a pack
// cut short there might otherwise pass for a whole one.
type demuxer struct {
	s       *pktline.Scanner
	pending []byte
	err     error
}

func (d *demuxer) Read(p []byte) (int, error) {
	for len(d.pending) == 0 {
		if d.err != nil {
			return 0, d.err
		}
		if !d.s.Scan() {
			if err := d.s.Err(); err != nil {
				d.err = wireErr(err)
			} else {
				d.err = fmt.Errorf("the remote hung up before the end of the pack: %w", io.ErrUnexpectedEOF)
			}
			continue
		}
		b := d.s.Bytes()
		if len(b) == 0 { // flush-pkt: the end
			d.err = io.EOF
			continue
		}
		switch b[0] {
		case 1:
			d.pending = b[1:]
		case 2:
		case 3:
			d.err = fmt.Errorf("the remote failed: %s", strings.TrimSpace(string(b[1:])))
		default:
			d.err = fmt.Errorf("side-band: unknown channel %d", b[0])
		}
	}
	n := copy(p, d.pending)
	d.pending = d.pending[n:]
	return n, nil
}

// pushCaps picks the capabilities a push asks for: the per-ref report,
// atomic updates and deletes when offered, OFS deltas in the pack.
func pushCaps(a *advert) []string {
	caps := []string{"report-status"}
	for _, c := range []string{"atomic", "delete-refs", "ofs-delta"} {
		if a.supports(c) {
			caps = append(caps, c)
		}
	}
	return append(caps, agentCap)
}

// writeCommands writes receive-pack's ref update commands and their
// flush-pkt; the pack, when one is sent, follows.
func writeCommands(w io.Writer, updates []RefUpdate, caps []string) error {
	e := pktline.NewEncoder(w)
	for i, u := range updates {
		line := u.Old.String() + " " + u.New.String() + " " + u.Name
		if i == 0 {
			line += "\x00" + strings.Join(caps, " ")
		}
		if err := e.EncodeString(line + "\n"); err != nil {
			return err
		}
	}
	return e.Flush()
}

// pushReport is receive-pack's report-status.
type pushReport struct {
	unpack   string            // "ok", or why unpacking failed
	rejected map[string]string // ref → reason, for each "ng"
}

func readPushReport(rd io.Reader) (pushReport, error) {
	rep := pushReport{rejected: map[string]string{}}
	s := pktline.NewScanner(rd)
	first := true
	for s.Scan() {
		line := strings.TrimSuffix(string(s.Bytes()), "\n")
		if line == "" {
			if first {
				return rep, io.ErrUnexpectedEOF
			}
			return rep, nil
		}
		if first {
			first = false
			u, ok := strings.CutPrefix(line, "unpack ")
			if !ok {
				return rep, fmt.Errorf("unexpected %q where the unpack status belongs", clip(line))
			}
			rep.unpack = u
			continue
		}
		switch {
		case strings.HasPrefix(line, "ok "):
		case strings.HasPrefix(line, "ng "):
			ref, reason, _ := strings.Cut(line[3:], " ")
			rep.rejected[ref] = reason
		default:
			return rep, fmt.Errorf("unexpected %q in the push report", clip(line))
		}
	}
	return rep, responseErr(s.Err())
}

// sqQuote quotes s for a POSIX shell as git does (quote.c sq_quote_buf):
// the ssh remote runs the service command through one.
func sqQuote(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\'', '!':
			b.WriteString("'\\")
			b.WriteByte(c)
			b.WriteByte('\'')
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}
