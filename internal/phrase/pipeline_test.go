package phrase

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"unicode/utf8"

	"github.com/chatd/chatd/internal/upcase"
	"golang.org/x/text/cases"
	"golang.org/x/text/language"
)

// upperOracle uppercases a whole input at once, as Python's str.upper()
// does, passing invalid UTF-8 through.
func upperOracle(b []byte) []byte {
	return cases.Upper(language.Und).Bytes(b)
}

// incompleteChar is the length of the cut UTF-8 character ending b, which
// the uppercaser may hold back.
func incompleteChar(b []byte) int {
	for n := 1; n < utf8.UTFMax && n <= len(b); n++ {
		if tail := b[len(b)-n:]; utf8.RuneStart(tail[0]) {
			if utf8.FullRune(tail) {
				return 0
			}
			return n
		}
	}
	return 0
}

// pipeline is what a connection does with its reads: find the close phrase,
// uppercase what comes before it, and at the phrase or at EOF flush. After
// every read it checks that the answer so far is the uppercase form of
// everything read except the bytes that may still start the phrase or
// complete a character.
func pipeline(t testing.TB, chunks [][]byte) (out []byte, closed bool) {
	t.Helper()
	sc := New(Close)
	up := upcase.New()
	var released []byte
	done := 0 // released[:done] is answered
	for i, c := range chunks {
		before := len(out)
		earlier, now, found := sc.Feed(c)
		out = up.Append(out, earlier)
		out = up.Append(out, now)
		released = append(append(released, earlier...), now...)
		if found {
			out = up.Flush(out)
			if want := upperOracle(released[done:]); !bytes.Equal(out[before:], want) {
				t.Fatalf("read %d (%q): closing answer %q, want %q", i, c, out[before:], want)
			}
			return out, true
		}
		cut := len(released) - incompleteChar(released)
		if up.Pending() != len(released)-cut {
			t.Fatalf("read %d (%q): uppercaser holds %d bytes, want %d", i, c, up.Pending(), len(released)-cut)
		}
		if want := upperOracle(released[done:cut]); !bytes.Equal(out[before:], want) {
			t.Fatalf("read %d (%q): answered %q, want %q", i, c, out[before:], want)
		}
		done = cut
	}
	out = up.Append(out, sc.Flush())
	return up.Flush(out), false
}

// pipelineWant is the whole answer to input: the uppercase form of
// everything before the first close phrase.
func pipelineWant(in []byte) ([]byte, bool) {
	if i := bytes.Index(in, []byte(Close)); i >= 0 {
		return upperOracle(in[:i]), true
	}
	return upperOracle(in), false
}

var pipelineCases = []struct{ in, want string }{
	{"", ""},
	{"hello\r\n", "HELLO\r\n"},
	{"straße CLOSE SOCKET ignored", "STRASSE "},
	{"ﬁ\xff\xed\xa0\x80 é", "FI\xff\xed\xa0\x80 É"},
	{"close socket", "CLOSE SOCKET"}, // lower case is not the phrase, but is answered uppercased
	{"CLOSE SOCKE", "CLOSE SOCKE"},
	{"ΐ then CLOSE SOCKET", "\u0399\u0308\u0301 THEN "},
	{"cut \xe2\x82CLOSE SOCKET", "CUT \xe2\x82"},
	{"\xf0\x9f\x98", "\xf0\x9f\x98"},
	{"😀CLOSE SOCKET😀", "😀"},
	{"CLOSE SOCLOSE SOCKET", "CLOSE SO"},
}

func TestPipelineSplits(t *testing.T) {
	for _, tc := range pipelineCases {
		in := []byte(tc.in)
		if want, _ := pipelineWant(in); string(want) != tc.want {
			t.Fatalf("bad case %q: oracle gives %q", tc.in, want)
		}
		for i := 0; i <= len(in); i++ {
			for j := i; j <= len(in); j++ {
				if got, _ := pipeline(t, chunked(in, i, j)); string(got) != tc.want {
					t.Errorf("%q split at %d,%d: got %q, want %q", tc.in, i, j, got, tc.want)
				}
			}
		}
	}
}

func randomChatInput(rng *rand.Rand, maxLen int) []byte {
	pieces := []string{
		"hello ", "\r\n", "\x00", "ß", "ﬁ", "\u0390", "ς", "é", "😀", "你好", "\xff",
		"\xed\xa0\x80", "\xe2\x82", "\xc3", "CLOSE", " SOCKET", "CLOSE SOCKET", "CLOSE SOC",
		"close socket", "C", "CLOSE SOCKE",
	}
	n := rng.IntN(maxLen + 1)
	var b []byte
	for len(b) < n {
		switch rng.IntN(3) {
		case 0:
			b = append(b, pieces[rng.IntN(len(pieces))]...)
		case 1:
			b = utf8.AppendRune(b, rng.Int32N(utf8.MaxRune+1))
		default:
			b = append(b, byte(rng.IntN(256)))
		}
	}
	return b
}

// TestPropertyPipeline: for any input and any chunking, the answer is the
// uppercase form of the input up to the first close phrase.
func TestPropertyPipeline(t *testing.T) {
	iters := 3000
	if testing.Short() {
		iters = 300
	}
	for _, seed := range []uint64{7, 99, 2024} {
		rng := rand.New(rand.NewPCG(seed, 1))
		closedSeen := 0
		for i := 0; i < iters; i++ {
			in := randomChatInput(rng, 60)
			want, wantClosed := pipelineWant(in)
			chunks := randomChunks(rng, in)
			got, closed := pipeline(t, chunks)
			if !bytes.Equal(got, want) || closed != wantClosed {
				t.Fatalf("seed %d iter %d chunks %q: got %q, %v; want %q, %v", seed, i, chunks, got, closed, want, wantClosed)
			}
			if closed {
				closedSeen++
			}
		}
		if closedSeen == 0 || closedSeen == iters {
			t.Fatalf("seed %d: generator produced the phrase in %d of %d inputs", seed, closedSeen, iters)
		}
	}
}

// FuzzPipeline runs the scanner and the uppercaser together, as a
// connection does, in chunks chosen by sizes. Seeds are in
// testdata/fuzz/FuzzPipeline.
func FuzzPipeline(f *testing.F) {
	f.Add([]byte("straße CLOSE SOCKET tail"), []byte{3, 4, 5})
	f.Fuzz(func(t *testing.T, data, sizes []byte) {
		want, wantClosed := pipelineWant(data)
		got, closed := pipeline(t, splitBySizes(data, sizes))
		if !bytes.Equal(got, want) || closed != wantClosed {
			t.Fatalf("got %q, %v; want %q, %v", got, closed, want, wantClosed)
		}
	})
}
