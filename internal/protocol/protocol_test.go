package protocol

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
)

// replyChecked is what a connection does with its reads: Reply to each,
// End at EOF. After every read it checks the answer against the rule:
// everything read so far is answered except the bytes of a cut character
// at its end; the read that completes the phrase is answered up to the
// phrase's first byte (or not at all when the phrase began in an earlier
// read), and nothing after it. It returns the whole answer and whether the
// phrase closed the stream.
func replyChecked(t testing.TB, chunks [][]byte) (out []byte, closed bool) {
	t.Helper()
	var s Stream
	var seen []byte
	done := 0 // seen[:done] is answered
	for i, c := range chunks {
		orig := bytes.Clone(c)
		before, start := len(out), len(seen)
		out, closed = s.Reply(out, c)
		if !bytes.Equal(c, orig) {
			t.Fatalf("read %d: Reply modified its input", i)
		}
		seen = append(seen, c...)
		if end := wantEnd(seen[max(0, start-len(Close)):], Close); end >= 0 {
			phraseStart := max(0, start-len(Close)) + end - len(Close)
			if !closed {
				t.Fatalf("read %d (%q): the phrase is complete but not closed", i, c)
			}
			if want := oracle(seen[done:max(start, phraseStart)]); !bytes.Equal(out[before:], want) {
				t.Fatalf("read %d (%q) after %q: closing answer %q, want %q", i, c, seen[:start], out[before:], want)
			}
			if s != (Stream{}) {
				t.Fatalf("read %d: state %+v after closing, want zero", i, s)
			}
			return out, true
		}
		if closed {
			t.Fatalf("read %d (%q): closed without the phrase in %q", i, c, seen)
		}
		cut := len(seen) - wantPending(seen)
		if s.Held() != len(seen)-cut {
			t.Fatalf("read %d (%q): %d bytes held, want %d", i, c, s.Held(), len(seen)-cut)
		}
		if want := oracle(seen[done:cut]); !bytes.Equal(out[before:], want) {
			t.Fatalf("read %d (%q) after %q: answered %q, want %q", i, c, seen[:start], out[before:], want)
		}
		done = cut
	}
	return s.End(out), false
}

// replyWant is the whole answer to chunks: the uppercase form of
// everything before the first close phrase, and of the phrase's bytes that
// came in reads before the one that completed it.
func replyWant(chunks [][]byte) ([]byte, bool) {
	var seen []byte
	for _, c := range chunks {
		start := len(seen)
		seen = append(seen, c...)
		if end := wantEnd(seen, Close); end >= 0 {
			return oracle(seen[:max(start, end-len(Close))]), true
		}
	}
	return oracle(seen), false
}

var replyCases = []struct {
	name   string
	chunks []string
	want   string
	closed bool
}{
	{"empty", nil, "", false},
	{"plain", []string{"hello\r\n"}, "HELLO\r\n", false},
	{"phrase prefix answered at once", []string{"MAGIC"}, "MAGIC", false},
	{"lone C", []string{"C"}, "C", false},
	{"all but the last byte", []string{"CLOSE SOCKE"}, "CLOSE SOCKE", false},
	{"phrase in one read", []string{"straße CLOSE SOCKET ignored"}, "STRASSE ", true},
	{"phrase alone", []string{"CLOSE SOCKET"}, "", true},
	{"phrase split", []string{"abc CLO", "SE SOC", "KET tail"}, "ABC CLOSE SOC", true},
	{"last byte alone", []string{"CLOSE SOCKE", "T"}, "CLOSE SOCKE", true},
	{"phrase later in the completing read", []string{"CLOSE SO", "! CLOSE SOCKET more"}, "CLOSE SO! ", true},
	{"lower case is not the phrase", []string{"close socket"}, "CLOSE SOCKET", false},
	{"restart inside", []string{"CLOSE SOCLOSE SOCKET"}, "CLOSE SO", true},
	{"restart across reads", []string{"CLOSE SO", "CLOSE SOCKET"}, "CLOSE SO", true},
	{"cut character, then the phrase", []string{"cut \xe2\x82", "CLOSE SOCKET"}, "CUT \xe2\x82", true},
	{"cut character before the phrase in one read", []string{"cut \xe2\x82CLOSE SOCKET"}, "CUT \xe2\x82", true},
	{"cut character at EOF", []string{"\xf0\x9f\x98"}, "\xf0\x9f\x98", false},
	{"emoji around", []string{"😀CLOSE SOCKET😀"}, "😀", true},
	{"expanding", []string{"ΐ then ", "CLOSE SOCKET"}, "\u0399\u0308\u0301 THEN ", true},
}

func TestReply(t *testing.T) {
	for _, tc := range replyCases {
		t.Run(tc.name, func(t *testing.T) {
			var chunks [][]byte
			for _, c := range tc.chunks {
				chunks = append(chunks, []byte(c))
			}
			if want, closed := replyWant(chunks); string(want) != tc.want || closed != tc.closed {
				t.Fatalf("bad case: replyWant gives %q, %v", want, closed)
			}
			if got, closed := replyChecked(t, chunks); string(got) != tc.want || closed != tc.closed {
				t.Fatalf("got %q, %v; want %q, %v", got, closed, tc.want, tc.closed)
			}
		})
	}
}

