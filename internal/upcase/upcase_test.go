package upcase

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"
)

// oracle uppercases the whole input at once. x/text's Upper(language.Und)
// is what Python's str.upper() does for every code point (see
// python_test.go) and copies bytes that are not valid UTF-8 unchanged (see
// TestOraclePassesInvalidThrough); an incomplete character at the end of
// the input is copied unchanged too.
func oracle(b []byte) []byte {
	return cases.Upper(language.Und).Bytes(b)
}

// runeOracle is an independent reference: it decodes b the way Python's
// "surrogateescape" decoder does (each byte of an invalid sequence on its
// own), uppercases each valid character alone, and copies invalid bytes.
func runeOracle(b []byte) []byte {
	c := cases.Upper(language.Und)
	var out []byte
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n == 1 {
			out = append(out, b[0])
		} else {
			out = append(out, c.String(string(r))...)
		}
		b = b[n:]
	}
	return out
}

// wantPending is the number of bytes a Stream may hold after seeing b: the
// trailing bytes that are the start of a UTF-8 character which more bytes
// could still complete, and nothing else. It is worked out independently of
// the Stream's own rule, by trying completions: a tail can grow into a
// character if adding continuation bytes makes utf8.DecodeRune accept a
// character longer than the tail. The candidate bytes are the edges of every
// range a continuation byte may be restricted to (E0, ED, F0, F4 narrow
// theirs), so they find a completion whenever one exists.
func wantPending(b []byte) int {
	edges := []byte{0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf}
	for n := 1; n < utf8.UTFMax && n <= len(b); n++ {
		tail := b[len(b)-n:]
		for _, x := range edges {
			for _, y := range edges {
				for _, z := range edges {
					cand := append(append([]byte{}, tail...), x, y, z)
					if r, size := utf8.DecodeRune(cand); r != utf8.RuneError && size > n {
						return n
					}
				}
			}
		}
	}
	return 0
}

// feedChecked feeds chunks to a fresh Stream, checking after every chunk
// that everything but an incomplete trailing character has been answered,
// and returns the output including the final Flush. It does linear work in
// the total input, so fuzzing with 1-byte chunks stays fast.
func feedChecked(t testing.TB, chunks [][]byte) []byte {
	t.Helper()
	s := New()
	var out, seen []byte
	done := 0 // seen[:done] has been answered, as out
	for i, c := range chunks {
		orig := bytes.Clone(c)
		before := len(out)
		out = s.Append(out, c)
		if !bytes.Equal(c, orig) {
			t.Fatalf("chunk %d: Append modified src: %q -> %q", i, orig, c)
		}
		seen = append(seen, c...)
		h := wantPending(seen)
		if got := s.Pending(); got != h {
			t.Fatalf("chunk %d (%q) after %q: Pending() = %d, want %d", i, c, seen, got, h)
		}
		// seen[:done] ended in a whole character or in bytes that cannot be
		// completed, so uppercasing continues independently from done.
		if want := oracle(seen[done : len(seen)-h]); !bytes.Equal(out[before:], want) {
			t.Fatalf("chunk %d (%q) after %q:\n got %q\nwant %q", i, c, seen, out[before:], want)
		}
		done = len(seen) - h
	}
	out = s.Flush(out)
	if s.Pending() != 0 {
		t.Fatalf("Pending() = %d after Flush", s.Pending())
	}
	if again := s.Flush(nil); len(again) != 0 {
		t.Fatalf("second Flush returned %q", again)
	}
	return out
}

func chunked(b []byte, cuts ...int) [][]byte {
	var chunks [][]byte
	prev := 0
	for _, c := range cuts {
		chunks = append(chunks, b[prev:c])
		prev = c
	}
	return append(chunks, b[prev:])
}

