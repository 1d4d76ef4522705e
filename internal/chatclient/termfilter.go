package chatclient

import (
	"fmt"
	"unicode/utf8"
)

// termFilter prepares server bytes for a terminal, so that the server can
// never move the cursor, retitle the window, change colours or anything
// else a terminal takes from control characters: C0 controls other than
// newline and tab are shown in caret form (ESC as ^[, DEL as ^?), and C1
// controls (U+0080–U+009F, which terminals take as CSI, OSC and the like)
// as <U+009B>, as less(1) shows them; a lone byte 0x80–0x9F that is not
// part of a UTF-8 character is shown as <9B>, because a terminal not in
// UTF-8 mode takes it as the same C1 control. Carriage returns are dropped:
// they would let the server overwrite a line already shown, and the
// terminal ends lines itself.
//
// It keeps the last bytes of a UTF-8 character cut by a read until the rest
// arrives, so a character is never judged (or the prompt redrawn) in its
// middle.
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
	for len(p) > 0 {
		c := p[0]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(p)
			switch {
			case r >= 0x80 && r <= 0x9f:
				f.out = fmt.Appendf(f.out, "<U+%04X>", r)
			case r == utf8.RuneError && size == 1 && c <= 0x9f:
				f.out = fmt.Appendf(f.out, "<%02X>", c)
			default:
				f.out = append(f.out, p[:size]...)
			}
			p = p[size:]
			continue
		}
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
		p = p[1:]
	}
	return f.out
}
