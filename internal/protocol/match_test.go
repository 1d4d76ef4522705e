package protocol

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// phrases with overlapping structure exercise the automaton's restarts
// more than CLOSE SOCKET, whose only border is "C" (in "SOC").
var phrases = []string{Close, "a", "ab", "aa", "aab", "aba", "abab", "aaab", "abcabd", "abaababaab"}

// wantMatched is the length of the longest proper prefix of p that ends
// seen: how much of the phrase a Matcher must have matched.
func wantMatched(seen, p []byte) int {
	for k := min(len(p)-1, len(seen)); k > 0; k-- {
		if bytes.HasSuffix(seen, p[:k]) {
			return k
		}
	}
	return 0
}

// findChecked feeds chunks to a fresh match state for p, checking after
// every chunk the matched length against wantMatched and, when the phrase
// completes, that it does so exactly where bytes.Index finds it in the
// stream. It returns the offset just past the first phrase in the whole
// stream, or -1. Its work is linear in the input, so fuzzing with 1-byte
// chunks is fast.
func findChecked(t testing.TB, p string, chunks [][]byte) int {
	t.Helper()
	a := closeAutomaton
	if p != Close {
		a = newAutomaton(p)
	}
	pb := []byte(p)
	var n uint8
	var seen []byte
	for i, c := range chunks {
		orig := bytes.Clone(c)
		end, found := a.find(&n, c)
		if !bytes.Equal(c, orig) {
			t.Fatalf("chunk %d: find modified its input", i)
		}
		from := max(0, len(seen)-(len(pb)-1)) // no phrase ends before the new bytes
		start := len(seen)
		seen = append(seen, c...)
		if idx := bytes.Index(seen[from:], pb); idx >= 0 {
			want := from + idx + len(pb) - start
			if !found || end != want {
				t.Fatalf("chunk %d (%q) after %q: find = %d, %v; want %d, true", i, c, seen[:start], end, found, want)
			}
			if n != 0 {
				t.Fatalf("chunk %d: %d matched after the phrase, want 0", i, n)
			}
			return from + idx + len(pb)
		}
		if found {
			t.Fatalf("chunk %d (%q): found at %d, but stream %q has no phrase", i, c, end, seen)
		}
		if w := wantMatched(seen, pb); int(n) != w {
			t.Fatalf("chunk %d (%q) after %q: matched %d, want %d", i, c, seen, n, w)
		}
	}
	return -1
}

// wantEnd is the offset just past the first p in in, or -1.
func wantEnd(in []byte, p string) int {
	if i := bytes.Index(in, []byte(p)); i >= 0 {
		return i + len(p)
	}
	return -1
}

var findCases = []struct {
	name, in string
	end      int // just past the phrase, -1 for none
}{
	{"empty", "", -1},
	{"no phrase", "hello world\r\n", -1},
	{"phrase alone", "CLOSE SOCKET", 12},
	{"phrase at start", "CLOSE SOCKET and more", 12},
	{"phrase in middle", "abc CLOSE SOCKET def", 16},
	{"twice in a row", "CLOSE SOCKETCLOSE SOCKET", 12},
	{"double C", "CCLOSE SOCKET", 13},
	{"restart inside", "CLOSE SOCLOSE SOCKET", 20},
	{"restart after CLOSE", "CLOSE CLOSE SOCKET", 18},
	{"many partial starts", "CCCLOSECLOSE CLOSE SCLOSE SOCKET!", 32},
	{"utf-8 around", "ß😀CLOSE SOCKETé", 18},
	{"near miss short", "CLOSE SOCKE", -1},
	{"near miss two spaces", "CLOSE  SOCKET", -1},
	{"near miss lower", "close socket", -1},
	{"near miss last lower", "CLOSE SOCKEt", -1},
	{"near miss tab", "CLOSE\tSOCKET", -1},
	{"near miss nbsp", "CLOSE\u00a0SOCKET", -1},
	{"near miss fullwidth", "ＣＬＯＳＥ ＳＯＣＫＥＴ", -1},
	{"just C", "C", -1},
}

// TestFindSplitEverywhere finds the phrase in every table input cut into
// two and three chunks at every pair of offsets.
func TestFindSplitEverywhere(t *testing.T) {
	for _, tc := range findCases {
		in := []byte(tc.in)
		if wantEnd(in, Close) != tc.end {
			t.Fatalf("bad case %q: phrase ends at %d", tc.in, wantEnd(in, Close))
		}
		for i := 0; i <= len(in); i++ {
			for j := i; j <= len(in); j++ {
				if got := findChecked(t, Close, chunked(in, i, j)); got != tc.end {
					t.Errorf("%s: split at %d,%d: end %d, want %d", tc.name, i, j, got, tc.end)
				}
			}
		}
	}
}

