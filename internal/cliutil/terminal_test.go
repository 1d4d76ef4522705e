package cliutil

import (
	"bytes"
	"encoding/json"
	"testing"
)

// hostile holds what a hostile server might send: a title change, a clear
// screen, colour, a bell, a C1 CSI, a right-to-left override, a carriage
// return, DEL and a byte that is not UTF-8.
const hostile = "a\x1b]0;pwned\a\x1b[2J\x1b[31mred\u009b2J\u202etxt\rover\x7f\xffz"

func TestTerminalWriter(t *testing.T) {
	const want = `a\x1b]0;pwned\a\x1b[2J\x1b[31mred\u009b2J\u202etxt\rover\x7f\xffz`
	for _, tc := range []struct {
		name   string
		writes []string
		want   string
	}{
		{"printable text passes", []string{"ID   REMOTE\n7    héllo ✓\ttab\n"}, "ID   REMOTE\n7    héllo ✓\ttab\n"},
		{"hostile text is escaped", []string{hostile + "\n"}, want + "\n"},
		// A character split between writes (bufio's 4 KiB) is kept whole.
		{"split character", []string{"h\xc3", "\xa9llo \xe2\x80", "\xae end\n"}, `héllo \u202e end` + "\n"},
		{"split emoji", []string{"\xf0\x9f", "\x98", "\x80\n"}, "😀\n"},
		{"incomplete at the end", []string{"end\xe2\x80"}, `end\xe2\x80`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			tw := NewTerminalWriter(&out)
			for _, w := range tc.writes {
				if n, err := tw.Write([]byte(w)); err != nil || n != len(w) {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if err := tw.Flush(); err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.want {
				t.Fatalf("got  %q\nwant %q", out.String(), tc.want)
			}
		})
	}
}

func TestAppendPrintableJSON(t *testing.T) {
	// Raw where JSON allows it (DEL, C1, U+202E, a byte that is not
	// UTF-8, a character beyond U+FFFF that is not printable), escaped
	// where it must be.
	src := []byte("{\"how\":\"\\u001b]0;t\\u0007\x7f\u009b\u202e\xff\U000e0001 ok é \\\"q\\\\\",\"n\":[1,\"\u202e\"]}")
	got := AppendPrintableJSON(nil, src)
	want := `{"how":"\u001b]0;t\u0007\u007f\u009b\u202e\ufffd\udb40\udc01 ok é \"q\\","n":[1,"\u202e"]}`
	if string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	var before, after any
	if err := json.Unmarshal(src, &before); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(got, &after); err != nil {
		t.Fatalf("escaped JSON is not JSON: %v", err)
	}
	b1, _ := json.Marshal(before)
	b2, _ := json.Marshal(after)
	if !bytes.Equal(b1, b2) {
		t.Fatalf("the escaped JSON means something else:\n%s\n%s", b1, b2)
	}
}
