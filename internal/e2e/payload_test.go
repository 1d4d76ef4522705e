package e2e

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
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
// exact answer chatd must give to it: a run of whole units cut from the
// corpus at a random place. The slices are shared: read them only.
func payloadWithOracle(r *rand.Rand, n int) (in, want []byte) {
	if n == 0 {
		return nil, nil
	}
	c := corpus()
	if n > len(c.in)/2 {
		panic("payloadWithOracle: corpus too small for " + strconv.Itoa(n) + " bytes")
	}
	// A start from which n bytes remain, then the first unit boundary at
	// least n bytes further.
	last, _ := slices.BinarySearch(c.inAt, len(c.in)-n)
	i := r.IntN(last)
	j, _ := slices.BinarySearch(c.inAt, c.inAt[i]+n)
	return c.in[c.inAt[i]:c.inAt[j]:c.inAt[j]], c.out[c.outAt[i]:c.outAt[j]:c.outAt[j]]
}

// payloadCorpus is mixed text and binary made of units (pieces and runs of
// random ASCII) with its answer and where each unit starts in both, so
// that any run of whole units can be cut out with its exact answer.
type payloadCorpus struct {
	in, out     []byte
	inAt, outAt []int // unit starts, and len(in), len(out) last
}

// corpusSize is many times the largest payload, so that payloads cut at
// random places seldom overlap, and small enough to build in a moment:
// generating every payload afresh, unit by unit, cost more CPU under -race
// than chatd's own work (16 MiB took 8 s on a loaded 2-core machine; the
// 1 GB test needs 1 GiB of them).
const corpusSize = 1 << 20

var corpus = sync.OnceValue(func() *payloadCorpus {
	r := rand.New(rand.NewPCG(2026, 12))
	c := &payloadCorpus{in: make([]byte, 0, corpusSize+64), out: make([]byte, 0, corpusSize+256)}
	for len(c.in) < corpusSize {
		c.inAt, c.outAt = append(c.inAt, len(c.in)), append(c.outAt, len(c.out))
		if r.IntN(4) == 0 {
			// A run of random ASCII, lower and upper case and controls.
			for range 1 + r.IntN(64) {
				b := byte(r.IntN(128))
				if b == 'C' { // keep "CLOSE SOCKET" from forming by chance
					b = 'c'
				}
				c.in = append(c.in, b)
				if 'a' <= b && b <= 'z' {
					b -= 'a' - 'A'
				}
				c.out = append(c.out, b)
			}
			continue
		}
		p := pieces[r.IntN(len(pieces))]
		c.in, c.out = append(c.in, p.in...), append(c.out, p.out...)
	}
	c.inAt, c.outAt = append(c.inAt, len(c.in)), append(c.outAt, len(c.out))
	return c
})

// The piece oracle must agree with uppercasing the whole stream at once,
// for the corpus and for payloads cut from it.
func TestPieceOracleMatchesWholeStreamOracle(t *testing.T) {
	c := corpus()
	if got := oracle(c.in); !bytes.Equal(got, c.out) {
		t.Fatalf("corpus answer differs from the whole-stream oracle at %d", firstDiff(got, c.out))
	}
	if bytes.Contains(c.in, []byte("CLOSE SOCKET")) {
		t.Fatal("corpus contains the close phrase")
	}
	r := rand.New(rand.NewPCG(7, 7))
	for _, n := range []int{0, 1, 2, 100, 8 << 10, 64 << 10, 128 << 10} {
		in, want := payloadWithOracle(r, n)
		if len(in) < n || len(in) > n+64 {
			t.Fatalf("payloadWithOracle(%d) gave %d bytes", n, len(in))
		}
		if got := oracle(in); !bytes.Equal(got, want) {
			t.Fatalf("piece oracle differs from whole-stream oracle at %d", firstDiff(got, want))
		}
		if bytes.Contains(in, []byte("CLOSE SOCKET")) {
			t.Fatal("payload contains the close phrase")
		}
	}
}
