package e2e

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// piece is a run of bytes whose uppercase form does not depend on its
// neighbours: whole UTF-8 characters, ASCII, or bytes that are invalid
// UTF-8 wherever they stand. A payload built from pieces has a cheap exact
// oracle: the concatenation of the pieces' answers.
type piece struct{ in, out []byte }

var pieces = func() []piece {
	words := []string{
		"hello ", "Straße ", "ﬁsh ", "γειά σου ", "привет ", "日本語 ", "😀🚀 ", "é\r\n", "ǆ ", "ŉ ", "ΐ ",
		"\x00", "\t", "\n", "CLOSE ", "CLOSE SOCK ", "SSOCKETS ", "close socket ", "1234567890 ", "~!@#$%^&*() ",
		"\xff", "\xfe\xfe", "\xc0\xaf", "\xed\xa0\x80", "\xf8\x88\x80\x80\x80",
	}
	ps := make([]piece, len(words))
	for i, w := range words {
		ps[i] = piece{in: []byte(w), out: oracle([]byte(w))}
	}
	return ps
}()

// payloadWithOracle returns about n bytes of mixed text and binary and the
// exact answer chatd must give to it. It never contains the close phrase,
// also when payloads are concatenated: "SOCKET" only ever follows "S", and
// random ASCII never has an upper-case C.
func payloadWithOracle(r *rand.Rand, n int) (in, want []byte) {
	var a, b bytes.Buffer
	a.Grow(n + 64)
	b.Grow(n + 256)
	for a.Len() < n {
		if r.IntN(4) == 0 {
			// A run of random ASCII, lower and upper case and controls.
			k := 1 + r.IntN(64)
			for range k {
				c := byte(r.IntN(128))
				if c == 'C' { // keep "CLOSE SOCKET" from forming by chance
					c = 'c'
				}
				a.WriteByte(c)
				if 'a' <= c && c <= 'z' {
					c -= 'a' - 'A'
				}
				b.WriteByte(c)
			}
			continue
		}
		p := pieces[r.IntN(len(pieces))]
		a.Write(p.in)
		b.Write(p.out)
	}
	return a.Bytes(), b.Bytes()
}

// The piece oracle must agree with uppercasing the whole stream at once.
func TestPieceOracleMatchesWholeStreamOracle(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for range 50 {
		in, want := payloadWithOracle(r, 8<<10)
		if got := oracle(in); !bytes.Equal(got, want) {
			t.Fatalf("piece oracle differs from whole-stream oracle at %d", firstDiff(got, want))
		}
		if bytes.Contains(in, []byte("CLOSE SOCKET")) {
			t.Fatal("payload contains the close phrase")
		}
	}
}
