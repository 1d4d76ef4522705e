package cliutil

import (
	"fmt"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// AppendPrintableJSON appends the JSON text src to dst with every
// character in its strings that is not printable text (DEL, C1 controls,
// U+202E and the other format characters, anything unassigned) written as
// a \u escape, and every byte that is not UTF-8 as \ufffd, as
// encoding/json decodes it. The JSON means what it meant; printed, it can
// neither drive a terminal nor hide text. src must be valid JSON (as a
// decoder that accepted it, or encoding/json, leaves it).
func AppendPrintableJSON(dst, src []byte) []byte {
	inString := false
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case !inString:
			inString = c == '"'
			dst = append(dst, c)
			i++
		case c == '\\' && i+1 < len(src):
			dst = append(dst, c, src[i+1]) // an escape is printable already
			i += 2
		case c == '"':
			inString = false
			dst = append(dst, c)
			i++
		case c < utf8.RuneSelf:
			if c < 0x20 || c == 0x7f {
				dst = fmt.Appendf(dst, `\u%04x`, c)
			} else {
				dst = append(dst, c)
			}
			i++
		default:
			r, size := utf8.DecodeRune(src[i:])
			switch {
			case r == utf8.RuneError && size == 1:
				dst = append(dst, `\ufffd`...)
			case unicode.IsPrint(r):
				dst = append(dst, src[i:i+size]...)
			case r > 0xffff:
				r1, r2 := utf16.EncodeRune(r)
				dst = fmt.Appendf(dst, `\u%04x\u%04x`, r1, r2)
			default:
				dst = fmt.Appendf(dst, `\u%04x`, r)
			}
			i += size
		}
	}
	return dst
}
