package phrase

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// wantHeld is the length of the longest proper prefix of p that ends seen:
// the only bytes a Scanner may hold back.
func wantHeld(seen, p []byte) int {
	for k := min(len(p)-1, len(seen)); k > 0; k-- {
		if bytes.HasSuffix(seen, p[:k]) {
			return k
		}
	}
	return 0
}

// feedChecked feeds chunks to a fresh Scanner for p, checking after every
// chunk that the released bytes are exactly the stream so far minus the
// bytes that could still start the phrase, or, once the phrase is found,
// exactly everything before its first occurrence. It returns all released
// bytes (with Flush if the phrase never came) and whether it was found.
// Its work is linear in the input, so fuzzing with 1-byte chunks is fast.
func feedChecked(t testing.TB, p string, chunks [][]byte) (released []byte, found bool) {
	t.Helper()
	s := New(p)
	pb := []byte(p)
	var seen []byte
	for i, c := range chunks {
		orig := bytes.Clone(c)
		prevHeld := s.Held()
		earlier, now, f := s.Feed(c)
		if !bytes.Equal(c, orig) {
			t.Fatalf("chunk %d: Feed modified its input", i)
		}
		if len(earlier) > prevHeld || !bytes.Equal(earlier, pb[:len(earlier)]) {
			t.Fatalf("chunk %d: earlier = %q, not a prefix of the %d held bytes", i, earlier, prevHeld)
		}
		if len(now) > 0 && &now[0] != &c[0] {
			t.Fatalf("chunk %d: now is not a prefix of the chunk", i)
		}
		if !bytes.Equal(now, c[:len(now)]) {
			t.Fatalf("chunk %d: now = %q is not a prefix of chunk %q", i, now, c)
		}
		from := max(0, len(seen)-(len(pb)-1)) // no phrase ends before the new bytes
		nrel := len(released)
		released = append(append(released, earlier...), now...)
		seen = append(seen, c...)
		if idx := bytes.Index(seen[from:], pb); idx >= 0 {
			idx += from
			if !f {
				t.Fatalf("chunk %d (%q): stream %q contains the phrase but found = false", i, c, seen)
			}
			if len(released) != idx || !bytes.Equal(released[nrel:], seen[nrel:idx]) {
				t.Fatalf("chunk %d (%q): found; released %q, want %q", i, c, released, seen[:idx])
			}
			if s.Held() != 0 {
				t.Fatalf("chunk %d: Held() = %d after found", i, s.Held())
			}
			return released, true
		}
		if f {
			t.Fatalf("chunk %d (%q): found = true but stream %q has no phrase", i, c, seen)
		}
		h := wantHeld(seen, pb)
		if s.Held() != h {
			t.Fatalf("chunk %d (%q) after %q: Held() = %d, want %d", i, c, seen, s.Held(), h)
		}
		if len(released) != len(seen)-h || !bytes.Equal(released[nrel:], seen[nrel:len(seen)-h]) {
			t.Fatalf("chunk %d (%q): released %q, want %q", i, c, released, seen[:len(seen)-h])
		}
	}
	held := s.Held()
	rest := s.Flush()
	if len(rest) != held || !bytes.Equal(rest, pb[:held]) {
		t.Fatalf("Flush() = %q with %d held", rest, held)
	}
	if s.Held() != 0 || len(s.Flush()) != 0 {
		t.Fatalf("Flush did not empty the scanner")
	}
	return append(released, rest...), false
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

// before returns what must be answered for the whole stream in: everything
// before the first phrase, or all of it.
func before(in, p string) (string, bool) {
	if i := strings.Index(in, p); i >= 0 {
		return in[:i], true
	}
	return in, false
}

var scanCases = []struct {
	name, in, want string
	found          bool
}{
	{"empty", "", "", false},
	{"no phrase", "hello world\r\n", "hello world\r\n", false},
	{"phrase alone", "CLOSE SOCKET", "", true},
	{"phrase at start", "CLOSE SOCKET and more", "", true},
	{"phrase in middle", "abc CLOSE SOCKET def", "abc ", true},
	{"phrase at end", "hello CLOSE SOCKET", "hello ", true},
	{"phrase then newline", "bye\r\nCLOSE SOCKET\r\n", "bye\r\n", true},
	{"data after phrase discarded", "x CLOSE SOCKET y CLOSE SOCKET z", "x ", true},
	{"twice in a row", "CLOSE SOCKETCLOSE SOCKET", "", true},
	{"double C", "CCLOSE SOCKET", "C", true},
	{"restart inside", "CLOSE SOCLOSE SOCKET", "CLOSE SO", true},
	{"restart after CLOSE", "CLOSE CLOSE SOCKET", "CLOSE ", true},
	{"restart after space", "CLOSE  CLOSE SOCKET", "CLOSE  ", true},
	{"many partial starts", "CCCLOSECLOSE CLOSE SCLOSE SOCKET!", "CCCLOSECLOSE CLOSE S", true},
	{"utf-8 around", "ß😀CLOSE SOCKETé", "ß😀", true},
	{"nul before", "\x00\x00CLOSE SOCKET", "\x00\x00", true},
	{"near miss short", "CLOSE SOCKE", "CLOSE SOCKE", false},
	{"near miss two spaces", "CLOSE  SOCKET", "CLOSE  SOCKET", false},
	{"near miss lower", "close socket", "close socket", false},
	{"near miss mixed case", "Close Socket", "Close Socket", false},
	{"near miss last lower", "CLOSE SOCKEt", "CLOSE SOCKEt", false},
	{"near miss tab", "CLOSE\tSOCKET", "CLOSE\tSOCKET", false},
	{"near miss newline", "CLOSE\nSOCKET", "CLOSE\nSOCKET", false},
	{"near miss inserted", "CLOSE SOCK ET", "CLOSE SOCK ET", false},
	{"near miss nbsp", "CLOSE\u00a0SOCKET", "CLOSE\u00a0SOCKET", false},
	{"near miss fullwidth", "ＣＬＯＳＥ ＳＯＣＫＥＴ", "ＣＬＯＳＥ ＳＯＣＫＥＴ", false},
	{"prefix at end", "text CLOSE SOC", "text CLOSE SOC", false},
	{"just C", "C", "C", false},
}

func TestBefore(t *testing.T) {
	for _, tc := range scanCases {
		want, found := before(tc.in, Close)
		if want != tc.want || found != tc.found {
			t.Errorf("%s: bad test case: before(%q) = %q, %v", tc.name, tc.in, want, found)
		}
	}
}

func TestFeedWhole(t *testing.T) {
	for _, tc := range scanCases {
		got, found := feedChecked(t, Close, [][]byte{[]byte(tc.in)})
		if string(got) != tc.want || found != tc.found {
			t.Errorf("%s: got %q, %v; want %q, %v", tc.name, got, found, tc.want, tc.found)
		}
	}
}

func TestSplitTwoChunksEveryOffset(t *testing.T) {
	for _, tc := range scanCases {
		in := []byte(tc.in)
		for i := 0; i <= len(in); i++ {
			got, found := feedChecked(t, Close, chunked(in, i))
			if string(got) != tc.want || found != tc.found {
				t.Errorf("%s split at %d: got %q, %v; want %q, %v", tc.name, i, got, found, tc.want, tc.found)
			}
		}
	}
}

func TestSplitThreeChunksEveryOffset(t *testing.T) {
	for _, tc := range scanCases {
		in := []byte(tc.in)
		for i := 0; i <= len(in); i++ {
			for j := i; j <= len(in); j++ {
				got, found := feedChecked(t, Close, chunked(in, i, j))
				if string(got) != tc.want || found != tc.found {
					t.Errorf("%s split at %d,%d: got %q, %v; want %q, %v", tc.name, i, j, got, found, tc.want, tc.found)
				}
			}
		}
	}
}

func TestOneByteChunks(t *testing.T) {
	for _, tc := range scanCases {
		in := []byte(tc.in)
		var chunks [][]byte
		for i := range in {
			chunks = append(chunks, in[i:i+1], nil)
		}
		got, found := feedChecked(t, Close, chunks)
		if string(got) != tc.want || found != tc.found {
			t.Errorf("%s 1-byte chunks: got %q, %v; want %q, %v", tc.name, got, found, tc.want, tc.found)
		}
	}
}

// TestPhraseSplitPositions puts the phrase at the start, middle and end of
// a read and splits it at every offset into two and three chunks, with
// other data around it in the same reads.
func TestPhraseSplitPositions(t *testing.T) {
	for _, pre := range []string{"", "a", "hello world ", "CLOS", "CLOSE SO"} {
		for _, post := range []string{"", "!", " and then more\r\n", "CLOSE SOCKET"} {
			in := []byte(pre + Close + post)
			for i := len(pre); i <= len(pre)+len(Close); i++ {
				for j := i; j <= len(pre)+len(Close); j++ {
					got, found := feedChecked(t, Close, chunked(in, i, j))
					if !found || string(got) != pre {
						t.Errorf("%q split at %d,%d: got %q, %v; want %q", in, i, j, got, found, pre)
					}
				}
			}
		}
	}
}

// TestFeedSteps spells out what each Feed returns.
func TestFeedSteps(t *testing.T) {
	type step struct {
		in, earlier, now string
		found            bool
		held             int
	}
	tests := []struct {
		name  string
		steps []step
		flush string
	}{
		{"plain text released at once", []step{{"hello", "", "hello", false, 0}}, ""},
		{"prefix held", []step{{"abc CLOSE", "", "abc ", false, 5}}, "CLOSE"},
		{"held released on mismatch", []step{{"abc CLOSE", "", "abc ", false, 5}, {"X", "CLOSE", "X", false, 0}}, ""},
		{"held kept on empty chunk", []step{{"CLOSE S", "", "", false, 7}, {"", "", "", false, 7}}, "CLOSE S"},
		{"held completes", []step{{"hi CLOSE SO", "", "hi ", false, 8}, {"CKET bye", "", "", true, 0}}, ""},
		{"held partly released", []step{{"CLOSE SO", "", "", false, 8}, {"CLOSE", "CLOSE SO", "", false, 5}, {" SOCKET", "", "", true, 0}}, ""},
		{"held restart inside held", []step{{"CLOSE SOC", "", "", false, 9}, {"L", "CLOSE SO", "", false, 2}}, "CL"},
		{"held then phrase later in chunk", []step{{"CLOSE", "", "", false, 5}, {"! CLOSE SOCKET", "CLOSE", "! ", true, 0}}, ""},
		{"held then full phrase in chunk", []step{{"CLOSE", "", "", false, 5}, {"CLOSE SOCKET", "CLOSE", "", true, 0}}, ""},
		{"byte by byte", []step{{"C", "", "", false, 1}, {"L", "", "", false, 2}, {"O", "", "", false, 3}, {"S", "", "", false, 4}, {"E", "", "", false, 5}, {" ", "", "", false, 6}, {"S", "", "", false, 7}, {"O", "", "", false, 8}, {"C", "", "", false, 9}, {"K", "", "", false, 10}, {"E", "", "", false, 11}, {"T", "", "", true, 0}}, ""},
		{"near miss released at flush", []step{{"CLOSE SOCKE", "", "", false, 11}}, "CLOSE SOCKE"},
		{"near miss lower", []step{{"CLOSE SOCKE", "", "", false, 11}, {"t", "CLOSE SOCKE", "t", false, 0}}, ""},
		{"C after held C", []step{{"C", "", "", false, 1}, {"C", "C", "", false, 1}, {"LOSE SOCKET", "", "", true, 0}}, "C"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := New(Close)
			found := false
			for i, st := range tc.steps {
				earlier, now, f := s.Feed([]byte(st.in))
				if string(earlier) != st.earlier || string(now) != st.now || f != st.found {
					t.Errorf("step %d: Feed(%q) = %q, %q, %v; want %q, %q, %v", i, st.in, earlier, now, f, st.earlier, st.now, st.found)
				}
				if s.Held() != st.held {
					t.Errorf("step %d: Held() = %d, want %d", i, s.Held(), st.held)
				}
				found = f
			}
			if !found {
				if got := s.Flush(); string(got) != tc.flush {
					t.Errorf("Flush() = %q, want %q", got, tc.flush)
				}
			}
		})
	}
}

