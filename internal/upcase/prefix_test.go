package upcase

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestUpperASCIIPrefixInPlace checks the one-pass fast path against
// asciiPrefix and the byte loop, on random bytes of every length and
// alignment with the first non-ASCII byte anywhere (or nowhere).
func TestUpperASCIIPrefixInPlace(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for n := range 100 {
		for range 30 {
			b := make([]byte, n)
			for i := range b {
				b[i] = byte(rng.IntN(0x80))
			}
			if n > 0 && rng.IntN(3) > 0 {
				b[rng.IntN(n)] = byte(0x80 + rng.IntN(0x80))
			}
			wantN := asciiPrefix(b)
			want := bytes.Clone(b)
			upperBytes(want[:wantN])
			off := rng.IntN(8)
			buf := append(make([]byte, off), b...)[off:]
			if got := UpperASCIIPrefixInPlace(buf); got != wantN || !bytes.Equal(buf, want) {
				t.Fatalf("UpperASCIIPrefixInPlace(%q) = %d, %q; want %d, %q", b, got, buf, wantN, want)
			}
		}
	}
}

// BenchmarkUpperASCIIPrefixInPlace32K is the server's answer to a full
// 32 KiB ASCII read.
func BenchmarkUpperASCIIPrefixInPlace32K(b *testing.B) {
	src := bytes.Repeat(asciiLine[:64], 32*1024/64)
	buf := make([]byte, len(src))
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		copy(buf, src)
		UpperASCIIPrefixInPlace(buf)
	}
}

// BenchmarkIsASCIIThenUpper32K is the two passes it replaces.
func BenchmarkIsASCIIThenUpper32K(b *testing.B) {
	src := bytes.Repeat(asciiLine[:64], 32*1024/64)
	buf := make([]byte, len(src))
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		copy(buf, src)
		if IsASCII(buf) {
			UpperASCIIInPlace(buf)
		}
	}
}
