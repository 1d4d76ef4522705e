package cliutil

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Printable returns s with every character that is not printable text
// written as a Go escape (\x1b, \u202e, \ufeff, \xff for a byte that is not
// UTF-8), so that a string from another program (a client's address, a
// message from the daemon) printed by a command can neither drive the
// terminal nor pass for other text. Printable text, spaces included, is
// left as it is; a string without anything to escape is returned unchanged.
func Printable(s string) string {
	if isPrintable(s, false) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		writeEscaped(&b, r, size, s[i])
		i += size
	}
	return b.String()
}

// writeEscaped writes one character as Printable does: itself when it is
// printable text, else its escape.
func writeEscaped(b *strings.Builder, r rune, size int, first byte) {
	switch {
	case r == utf8.RuneError && size == 1:
		fmt.Fprintf(b, `\x%02x`, first)
	case r == '\\' || unicode.IsPrint(r):
		b.WriteRune(r)
	default:
		q := strconv.QuoteRuneToASCII(r) // '\x1b', '\u202e'
		b.WriteString(q[1 : len(q)-1])
	}
}

// isPrintable reports whether s is all printable text (and, with lines,
// line feeds and tabs).
func isPrintable(s string, lines bool) bool {
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c < 0x20 && !(lines && (c == '\n' || c == '\t')) || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || !unicode.IsPrint(r) {
			return false
		}
		i += size
	}
	return true
}