var upperCases = []struct {
	name, in, want string
}{
	{"empty", "", ""},
	{"ascii", "hello, world!", "HELLO, WORLD!"},
	{"ascii upper already", "HELLO", "HELLO"},
	{"ascii all letters", "abcdefghijklmnopqrstuvwxyz`{@[", "ABCDEFGHIJKLMNOPQRSTUVWXYZ`{@["},
	{"ascii long", "the quick brown fox jumps over the lazy dog 0123456789", "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG 0123456789"},
	{"non-letters", "0123456789 !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~\t\v\f\x7f\x01", "0123456789 !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~\t\v\f\x7f\x01"},
	{"crlf", "line one\r\nline two\r\n", "LINE ONE\r\nLINE TWO\r\n"},
	{"line endings mixed", "a\nb\r\nc\rd\n\r", "A\nB\r\nC\rD\n\r"},
	{"nul", "a\x00b\x00\x00c", "A\x00B\x00\x00C"},
	{"nul only", "\x00", "\x00"},
	{"sharp s", "straße", "STRASSE"},
	{"sharp s alone", "ß", "SS"},
	{"capital sharp s", "ẞ", "ẞ"},
	{"fi ligature", "ﬁ", "FI"},
	{"ligatures", "ﬀ ﬁ ﬂ ﬃ ﬄ ﬅ ﬆ", "FF FI FL FFI FFL ST ST"},
	{"e acute", "é", "É"},
	{"latin-1", "àéîõüÿ", "ÀÉÎÕÜŸ"},
	{"combining acute", "e\u0301", "E\u0301"},
	{"n apostrophe", "ŉ", "ʼN"},
	{"dotless i", "ı", "I"},
	{"i is not turkish", "i", "I"},
	{"long s", "ſ", "S"},
	{"titlecase dz", "ǅ ǆ", "Ǆ Ǆ"},
	{"j caron", "\u01f0", "J\u030c"},
	{"greek", "αβγδ ωμέγα", "ΑΒΓΔ ΩΜΈΓΑ"},
	{"greek final sigma", "όσος", "ΌΣΟΣ"},
	{"greek sigma forms", "σς", "ΣΣ"},
	{"greek final sigma text", "ὁ λόγος τοῦ θεοῦ", "Ὁ ΛΌΓΟΣ ΤΟΥ\u0342 ΘΕΟΥ\u0342"},
	{"greek iota dialytika tonos", "\u0390", "\u0399\u0308\u0301"},
	{"greek upsilon dialytika tonos", "\u03b0", "\u03a5\u0308\u0301"},
	{"greek ypogegrammeni", "ᾳ", "ΑΙ"},
	{"greek combining ypogegrammeni", "\u0345", "\u0399"},
	{"greek expanding in text", "x\u0390y\u0390z", "X\u0399\u0308\u0301Y\u0399\u0308\u0301Z"},
	{"cyrillic", "привет, мир", "ПРИВЕТ, МИР"},
	{"armenian ligature", "և", "ԵՒ"},
	{"deseret 4-byte", "𐐨𐐩", "𐐀𐐁"},
	{"emoji", "😀👍🏽🇫🇷 ok", "😀👍🏽🇫🇷 OK"},
	{"emoji zwj", "👩\u200d💻", "👩\u200d💻"},
	{"cjk", "你好，世界", "你好，世界"},
	{"japanese", "こんにちはカタカナ", "こんにちはカタカナ"},
	{"fullwidth", "ｆｕｌｌ", "ＦＵＬＬ"},
	{"circled", "ⓐⓑ", "ⒶⒷ"},
	{"replacement char", "\ufffd", "\ufffd"},
	{"bom", "\ufeffabc", "\ufeffABC"},
	{"max rune", "\U0010ffff", "\U0010ffff"},
	{"invalid lone ff", "\xff", "\xff"},
	{"invalid ff fe", "\xff\xfe", "\xff\xfe"},
	{"invalid between ascii", "a\xffb", "A\xffB"},
	{"invalid lone continuation", "\x80", "\x80"},
	{"invalid continuations", "a\x80\xbfb", "A\x80\xbfB"},
	{"truncated 2-byte at end", "ab\xc3", "AB\xc3"},
	{"truncated 3-byte at end", "ab\xe2\x82", "AB\xe2\x82"},
	{"truncated 4-byte at end", "ab\xf0\x9f\x98", "AB\xf0\x9f\x98"},
	{"truncated 2-byte mid", "\xc3a", "\xc3A"},
	{"truncated 3-byte mid", "\xe2\x82a", "\xe2\x82A"},
	{"truncated 4-byte mid", "\xf0\x9f\x98a", "\xf0\x9f\x98A"},
	{"truncated before valid", "\xe2\xc3\xa9", "\xe2É"},
	{"truncated before truncated", "\xe2\xe2\x82\xac", "\xe2€"},
	{"overlong slash 2", "\xc0\xaf", "\xc0\xaf"},
	{"overlong nul", "\xc0\x80", "\xc0\x80"},
	{"overlong c1", "\xc1\xbf", "\xc1\xbf"},
	{"overlong slash 3", "\xe0\x80\xaf", "\xe0\x80\xaf"},
	{"overlong 'a' 3", "\xe0\x81\xa1", "\xe0\x81\xa1"},
	{"overlong slash 4", "\xf0\x80\x80\xaf", "\xf0\x80\x80\xaf"},
	{"surrogate high", "\xed\xa0\x80", "\xed\xa0\x80"},
	{"surrogate low", "\xed\xbf\xbf", "\xed\xbf\xbf"},
	{"surrogate pair", "\xed\xa0\xbd\xed\xb8\x80", "\xed\xa0\xbd\xed\xb8\x80"},
	{"surrogate then letters", "\xed\xa0\x80abc", "\xed\xa0\x80ABC"},
	{"above max rune", "\xf4\x90\x80\x80", "\xf4\x90\x80\x80"},
	{"f5 lead", "\xf5\x80\x80\x80a", "\xf5\x80\x80\x80A"},
	{"5-byte form", "\xf8\x88\x80\x80\x80", "\xf8\x88\x80\x80\x80"},
	{"invalid mixed", "é\xffß\xc0ﬁ", "É\xffSS\xc0FI"},
	{"everything", "straße\x00ﬁ\r\n\u0390😀\xff你好\xed\xa0\x80é", "STRASSE\x00FI\r\n\u0399\u0308\u0301😀\xff你好\xed\xa0\x80É"},
}