// TestReplySplitEverywhere cuts inputs with the phrase, near misses and
// cut characters into three reads at every pair of offsets.
func TestReplySplitEverywhere(t *testing.T) {
	inputs := []string{
		"straße CLOSE SOCKET ignored", "ﬁ\xff\xed\xa0\x80 é", "CLOSE SOCKE", "cut \xe2\x82CLOSE SOCKET",
		"😀CLOSE SOCKET😀", "CLOSE SOCLOSE SOCKET", "CCLOSE SOCKET", "close socket",
	}
	for _, in := range inputs {
		b := []byte(in)
		for i := 0; i <= len(b); i++ {
			for j := i; j <= len(b); j++ {
				chunks := chunked(b, i, j)
				want, wantClosed := replyWant(chunks)
				if got, closed := replyChecked(t, chunks); !bytes.Equal(got, want) || closed != wantClosed {
					t.Errorf("%q split at %d,%d: got %q, %v; want %q, %v", in, i, j, got, closed, want, wantClosed)
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
			b = append(b, string(rng.Int32N(0x110000))...)
		default:
			b = append(b, byte(rng.IntN(256)))
		}
	}
	return b
}

// TestPropertyReply: any input in any chunking is answered by the rule,
// read by read (replyChecked) and as a whole (replyWant).
func TestPropertyReply(t *testing.T) {
	iters := 2000
	if testing.Short() || raceEnabled {
		iters = 500
	}
	for _, seed := range []uint64{7, 2024} {
		rng := rand.New(rand.NewPCG(seed, 1))
		closedSeen := 0
		for i := 0; i < iters; i++ {
			chunks := randomChunks(rng, randomChatInput(rng, 60))
			want, wantClosed := replyWant(chunks)
			got, closed := replyChecked(t, chunks)
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

// TestStateRoundTrip saves the state after every read of many streams,
// restores it into a fresh Stream and carries on with that one: the answer
// must be the same as without the hand-over.
func TestStateRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 500; i++ {
		chunks := randomChunks(rng, randomChatInput(rng, 60))
		want, wantClosed := replyWant(chunks)
		var s Stream
		var got []byte
		closed := false
		for _, c := range chunks {
			if got, closed = s.Reply(got, c); closed {
				break
			}
			saved, err := s.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			var restored Stream
			if err := restored.UnmarshalBinary(saved); err != nil {
				t.Fatalf("restoring %x (from %+v): %v", saved, s, err)
			}
			if restored != s {
				t.Fatalf("restored %+v from %x, want %+v", restored, saved, s)
			}
			s = restored
		}
		if !closed {
			got = s.End(got)
		}
		if !bytes.Equal(got, want) || closed != wantClosed {
			t.Fatalf("chunks %q: with hand-overs %q, %v; want %q, %v", chunks, got, closed, want, wantClosed)
		}
	}
}

func TestUnmarshalRefusesImpossibleStates(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"no match byte", []byte{stateVersion}},
		{"unknown version", []byte{2, 0}},
		{"whole phrase matched", []byte{stateVersion, byte(len(Close))}},
		{"too long", []byte{stateVersion, 0, 0xf0, 0x9f, 0x98, 0x80}},
		{"held complete character", []byte{stateVersion, 0, 0xc3, 0xa9}},
		{"held invalid byte", []byte{stateVersion, 0, 0xff}},
		{"held ascii", []byte{stateVersion, 0, 'a'}},
		{"held bytes and a match", []byte{stateVersion, 3, 0xc3}},
	} {
		s := Stream{ntail: 1, tail: [4]byte{0xe2}}
		before := s
		if err := s.UnmarshalBinary(tc.data); err == nil {
			t.Errorf("%s: %x accepted as %+v", tc.name, tc.data, s)
		} else if s != before {
			t.Errorf("%s: refused but changed the stream to %+v", tc.name, s)
		}
	}
	var s Stream
	if err := s.UnmarshalBinary([]byte{stateVersion, 0, 0xf0, 0x9f, 0x98}); err != nil || s.Held() != 3 {
		t.Errorf("three held bytes of an emoji: %v, held %d", err, s.Held())
	}
}

func TestReplyDoesNotAllocate(t *testing.T) {
	var s Stream
	dst := make([]byte, 0, 4096)
	for _, chunks := range [][][]byte{
		{[]byte("the quick brown fox jumps over the lazy dog, THE QUICK BROWN FOX\r\n")},
		{[]byte("straße ﬁ ΐ 😀 你好 \xff é")},
		{[]byte("ab\xe2\x82"), []byte("\xaccd\xc3"), []byte("\x9f"), []byte("CLOSE SO"), []byte("CKET")},
	} {
		if n := testing.AllocsPerRun(100, func() {
			dst = dst[:0]
			for _, c := range chunks {
				dst, _ = s.Reply(dst, c)
			}
			dst = s.End(dst)
		}); n != 0 {
			t.Errorf("Reply of %q allocated %v times per run", chunks, n)
		}
	}
}

func ExampleStream() {
	var s Stream
	for _, chunk := range []string{"stra\xc3", "\x9fe, CLO", "SE SOCKET ignored"} {
		out, closed := s.Reply(nil, []byte(chunk))
		fmt.Printf("%q %v\n", out, closed)
	}
	// Output:
	// "STRA" false
	// "SSE, CLO" false
	// "" true
}
