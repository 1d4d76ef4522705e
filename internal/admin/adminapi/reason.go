package adminapi

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// CheckReason reports why a kick reason is unacceptable, or nil. The reason
// is sent to the client inside one notice line and shown on operators'
// terminals, so it must be short, valid UTF-8 and printable: letters,
// marks, numbers, punctuation, symbols and the ASCII space
// (unicode.IsPrint). That refuses control characters and also the
// invisible or reordering ones that are not controls: line and paragraph
// separators (U+2028, U+2029), bidirectional overrides (U+202E), zero-width
// spaces and joiners (U+200B), the byte-order mark (U+FEFF) and other
// spaces than U+0020.
func CheckReason(r string) error {
	if len(r) > MaxReasonLen {
		return fmt.Errorf("kick reason is too long (%d bytes; at most %d)", len(r), MaxReasonLen)
	}
	if !utf8.ValidString(r) {
		return fmt.Errorf("kick reason is not valid UTF-8")
	}
	for _, c := range r {
		if !unicode.IsPrint(c) {
			return fmt.Errorf("kick reason must be one line of printable text (it contains %U)", c)
		}
	}
	return nil
}