// TestReleasedBytesCannotCorruptPhrase appends to the returned held bytes,
// as a caller building one output slice might, and checks that the
// scanner still matches.
func TestReleasedBytesCannotCorruptPhrase(t *testing.T) {
	s := New(Close)
	s.Feed([]byte("CLOSE SOCK"))
	earlier, now, _ := s.Feed([]byte("s and more"))
	if string(earlier) != "CLOSE SOCK" {
		t.Fatalf("earlier = %q", earlier)
	}
	_ = append(earlier, "xx"...) // would fit in the phrase's own array
	_ = append(now, "yyyy"...)
	s.Feed([]byte("CLOSE"))
	rest := s.Flush()
	_ = append(rest, "zz"...)
	_, _, found := s.Feed([]byte("x CLOSE SOCKET"))
	if !found {
		t.Fatal("phrase not found after appending to released bytes")
	}
	if Close != "CLOSE SOCKET" {
		t.Fatal("Close changed")
	}
}

func TestNewEmptyPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("New(\"\") did not panic")
		}
	}()
	New("")
}

// phrases with overlapping structure exercise the restart logic more than
// CLOSE SOCKET, which has no prefix that is also its suffix.
var phrases = []string{Close, "a", "ab", "aa", "aab", "aba", "abab", "aaab", "abcabd", "abaababaab"}

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

