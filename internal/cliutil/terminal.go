package cliutil

import (
	"io"
	"strings"
	"sync"
	"unicode/utf8"
)

// TerminalWriter passes text to a terminal (or whatever stands for one)
// with every character that is not printable text, a line feed or a tab
// escaped as Printable escapes it. A program whose output shows strings
// from another (chatctl shows the daemon's) writes everything through one:
// a string a command forgot to make printable still cannot set the
// window's title, clear the screen, move the cursor or turn the text
// around. Its own output is printable text already, and passes unchanged.
//
// A character split between two writes is held back until the next write
// completes it; Flush writes what is held at the end.
type TerminalWriter struct {
	w     io.Writer
	mu    sync.Mutex
	carry []byte // the start of a character that the next write completes
}

// NewTerminalWriter returns a TerminalWriter writing to w.
func NewTerminalWriter(w io.Writer) *TerminalWriter { return &TerminalWriter{w: w} }

// Raw is the writer underneath, for output that is not text for a
// terminal (a byte stream, a screen the program draws with its own
// control sequences).
func (t *TerminalWriter) Raw() io.Writer { return t.w }

// RawWriter is w's Raw writer when w is a TerminalWriter, else w.
func RawWriter(w io.Writer) io.Writer {
	if t, ok := w.(*TerminalWriter); ok {
		return t.w
	}
	return w
}

func (t *TerminalWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	buf := p
	if len(t.carry) > 0 {
		buf = append(t.carry, p...)
		t.carry = nil
	}
	cut := len(buf)
	for i := len(buf) - 1; i >= 0 && i > len(buf)-utf8.UTFMax; i-- {
		if utf8.RuneStart(buf[i]) {
			if !utf8.FullRune(buf[i:]) {
				cut = i
			}
			break
		}
	}
	if cut < len(buf) {
		t.carry = append([]byte(nil), buf[cut:]...)
	}
	if err := t.write(buf[:cut]); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush writes a character left incomplete at the end, escaped.
func (t *TerminalWriter) Flush() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	held := t.carry
	t.carry = nil
	if len(held) == 0 {
		return nil
	}
	_, err := io.WriteString(t.w, Printable(string(held)))
	return err
}

func (t *TerminalWriter) write(p []byte) error {
	s := string(p)
	if isPrintable(s, true) {
		_, err := t.w.Write(p)
		return err
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == '\n' || r == '\t' {
			b.WriteByte(byte(r))
		} else {
			writeEscaped(&b, r, size, s[i])
		}
		i += size
	}
	_, err := io.WriteString(t.w, b.String())
	return err
}