func TestOracleTable(t *testing.T) {
	for _, tc := range upperCases {
		if got := oracle([]byte(tc.in)); string(got) != tc.want {
			t.Errorf("%s: oracle(%q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
		if got := runeOracle([]byte(tc.in)); string(got) != tc.want {
			t.Errorf("%s: runeOracle(%q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
}

func TestAppendWhole(t *testing.T) {
	for _, tc := range upperCases {
		t.Run(tc.name, func(t *testing.T) {
			s := New()
			got := s.Append(nil, []byte(tc.in))
			got = s.Flush(got)
			if string(got) != tc.want {
				t.Errorf("Append(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestAppendKeepsDstPrefix(t *testing.T) {
	for _, tc := range upperCases {
		prefix := []byte("prefix:")
		dst := append(make([]byte, 0, 8), prefix...) // little spare room: forces growth
		s := New()
		dst = s.Append(dst, []byte(tc.in))
		dst = s.Flush(dst)
		if want := "prefix:" + tc.want; string(dst) != want {
			t.Errorf("%s: got %q, want %q", tc.name, dst, want)
		}
	}
}

func TestSplitTwoChunksEveryOffset(t *testing.T) {
	for _, tc := range upperCases {
		in := []byte(tc.in)
		for i := 0; i <= len(in); i++ {
			if got := feedChecked(t, chunked(in, i)); string(got) != tc.want {
				t.Errorf("%s: split at %d: got %q, want %q", tc.name, i, got, tc.want)
			}
		}
	}
}

func TestSplitThreeChunksEveryOffset(t *testing.T) {
	for _, tc := range upperCases {
		in := []byte(tc.in)
		for i := 0; i <= len(in); i++ {
			for j := i; j <= len(in); j++ {
				if got := feedChecked(t, chunked(in, i, j)); string(got) != tc.want {
					t.Errorf("%s: split at %d,%d: got %q, want %q", tc.name, i, j, got, tc.want)
				}
			}
		}
	}
}

func TestOneByteChunks(t *testing.T) {
	for _, tc := range upperCases {
		in := []byte(tc.in)
		var chunks [][]byte
		for i := range in {
			chunks = append(chunks, in[i:i+1], nil) // empty chunks in between too
		}
		if got := feedChecked(t, chunks); string(got) != tc.want {
			t.Errorf("%s: 1-byte chunks: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestRuneSplitAtEveryOffset cuts characters of every UTF-8 length, with and
// without a case mapping and with an expanding mapping, at every byte offset,
// with text on both sides.
func TestRuneSplitAtEveryOffset(t *testing.T) {
	runes := []string{"é", "ß", "ŉ", "ΐ", "€", "ﬁ", "你", "ｆ", "😀", "𐐨", "\U0010ffff", "\ufffd"}
	for _, r := range runes {
		for _, ctx := range [][2]string{{"", ""}, {"a", "b"}, {"é", "ß"}, {"\xff", "\xe2"}} {
			in := []byte(ctx[0] + r + ctx[1])
			want := oracle(in)
			for off := 1; off < len(r); off++ {
				cut := len(ctx[0]) + off
				if got := feedChecked(t, chunked(in, cut)); !bytes.Equal(got, want) {
					t.Errorf("%q cut at %d: got %q, want %q", in, cut, got, want)
				}
				// Every byte of the character in its own chunk.
				var cuts []int
				for k := 1; k <= len(r); k++ {
					cuts = append(cuts, len(ctx[0])+k)
				}
				if got := feedChecked(t, chunked(in, cuts...)); !bytes.Equal(got, want) {
					t.Errorf("%q byte by byte: got %q, want %q", in, got, want)
				}
			}
		}
	}
}

// TestHoldsOnlyIncompleteCharacter checks, chunk by chunk, what is answered
// at once and what is held.
func TestHoldsOnlyIncompleteCharacter(t *testing.T) {
	type step struct {
		in, out string
		pending int
	}
	tests := []struct {
		name  string
		steps []step
		flush string
	}{
		{"euro in two", []step{{"a\xe2\x82", "A", 2}, {"\xacb", "€B", 0}}, ""},
		{"emoji byte by byte", []step{{"\xf0", "", 1}, {"\x9f", "", 2}, {"\x98", "", 3}, {"\x80", "😀", 0}}, ""},
		{"empty chunk keeps hold", []step{{"\xc3", "", 1}, {"", "", 1}, {"\xa9", "É", 0}}, ""},
		{"sharp s across chunks", []step{{"stra\xc3", "STRA", 1}, {"\x9fe", "SSE", 0}}, ""},
		{"expanding across chunks", []step{{"\xce", "", 1}, {"\x90", "\u0399\u0308\u0301", 0}}, ""},
		{"flush releases held bytes raw", []step{{"ok\xf0\x9f", "OK", 2}}, "\xf0\x9f"},
		{"flush releases one byte", []step{{"\xc3", "", 1}}, "\xc3"},
		{"flush with nothing held", []step{{"abc", "ABC", 0}}, ""},
		// Bytes that can never complete a character are answered at once.
		{"lone ff", []step{{"\xff", "\xff", 0}}, ""},
		{"lone continuation", []step{{"\x80", "\x80", 0}}, ""},
		{"c0 lead", []step{{"\xc0", "\xc0", 0}}, ""},
		{"c1 lead", []step{{"a\xc1", "A\xc1", 0}}, ""},
		{"f5 lead", []step{{"\xf5", "\xf5", 0}}, ""},
		{"f8 lead", []step{{"\xf8", "\xf8", 0}}, ""},
		{"overlong e0 80", []step{{"\xe0\x80", "\xe0\x80", 0}}, ""},
		{"overlong f0 80", []step{{"\xf0\x8f", "\xf0\x8f", 0}}, ""},
		{"surrogate prefix", []step{{"\xed\xa0", "\xed\xa0", 0}}, ""},
		{"above max prefix", []step{{"\xf4\x90", "\xf4\x90", 0}}, ""},
		{"lead then ascii", []step{{"\xe0a", "\xe0A", 0}}, ""},
		{"lead cont then ascii", []step{{"\xe2\x82a", "\xe2\x82A", 0}}, ""},
		{"4-byte lead then ascii", []step{{"\xf0\x9fa", "\xf0\x9fA", 0}}, ""},
		// Held bytes that the next chunk shows to be invalid.
		{"held then ascii", []step{{"\xe2", "", 1}, {"a", "\xe2A", 0}}, ""},
		{"held two then ascii", []step{{"\xe2\x82", "", 2}, {"a", "\xe2\x82A", 0}}, ""},
		{"held then valid char", []step{{"\xe2", "", 1}, {"\xc3\xa9", "\xe2É", 0}}, ""},
		{"held then other lead", []step{{"\xe2", "", 1}, {"\xe2", "\xe2", 1}, {"\x82\xac", "€", 0}}, ""},
		{"held then ff", []step{{"\xf0\x9f\x98", "", 3}, {"\xff", "\xf0\x9f\x98\xff", 0}}, ""},
		{"held e0 then bad second", []step{{"\xe0", "", 1}, {"\x80", "\xe0\x80", 0}}, ""},
		{"held ed then surrogate", []step{{"\xed", "", 1}, {"\xa0", "\xed\xa0", 0}}, ""},
		{"held f4 then too big", []step{{"\xf4", "", 1}, {"\x90", "\xf4\x90", 0}}, ""},
		{"held completes then rest", []step{{"\xc3", "", 1}, {"\x9f\xc3\x9f\xc3", "SSSS", 1}}, "\xc3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := New()
			var all []byte
			for i, st := range tc.steps {
				got := s.Append(nil, []byte(st.in))
				all = append(all, st.in...)
				if string(got) != st.out {
					t.Errorf("step %d: Append(%q) = %q, want %q", i, st.in, got, st.out)
				}
				if s.Pending() != st.pending {
					t.Errorf("step %d: Pending() = %d, want %d", i, s.Pending(), st.pending)
				}
				if wantPending(all) != st.pending {
					t.Fatalf("bad test: wantPending(%q) = %d", all, wantPending(all))
				}
			}
			if got := s.Flush(nil); string(got) != tc.flush {
				t.Errorf("Flush() = %q, want %q", got, tc.flush)
			}
		})
	}
}

// TestHeldBytesAreCopied checks that a Stream does not keep a reference to
// the caller's buffer, which is reused for the next read.
func TestHeldBytesAreCopied(t *testing.T) {
	s := New()
	buf := []byte("ab\xe2\x82")
	out := s.Append(nil, buf)
	copy(buf, "zzzz") // the connection reuses its read buffer
	buf = append(buf[:0], 0xac)
	out = s.Append(out, buf)
	if string(out) != "AB€" {
		t.Fatalf("got %q, want %q", out, "AB€")
	}
}

func TestStreamsAreIndependent(t *testing.T) {
	a, b := New(), New()
	outA := a.Append(nil, []byte("\xc3"))
	outB := b.Append(nil, []byte("x\xe2\x82"))
	outA = a.Append(outA, []byte("\xa9"))
	outB = b.Append(outB, []byte("\xac"))
	if string(outA) != "É" || string(outB) != "X€" {
		t.Fatalf("got %q and %q", outA, outB)
	}
}

func TestUpperASCIIInPlace(t *testing.T) {
	var all [256]byte
	for i := range all {
		all[i] = byte(i)
	}
	for lo := 0; lo < 256; lo++ {
		for _, hi := range []int{lo, lo + 1, lo + 7, lo + 8, lo + 9, lo + 17, 256} {
			if hi > 256 {
				continue
			}
			b := bytes.Clone(all[lo:hi])
			UpperASCIIInPlace(b)
			for i, c := range b {
				want := all[lo+i]
				if 'a' <= want && want <= 'z' {
					want -= 'a' - 'A'
				}
				if c != want {
					t.Fatalf("[%d:%d]: byte %#x became %#x, want %#x", lo, hi, all[lo+i], c, want)
				}
			}
		}
	}
}

func TestAppendASCII(t *testing.T) {
	got := AppendASCII([]byte("x:"), []byte("Hello, World! az AZ @[`{ \r\n\x00"))
	if want := "x:HELLO, WORLD! AZ AZ @[`{ \r\n\x00"; string(got) != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if got := AppendASCII(nil, nil); len(got) != 0 {
		t.Fatalf("AppendASCII(nil, nil) = %q", got)
	}
}

func TestASCIIPrefix(t *testing.T) {
	for n := 0; n < 40; n++ {
		for pos := 0; pos <= n; pos++ {
			b := bytes.Repeat([]byte{'a'}, n)
			want := n
			if pos < n {
				b[pos] = 0x80
				want = pos
			}
			if got := asciiPrefix(b); got != want {
				t.Fatalf("asciiPrefix(len %d, high byte at %d) = %d, want %d", n, pos, got, want)
			}
		}
	}
}

// TestOraclePassesInvalidThrough checks the oracle against the independent
// per-character reference for every sequence of one to four bytes that
// starts with a non-ASCII byte, valid or not.
func TestOraclePassesInvalidThrough(t *testing.T) {
	buf := make([]byte, 0, 6)
	check := func(b []byte) {
		if got, want := oracle(b), runeOracle(b); !bytes.Equal(got, want) {
			t.Fatalf("oracle(%q) = %q, per-character reference %q", b, got, want)
		}
	}
	for c0 := 0x80; c0 < 0x100; c0++ {
		check(append(buf[:0], byte(c0)))
		check(append(buf[:0], byte(c0), 'a'))
		for c1 := 0x80; c1 < 0xc0; c1++ {
			check(append(buf[:0], byte(c0), byte(c1)))
			check(append(buf[:0], byte(c0), byte(c1), 'a'))
			for c2 := 0x80; c2 < 0xc0; c2++ {
				check(append(buf[:0], byte(c0), byte(c1), byte(c2)))
				if c0 < 0xf0 || testing.Short() {
					continue
				}
				for c3 := 0x80; c3 < 0xc0; c3 += 7 {
					check(append(buf[:0], byte(c0), byte(c1), byte(c2), byte(c3)))
				}
			}
		}
	}
}

// TestOracleContextFree checks that uppercasing a character does not depend
// on its neighbours (Python's str.upper() has no context rules), so that
// uppercasing chunk by chunk can match uppercasing the whole.
func TestOracleContextFree(t *testing.T) {
	step := rune(1)
	if testing.Short() {
		step = 97
	}
	for r := rune(0); r <= utf8.MaxRune; r += step {
		if !utf8.ValidRune(r) {
			continue
		}
		s := []byte("a" + string(r) + "\u0301" + string(r) + "ς" + string(r) + "b")
		if got, want := oracle(s), runeOracle(s); !bytes.Equal(got, want) {
			t.Fatalf("%U: oracle %+q, per-character %+q", r, got, want)
		}
	}
}

// randomInput builds input from pieces that exercise the uppercaser:
// ASCII, expanding mappings, characters of every length, and invalid bytes.
func randomInput(rng *rand.Rand, maxLen int) []byte {
	pieces := []string{
		"a", "Z", "hello ", "\r\n", "\x00", "ß", "ﬁ", "ΐ", "ς", "σ", "é", "e\u0301",
		"ŉ", "ᾳ", "😀", "👍🏽", "你好", "𐐨", "ｆ", "\xff", "\x80", "\xc0\xaf", "\xe0\x80\xaf",
		"\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82", "\xf0\x9f", "\xc3", "\xf5", "CLOSE",
	}
	n := rng.IntN(maxLen + 1)
	var b []byte
	for len(b) < n {
		switch rng.IntN(4) {
		case 0:
			b = append(b, pieces[rng.IntN(len(pieces))]...)
		case 1:
			b = utf8.AppendRune(b, rng.Int32N(utf8.MaxRune+1))
		case 2:
			b = append(b, byte(rng.IntN(256)))
		default:
			b = append(b, byte('a'+rng.IntN(26)))
		}
	}
	return b
}

// randomChunks splits b at random points: sometimes into 1-byte chunks,
// sometimes with empty chunks, sometimes into a few large ones.
func randomChunks(rng *rand.Rand, b []byte) [][]byte {
	var chunks [][]byte
	mode := rng.IntN(3)
	for len(b) > 0 {
		var n int
		switch mode {
		case 0:
			n = 1
		case 1:
			n = rng.IntN(6) // 0 gives an empty chunk
		default:
			n = 1 + rng.IntN(len(b))
		}
		n = min(n, len(b))
		chunks = append(chunks, b[:n])
		b = b[n:]
	}
	return chunks
}

func TestPropertyChunkingMatchesWhole(t *testing.T) {
	iters := 3000
	if testing.Short() {
		iters = 300
	}
	for _, seed := range []uint64{1, 2, 3, 0xc0ffee} {
		rng := rand.New(rand.NewPCG(seed, seed*7919))
		for i := 0; i < iters; i++ {
			in := randomInput(rng, 64)
			want := oracle(in)
			if ref := runeOracle(in); !bytes.Equal(want, ref) {
				t.Fatalf("seed %d iter %d: oracle %q and reference %q differ on %q", seed, i, want, ref, in)
			}
			chunks := randomChunks(rng, in)
			if got := feedChecked(t, chunks); !bytes.Equal(got, want) {
				t.Fatalf("seed %d iter %d: chunks %q:\n got %q\nwant %q", seed, i, chunks, got, want)
			}
		}
	}
}

func TestAppendASCIIDoesNotAllocate(t *testing.T) {
	s := New()
	src := []byte("the quick brown fox jumps over the lazy dog, THE QUICK BROWN FOX\r\n")
	dst := make([]byte, 0, 4096)
	if n := testing.AllocsPerRun(100, func() {
		dst = s.Append(dst[:0], src)
	}); n != 0 {
		t.Errorf("Append of ASCII allocated %v times per run", n)
	}
	if n := testing.AllocsPerRun(100, func() {
		dst = AppendASCII(dst[:0], src)
	}); n != 0 {
		t.Errorf("AppendASCII allocated %v times per run", n)
	}
	mixed := []byte("straße ﬁ ΐ 😀 你好 \xff é")
	if n := testing.AllocsPerRun(100, func() {
		dst = s.Append(dst[:0], mixed)
	}); n != 0 {
		t.Errorf("Append of mixed UTF-8 allocated %v times per run", n)
	}
	split := [][]byte{[]byte("ab\xe2\x82"), []byte("\xaccd\xc3"), []byte("\x9f")}
	if n := testing.AllocsPerRun(100, func() {
		dst = dst[:0]
		for _, c := range split {
			dst = s.Append(dst, c)
		}
		dst = s.Flush(dst)
	}); n != 0 {
		t.Errorf("Append of split characters allocated %v times per run", n)
	}
}

func ExampleStream() {
	s := New()
	var out []byte
	for _, chunk := range []string{"stra\xc3", "\x9fe ", "ﬁ\xff\r\n"} {
		out = s.Append(out[:0], []byte(chunk))
		fmt.Printf("%q\n", out)
	}
	out = s.Flush(out[:0])
	fmt.Printf("%q\n", out)
	// Output:
	// "STRA"
	// "SSE "
	// "FI\xff\r\n"
	// ""
}

func TestUpperASCIIInPlaceRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 8))
	alphabet := []byte("`az{@AZ[09 \x00\x7f\x80\xc3\xff")
	for range 5000 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		want := bytes.Clone(b)
		upperBytes(want)
		off := rng.IntN(len(b) + 1) // vary alignment
		got := bytes.Clone(b)
		UpperASCIIInPlace(got[off:])
		UpperASCIIInPlace(got[:off])
		if !bytes.Equal(got, want) {
			t.Fatalf("UpperASCIIInPlace(%q) = %q, want %q", b, got, want)
		}
	}
}

func TestIsASCII(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"", true},
		{"hello\r\n\x00\x7f", true},
		{"0123456789abcdef0123456789abcdef", true},
		{"0123456789abcdef0123456789abcde\x80", false},
		{"\xff", false},
		{"é", false},
		{"abcdefgh\xc3\xa9", false},
	} {
		if got := IsASCII([]byte(tc.in)); got != tc.want {
			t.Errorf("IsASCII(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
