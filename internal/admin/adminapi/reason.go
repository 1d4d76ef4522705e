package adminapi

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// CheckReason reports why a kick reason is unacceptable, or nil. The reason
// is sent to the client inside one notice line, so it must be one line of
// printable UTF-8 and short.
func CheckReason(r string) error {
	if len(r) > MaxReasonLen {
		return fmt.Errorf("kick reason is too long (%d bytes; at most %d)", len(r), MaxReasonLen)
	}
	if !utf8.ValidString(r) {
		return fmt.Errorf("kick reason is not valid UTF-8")
	}
	for _, c := range r {
		if unicode.IsControl(c) {
			return fmt.Errorf("kick reason must be one line of printable text (it contains %q)", c)
		}
	}
	return nil
}
