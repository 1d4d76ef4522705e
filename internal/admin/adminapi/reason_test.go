package adminapi

import (
	"strings"
	"testing"
)

func TestCheckReason(t *testing.T) {
	for _, c := range []struct {
		name, reason, wantErr string // wantErr "" means accepted
	}{
		{"empty", "", ""},
		{"plain", "flooding the channel", ""},
		{"accents and scripts", "für Müll — спам, 垃圾", ""},
		{"emoji", "stop 🙃", ""},
		{"longest", strings.Repeat("x", MaxReasonLen), ""},
		{"too long", strings.Repeat("x", MaxReasonLen+1), "too long"},
		{"invalid UTF-8", "a\xffb", "UTF-8"},
		{"newline", "two\nlines", "U+000A"},
		{"carriage return", "a\rb", "U+000D"},
		{"tab", "a\tb", "U+0009"},
		{"NUL", "a\x00b", "U+0000"},
		{"escape", "a\x1b[2Jb", "U+001B"},
		{"DEL", "a\x7fb", "U+007F"},
		{"C1 CSI", "a\u009bb", "U+009B"},
		{"line separator", "a\u2028b", "U+2028"},
		{"paragraph separator", "a\u2029b", "U+2029"},
		{"right-to-left override", "a\u202eb", "U+202E"},
		{"zero-width space", "a\u200bb", "U+200B"},
		{"byte-order mark", "\ufeffab", "U+FEFF"},
		{"no-break space", "a\u00a0b", "U+00A0"},
		{"private use", "a\ue000b", "U+E000"},
	} {
		err := CheckReason(c.reason)
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("%s: refused: %v", c.name, err)
		case c.wantErr != "" && err == nil:
			t.Errorf("%s: %q accepted", c.name, c.reason)
		case c.wantErr != "" && !strings.Contains(err.Error(), c.wantErr):
			t.Errorf("%s: error %q, want it to name %s", c.name, err, c.wantErr)
		}
	}
}
