package baseline

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

func TestUpper(t *testing.T) {
	in := []byte("hello, World! az AZ 09 `{ é\x00\xff")
	want := []byte("HELLO, WORLD! AZ AZ 09 `{ é\x00\xff")
	Upper(in)
	if !bytes.Equal(in, want) {
		t.Errorf("got %q want %q", in, want)
	}
}

// TestUpperMatchesByteLoop checks the word-at-a-time loop against the
// obvious byte loop on random bytes of every length and alignment, biased
// towards the ASCII letters and their neighbours.
func TestUpperMatchesByteLoop(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	edges := []byte("`az{@AZ[\x7f\x80\xff\x00 09")
	for n := range 200 {
		for range 20 {
			b := make([]byte, n)
			for i := range b {
				if rng.IntN(4) == 0 {
					b[i] = byte(rng.UintN(256))
				} else if rng.IntN(2) == 0 {
					b[i] = edges[rng.IntN(len(edges))]
				} else {
					b[i] = byte('a' + rng.IntN(26))
				}
			}
			want := bytes.Clone(b)
			for i, c := range want {
				if 'a' <= c && c <= 'z' {
					want[i] = c - 32
				}
			}
			off := rng.IntN(8)
			buf := append(make([]byte, off), b...)[off:]
			Upper(buf)
			if !bytes.Equal(buf, want) {
				t.Fatalf("Upper(%q) = %q, want %q", b, buf, want)
			}
		}
	}
}

func BenchmarkUpper(b *testing.B) {
	buf := bytes.Repeat([]byte("the quick brown fox jumps over the lazy dog 0123"), 32<<10/48)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		Upper(buf)
	}
}
