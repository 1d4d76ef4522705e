package chatclient

import (
	"bytes"
	"strings"
	"unicode"
	"unicode/utf8"
)

// NoticePrefix starts every line the server sends about the connection
// itself (kicked, shutting down, full) rather than as an answer.
const NoticePrefix = "*** "

// maxNoticeLen bounds how much of a line is kept to explain a close.
const maxNoticeLen = 512

// noticeTracker follows the server's byte stream line by line and remembers
// the latest "*** " notice, so a close can be explained with it. A notice
// explains a close only if it is the last line the server sent: a greeting
// such as "*** welcome" followed by answers does not.
type noticeTracker struct {
	line     []byte // the current, unfinished line (at most maxNoticeLen bytes)
	long     bool   // the current line was longer than maxNoticeLen
	last     string // text of the last notice, without the prefix
	seq      int    // how many notices have been seen
	lastLive bool   // no non-blank line has followed the last notice
}

// feed takes the next bytes from the server.
func (n *noticeTracker) feed(p []byte) {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			n.add(p)
			return
		}
		n.add(p[:i])
		n.endLine()
		p = p[i+1:]
	}
}

func (n *noticeTracker) add(p []byte) {
	room := maxNoticeLen - len(n.line)
	if len(p) > room {
		p = p[:room]
		n.long = true
	}
	n.line = append(n.line, p...)
}

func (n *noticeTracker) endLine() {
	line := n.line
	n.line = n.line[:0]
	n.long = false
	switch {
	case bytes.HasPrefix(line, []byte(NoticePrefix)):
		n.last = cleanNotice(line[len(NoticePrefix):])
		n.seq++
		n.lastLive = true
	case len(bytes.TrimSpace(line)) > 0:
		n.lastLive = false
	}
}

// reason returns the notice that explains a close, if the last line the
// server sent (counting an unfinished one) is a notice and it is notice
// number since+1 or later. It finishes any unfinished line.
func (n *noticeTracker) reason(since int) (string, bool) {
	if len(n.line) > 0 {
		n.endLine()
	}
	if n.lastLive && n.seq > since && n.last != "" {
		return n.last, true
	}
	return "", false
}

// cleanNotice makes notice text safe and tidy for a one-line message.
func cleanNotice(b []byte) string {
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// termFilter prepares server bytes for the interactive terminal: it keeps
// the last bytes of a UTF-8 character cut by a read until the rest arrives
// (so the prompt is never redrawn in the middle of a character) and shows
// control characters other than newline and tab in caret form (^[), so the
// server cannot move the cursor or change the terminal under the line
// editor. Carriage returns are dropped: the terminal adds its own.
type termFilter struct {
	tail []byte
	out  []byte
}

func (f *termFilter) filter(p []byte, final bool) []byte {
	f.out = f.out[:0]
	if len(f.tail) > 0 {
		p = append(f.tail, p...)
		f.tail = nil
	}
	if !final {
		// Hold back an incomplete last character.
		for i := 1; i < utf8.UTFMax && i <= len(p); i++ {
			c := p[len(p)-i]
			if c < utf8.RuneSelf {
				break
			}
			if utf8.RuneStart(c) {
				if !utf8.FullRune(p[len(p)-i:]) {
					f.tail = append([]byte(nil), p[len(p)-i:]...)
					p = p[:len(p)-i]
				}
				break
			}
		}
	}
	for _, c := range p {
		switch {
		case c == '\n' || c == '\t':
			f.out = append(f.out, c)
		case c == '\r':
		case c < 0x20:
			f.out = append(f.out, '^', c+'@')
		case c == 0x7f:
			f.out = append(f.out, '^', '?')
		default:
			f.out = append(f.out, c)
		}
	}
	return f.out
}
