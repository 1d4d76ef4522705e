package cliutil

import "testing"

func TestPrintable(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"127.0.0.1:5605", "127.0.0.1:5605"},
		{"héllo wörld ✓ 😀", "héllo wörld ✓ 😀"},
		{`back\slash "quoted"`, `back\slash "quoted"`},
		{"red\x1b[31m", `red\x1b[31m`},
		{"bell\a tab\t nl\n cr\r del\x7f", `bell\a tab\t nl\n cr\r del\x7f`},
		{"csi\u009b2J", `csi\u009b2J`},
		{"rlo\u202etxt.exe", `rlo\u202etxt.exe`},
		{"zwsp\u200b bom\ufeff ls\u2028 ps\u2029", `zwsp\u200b bom\ufeff ls\u2028 ps\u2029`},
		{"bad\xff\xfeutf8", `bad\xff\xfeutf8`},
		{"nbsp\u00a0", `nbsp\u00a0`},
	}
	for _, tc := range tests {
		if got := Printable(tc.in); got != tc.want {
			t.Errorf("Printable(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
