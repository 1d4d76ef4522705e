package protocol

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
// It appends to dst and allocates nothing once dst is large enough, so
// that the exhaustive tests below spend their time on checks.
func runeOracle(dst, b []byte) []byte {
	c := cases.Upper(language.Und)
	var up [64]byte // the longest uppercase form of one character is 3 characters
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, b[0])
		} else {
			m, _, err := c.Transform(up[:], b[:n], true)
			if err != nil {
				panic(fmt.Sprintf("uppercasing %U: %v", r, err))
			}
			dst = append(dst, up[:m]...)
		}
		b = b[n:]
	}
	return dst
}

// pendingMemo caches wantPending by the last three bytes, all it looks at.
var pendingMemo = map[[utf8.UTFMax]byte]int{}

// wantPending is the number of bytes a Stream may hold after seeing b: the
// trailing bytes that are the start of a UTF-8 character which more bytes
// could still complete, and nothing else. It is worked out independently of
// the Stream's own rule, by trying completions: a tail can grow into a
// character if adding continuation bytes makes utf8.DecodeRune accept a
// character longer than the tail. The candidate bytes are the edges of every
// range a continuation byte may be restricted to (E0, ED, F0, F4 narrow
// theirs), so they find a completion whenever one exists.
func wantPending(b []byte) int {
	var key [utf8.UTFMax]byte // last byte: how many bytes the key holds
	key[3] = byte(copy(key[:3], b[max(0, len(b)-3):]))
	if n, ok := pendingMemo[key]; ok {
		return n
	}
	tailOf := key[:key[3]]
	edges := []byte{0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf}
	result := 0
search:
	for n := 1; n < utf8.UTFMax && n <= len(tailOf); n++ {
		var cand [utf8.UTFMax + 3]byte
		k := copy(cand[:], tailOf[len(tailOf)-n:])
		for _, x := range edges {
			for _, y := range edges {
				for _, z := range edges {
					cand[k], cand[k+1], cand[k+2] = x, y, z
					if r, size := utf8.DecodeRune(cand[:k+3]); r != utf8.RuneError && size > n {
						result = n
						break search
					}
				}
			}
		}
	}
	pendingMemo[key] = result
	return result
}