// TestMatcherSteps spells out what Find reports, chunk by chunk.
func TestMatcherSteps(t *testing.T) {
	type step struct {
		in      string
		end     int
		found   bool
		matched int
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"prefix matched", []step{{"abc CLOSE", 0, false, 5}}},
		{"mismatch starts over", []step{{"CLOSE", 0, false, 5}, {"X", 0, false, 0}}},
		{"empty chunk keeps the match", []step{{"CLOSE S", 0, false, 7}, {"", 0, false, 7}}},
		{"completes at the start of a chunk", []step{{"hi CLOSE SO", 0, false, 8}, {"CKET bye", 4, true, 0}}},
		{"restart inside the match", []step{{"CLOSE SOC", 0, false, 9}, {"L", 0, false, 2}}},
		{"match dies, phrase later in chunk", []step{{"CLOSE", 0, false, 5}, {"! CLOSE SOCKET", 14, true, 0}}},
		{"C after C", []step{{"C", 0, false, 1}, {"C", 0, false, 1}, {"LOSE SOCKET", 11, true, 0}}},
		{"byte by byte", []step{{"C", 0, false, 1}, {"L", 0, false, 2}, {"O", 0, false, 3}, {"S", 0, false, 4},
			{"E", 0, false, 5}, {" ", 0, false, 6}, {"S", 0, false, 7}, {"O", 0, false, 8}, {"C", 0, false, 9},
			{"K", 0, false, 10}, {"E", 0, false, 11}, {"T", 1, true, 0}}},
		{"long chunk ends in a prefix", []step{{"a long line of text that ends CLOSE SOC", 0, false, 9}, {"KET", 3, true, 0}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var m Matcher
			for i, st := range tc.steps {
				end, found := m.Find([]byte(st.in))
				if end != st.end || found != st.found || m.Matched() != st.matched {
					t.Errorf("step %d: Find(%q) = %d, %v, matched %d; want %d, %v, %d",
						i, st.in, end, found, m.Matched(), st.end, st.found, st.matched)
				}
			}
		})
	}
}

func TestNewAutomatonRefusesBadPhrases(t *testing.T) {
	for _, p := range []string{"", string(make([]byte, 256))} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("newAutomaton of %d bytes did not panic", len(p))
				}
			}()
			newAutomaton(p)
		}()
	}
}

func randomStream(rng *rand.Rand, p string, maxLen int) []byte {
	alphabet := "ab c"
	if p == Close {
		alphabet = "CLOSE SOCKETclose \r\n\xc3\x9f"
	}
	n := rng.IntN(maxLen + 1)
	var b []byte
	for len(b) < n {
		switch rng.IntN(8) {
		case 0:
			b = append(b, p[:rng.IntN(len(p)+1)]...) // a prefix, maybe the phrase
		case 1:
			b = append(b, p[:rng.IntN(len(p))]...) // a proper prefix
		default:
			b = append(b, alphabet[rng.IntN(len(alphabet))])
		}
	}
	return b
}

// TestPropertyFindAnyChunking: for every phrase, any input and any
// chunking, the phrase is found exactly where it first ends.
func TestPropertyFindAnyChunking(t *testing.T) {
	iters := 1000
	if testing.Short() {
		iters = 100
	}
	for _, p := range phrases {
		rng := rand.New(rand.NewPCG(42, uint64(len(p))))
		for i := 0; i < iters; i++ {
			in := randomStream(rng, p, 40)
			if got, want := findChecked(t, p, randomChunks(rng, in)), wantEnd(in, p); got != want {
				t.Fatalf("phrase %q iter %d input %q: end %d, want %d", p, i, in, got, want)
			}
		}
	}
}

func TestFindDoesNotAllocate(t *testing.T) {
	var m Matcher
	chunks := [][]byte{[]byte("hello CLOSE SO"), []byte("CK"), []byte("s world CLOSE"), []byte(" SOCKE"), []byte("x CLOSE SOCKET")}
	if n := testing.AllocsPerRun(100, func() {
		for _, c := range chunks {
			m.Find(c)
		}
	}); n != 0 {
		t.Errorf("Find allocated %v times per run", n)
	}
}
