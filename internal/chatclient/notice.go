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
	line      []byte // the current, unfinished line (at most maxNoticeLen bytes)
	long      bool   // the current line was longer than maxNoticeLen
	last      string // text of the last notice, without the prefix
	seq       int    // how many notices have been seen
	lastLive  bool   // no non-blank line has followed the last notice
	answered  bool   // a non-blank line that is not a notice has been seen
	pos       int64  // bytes fed so far
	noticeEnd int64  // pos at the end of the last notice's line
}

// feed takes the next bytes from the server.
func (n *noticeTracker) feed(p []byte) {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			n.add(p)
			n.pos += int64(len(p))
			return
		}
		n.add(p[:i])
		n.pos += int64(i + 1)
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
		n.noticeEnd = n.pos
	case len(bytes.TrimSpace(line)) > 0:
		n.lastLive = false
		n.answered = true
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

// reasonAfterEnd is reason for a close that came after the client's end of
// input (or its half-close), which is normally the server's answer to it.
// A notice explains such a close only when the server's last bytes were
// that notice and the client had sent something that the server then did
// not answer: either the notice came after the end of input (number
// since+1 or later: kicked, shut down or full meanwhile) or the server has
// sent nothing but notices (it turned the client away). chatd answers
// every byte at once, so after an ordinary end the answers follow any
// greeting. With nothing sent a greeting and a server full notice look
// alike; that ends as an ordinary close.
func (n *noticeTracker) reasonAfterEnd(since int, sent bool) (string, bool) {
	if len(n.line) > 0 {
		n.endLine()
	}
	quiet := n.pos == n.noticeEnd // nothing at all came after the notice
	if sent && quiet && n.lastLive && n.last != "" && (n.seq > since || !n.answered) {
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