// upperChecked feeds chunks to a fresh Stream's uppercaser (no phrase
// matching), checking after every chunk that everything but an incomplete
// trailing character has been answered, and returns the output including
// the final End. It does linear work in the total input, so fuzzing with
// 1-byte chunks stays fast.
func upperChecked(t testing.TB, chunks [][]byte) []byte {
	t.Helper()
	var s Stream
	var out, seen []byte
	done := 0 // seen[:done] has been answered, as out
	for i, c := range chunks {
		orig := bytes.Clone(c)
		before := len(out)
		out = s.upper(out, c)
		if !bytes.Equal(c, orig) {
			t.Fatalf("chunk %d: upper modified src: %q -> %q", i, orig, c)
		}
		seen = append(seen, c...)
		h := wantPending(seen)
		if got := s.Held(); got != h {
			t.Fatalf("chunk %d (%q) after %q: Held() = %d, want %d", i, c, seen, got, h)
		}
		// seen[:done] ended in a whole character or in bytes that cannot be
		// completed, so uppercasing continues independently from done.
		if want := oracle(seen[done : len(seen)-h]); !bytes.Equal(out[before:], want) {
			t.Fatalf("chunk %d (%q) after %q:\n got %q\nwant %q", i, c, seen, out[before:], want)
		}
		done = len(seen) - h
	}
	out = s.End(out)
	if s.Held() != 0 {
		t.Fatalf("Held() = %d after End", s.Held())
	}
	if again := s.End(nil); len(again) != 0 {
		t.Fatalf("second End returned %q", again)
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
		if got := runeOracle(nil, []byte(tc.in)); string(got) != tc.want {
			t.Errorf("%s: runeOracle(%q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
}

func TestUpperWholeKeepsDstPrefix(t *testing.T) {
	for _, tc := range upperCases {
		dst := append(make([]byte, 0, 8), "prefix:"...) // little spare room: forces growth
		var s Stream
		dst = s.End(s.upper(dst, []byte(tc.in)))
		if want := "prefix:" + tc.want; string(dst) != want {
			t.Errorf("%s: got %q, want %q", tc.name, dst, want)
		}
	}
}

// TestUpperSplitEverywhere cuts every table input into two and three
// chunks at every pair of offsets, and into 1-byte chunks with empty ones
// between them.
func TestUpperSplitEverywhere(t *testing.T) {
	for _, tc := range upperCases {
		in := []byte(tc.in)
		for i := 0; i <= len(in); i++ {
			for j := i; j <= len(in); j++ {
				if got := upperChecked(t, chunked(in, i, j)); string(got) != tc.want {
					t.Errorf("%s: split at %d,%d: got %q, want %q", tc.name, i, j, got, tc.want)
				}
			}
		}
		var ones [][]byte
		for i := range in {
			ones = append(ones, in[i:i+1], nil)
		}
		if got := upperChecked(t, ones); string(got) != tc.want {
			t.Errorf("%s: 1-byte chunks: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestRuneSplitAtEveryOffset(t *testing.T) {
	runes := []string{"é", "ß", "ŉ", "ΐ", "€", "ﬁ", "你", "ｆ", "😀", "𐐨", "\U0010ffff", "\ufffd"}
	for _, r := range runes {
		for _, ctx := range [][2]string{{"", ""}, {"a", "b"}, {"é", "ß"}, {"\xff", "\xe2"}} {
			in := []byte(ctx[0] + r + ctx[1])
			want := oracle(in)
			var cuts []int
			for k := 1; k <= len(r); k++ {
				cuts = append(cuts, len(ctx[0])+k)
			}
			if got := upperChecked(t, chunked(in, cuts...)); !bytes.Equal(got, want) {
				t.Errorf("%q byte by byte: got %q, want %q", in, got, want)
			}
			for off := 1; off < len(r); off++ {
				if got := upperChecked(t, chunked(in, len(ctx[0])+off)); !bytes.Equal(got, want) {
					t.Errorf("%q cut at %d: got %q, want %q", in, len(ctx[0])+off, got, want)
				}
			}
		}
	}
}

func TestHoldsOnlyIncompleteCharacter(t *testing.T) {
	type step struct {
		in, out string
		pending int
	}
	tests := []struct {
		name  string
		steps []step
		end   string
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
			var s Stream
			var all []byte
			for i, st := range tc.steps {
				got := s.upper(nil, []byte(st.in))
				all = append(all, st.in...)
				if string(got) != st.out {
					t.Errorf("step %d: upper(%q) = %q, want %q", i, st.in, got, st.out)
				}
				if s.Held() != st.pending {
					t.Errorf("step %d: Held() = %d, want %d", i, s.Held(), st.pending)
				}
				if wantPending(all) != st.pending {
					t.Fatalf("bad test: wantPending(%q) = %d", all, wantPending(all))
				}
			}
			if got := s.End(nil); string(got) != tc.end {
				t.Errorf("End() = %q, want %q", got, tc.end)
			}
		})
	}
}

func TestHeldBytesAreCopied(t *testing.T) {
	var s Stream
	buf := []byte("ab\xe2\x82")
	out := s.upper(nil, buf)
	copy(buf, "zzzz") // the connection reuses its read buffer
	buf = append(buf[:0], 0xac)
	out = s.upper(out, buf)
	if string(out) != "AB€" {
		t.Fatalf("got %q, want %q", out, "AB€")
	}
}

// TestAppendUpperASCII checks the ASCII loop against a byte-at-a-time
// reference on random bytes of every length up to 100, at every alignment,
// with the first non-ASCII byte anywhere or nowhere, both into another
// slice (after a prefix) and in place.
func TestAppendUpperASCII(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := []byte("`az{@AZ[09 \x00\x7f")
	for n := range 100 {
		for range 20 {
			b := make([]byte, n)
			for i := range b {
				if rng.IntN(2) == 0 {
					b[i] = alphabet[rng.IntN(len(alphabet))]
				} else {
					b[i] = byte(rng.IntN(0x80))
				}
			}
			if n > 0 && rng.IntN(3) > 0 {
				b[rng.IntN(n)] = byte(0x80 + rng.IntN(0x80))
			}
			wantN := 0
			for wantN < n && b[wantN] < 0x80 {
				wantN++
			}
			want := []byte("x:")
			for _, c := range b[:wantN] {
				if 'a' <= c && c <= 'z' {
					c -= 'a' - 'A'
				}
				want = append(want, c)
			}
			off := rng.IntN(8)
			src := append(make([]byte, off), b...)[off:]
			got, gotN := AppendUpperASCII([]byte("x:"), src)
			if gotN != wantN || !bytes.Equal(got, want) || !bytes.Equal(src, b) {
				t.Fatalf("AppendUpperASCII(%q) = %q, %d; want %q, %d", b, got, gotN, want, wantN)
			}
			inPlace, gotN := AppendUpperASCII(src[:0], src)
			if gotN != wantN || !bytes.Equal(inPlace, want[2:]) || (wantN > 0 && &inPlace[0] != &src[0]) {
				t.Fatalf("in place on %q: %q, %d; want %q, %d in place", b, inPlace, gotN, want[2:], wantN)
			}
		}
	}
}

// TestOraclePassesInvalidThrough compares the oracle with the
// per-character reference on every sequence of up to three bytes that
// starts with a non-ASCII byte (and on four-byte ones in part); under the
// race detector a sample (see raceEnabled).
func TestOraclePassesInvalidThrough(t *testing.T) {
	// The inputs are checked in batches separated by a space: one oracle
	// call per batch instead of per input, with the same inputs.
	var batch, ref []byte
	flush := func() {
		if got, want := oracle(batch), runeOracle(ref[:0], batch); !bytes.Equal(got, want) {
			t.Fatalf("batch %q: oracle %q, per-character reference %q", batch, got, want)
		}
		batch = batch[:0]
	}
	check := func(b ...byte) {
		batch = append(append(batch, b...), ' ')
		if len(batch) > 1<<14 {
			flush()
		}
	}
	c2step := 1
	if raceEnabled {
		c2step = 5
	}
	for c0 := 0x80; c0 < 0x100; c0++ {
		check(byte(c0))
		check(byte(c0), 'a')
		for c1 := 0x80; c1 < 0xc0; c1++ {
			check(byte(c0), byte(c1))
			check(byte(c0), byte(c1), 'a')
			for c2 := 0x80; c2 < 0xc0; c2 += c2step {
				check(byte(c0), byte(c1), byte(c2))
				if c0 < 0xf0 || testing.Short() || raceEnabled {
					continue
				}
				for c3 := 0x80; c3 < 0xc0; c3 += 7 {
					check(byte(c0), byte(c1), byte(c2), byte(c3))
				}
			}
		}
	}
	flush()
}

// TestOracleContextFree shows that uppercasing a character does not depend
// on its neighbours (a combining mark, a final-sigma candidate), which is
// what lets a stream be answered chunk by chunk: every code point is
// checked in context against the per-character reference (a sample under
// the race detector, see raceEnabled).
func TestOracleContextFree(t *testing.T) {
	step := rune(1)
	if testing.Short() || raceEnabled {
		step = 97
	}
	var batch, want []byte
	var char [utf8.UTFMax]byte
	var up [64]byte
	caser := cases.Upper(language.Und)
	for r := rune(0); r <= utf8.MaxRune; r += step {
		if utf8.ValidRune(r) {
			// The per-character reference of "a" r U+0301 r "ς" r "b":
			// r's own uppercase form is worked out once, not three times.
			n, _, err := caser.Transform(up[:], char[:utf8.EncodeRune(char[:], r)], true)
			if err != nil {
				t.Fatalf("%U: %v", r, err)
			}
			u := up[:n]
			batch = utf8.AppendRune(append(batch, 'a'), r)
			batch = utf8.AppendRune(append(batch, "\u0301"...), r)
			batch = utf8.AppendRune(append(batch, "ς"...), r)
			batch = append(batch, 'b')
			want = append(append(append(append(append(append(append(want, 'A'), u...), "\u0301"...), u...), "Σ"...), u...), 'B')
		}
		if len(batch) > 1<<14 || r+step > utf8.MaxRune {
			if got := oracle(batch); !bytes.Equal(got, want) {
				t.Fatalf("up to %U: oracle %+q, per-character %+q", r, got, want)
			}
			batch, want = batch[:0], want[:0]
		}
	}
}

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

// TestPropertyChunkingMatchesWhole: any input in any chunking is answered
// as the whole input at once, with only a cut character ever held.
func TestPropertyChunkingMatchesWhole(t *testing.T) {
	iters := 3000
	if testing.Short() || raceEnabled {
		iters = 300
	}
	for _, seed := range []uint64{1, 0xc0ffee} {
		rng := rand.New(rand.NewPCG(seed, seed*7919))
		var ref []byte
		for i := 0; i < iters; i++ {
			in := randomInput(rng, 64)
			want := oracle(in)
			if ref = runeOracle(ref[:0], in); !bytes.Equal(want, ref) {
				t.Fatalf("seed %d iter %d: oracle %q and reference %q differ on %q", seed, i, want, ref, in)
			}
			chunks := randomChunks(rng, in)
			if got := upperChecked(t, chunks); !bytes.Equal(got, want) {
				t.Fatalf("seed %d iter %d: chunks %q:\n got %q\nwant %q", seed, i, chunks, got, want)
			}
		}
	}
}
