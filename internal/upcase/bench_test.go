package upcase

import (
	"bytes"
	"testing"
)

func benchAppend(b *testing.B, src []byte) {
	s := New()
	dst := make([]byte, 0, 4*len(src)+64)
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		dst = s.Append(dst[:0], src)
	}
	dst = s.Flush(dst)
	if !bytes.Equal(dst, oracle(src)) {
		b.Fatal("wrong output")
	}
}

var asciiLine = []byte("the quick brown fox jumps over the lazy dog, THE QUICK BROWN FOX\r\n")

// BenchmarkAppendASCII64 is one short chat line: the common case.
func BenchmarkAppendASCII64(b *testing.B) {
	benchAppend(b, asciiLine[:64])
}

// BenchmarkAppendASCII32K is a full 32 KiB read of ASCII text.
func BenchmarkAppendASCII32K(b *testing.B) {
	benchAppend(b, bytes.Repeat(asciiLine[:64], 32*1024/64))
}

// BenchmarkAppendMixedUTF8 is 32 KiB of text mixing ASCII, Latin, Greek,
// CJK, emoji and expanding mappings.
func BenchmarkAppendMixedUTF8(b *testing.B) {
	unit := []byte("Straße ﬁ όσος ΐ привет 你好世界 😀👍🏽 café naïve \r\n")
	src := bytes.Repeat(unit, 32*1024/len(unit))
	benchAppend(b, src)
}
