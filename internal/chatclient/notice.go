package chatclient

import (
	"bytes"
	"strings"
	"unicode"
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
