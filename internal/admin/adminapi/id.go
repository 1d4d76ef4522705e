package adminapi

import (
	"fmt"
	"strconv"
)

// FormatID writes a client ID the way the API and chatctl show it.
func FormatID(id uint64) string { return strconv.FormatUint(id, 10) }

// ParseID parses a client ID as the API and chatctl accept it: a positive
// decimal number, nothing else (no sign, no spaces, no leading zeros).
func ParseID(s string) (uint64, error) {
	bad := fmt.Errorf("bad client id %q: must be a positive whole number", s)
	if s == "" || len(s) > 20 || s[0] < '1' || s[0] > '9' {
		return 0, bad
	}
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, bad
	}
	return id, nil
}