func randomChunks(rng *rand.Rand, b []byte) [][]byte {
	var chunks [][]byte
	mode := rng.IntN(3)
	for len(b) > 0 {
		var n int
		switch mode {
		case 0:
			n = 1
		case 1:
			n = rng.IntN(6)
		default:
			n = 1 + rng.IntN(len(b))
		}
		n = min(n, len(b))
		chunks = append(chunks, b[:n])
		b = b[n:]
	}
	return chunks
}

func TestPropertyAnyChunking(t *testing.T) {
	iters := 2000
	if testing.Short() {
		iters = 200
	}
	for _, p := range phrases {
		for _, seed := range []uint64{1, 42} {
			rng := rand.New(rand.NewPCG(seed, uint64(len(p))))
			for i := 0; i < iters; i++ {
				in := randomStream(rng, p, 40)
				want, wantFound := before(string(in), p)
				got, found := feedChecked(t, p, randomChunks(rng, in))
				if string(got) != want || found != wantFound {
					t.Fatalf("phrase %q seed %d iter %d input %q: got %q, %v; want %q, %v", p, seed, i, in, got, found, want, wantFound)
				}
			}
		}
	}
}

func TestFeedDoesNotAllocate(t *testing.T) {
	s := New(Close)
	chunks := [][]byte{[]byte("hello CLOSE SO"), []byte("CK"), []byte("s world CLOSE"), []byte(" SOCKE"), []byte("x")}
	if n := testing.AllocsPerRun(100, func() {
		for _, c := range chunks {
			s.Feed(c)
		}
		s.Flush()
	}); n != 0 {
		t.Errorf("Feed allocated %v times per run", n)
	}
}

func ExampleScanner() {
	s := New(Close)
	for _, chunk := range []string{"hi CLOSE", " SOC", "KET ignored"} {
		earlier, now, found := s.Feed([]byte(chunk))
		fmt.Printf("%q %q %v\n", earlier, now, found)
		if found {
			break
		}
	}
	// Output:
	// "" "hi " false
	// "" "" false
	// "" "" true
}
