package protocol

import (
	"bytes"
	"testing"
)

func benchReply(b *testing.B, src []byte) {
	var s Stream
	dst := make([]byte, 0, 4*len(src)+64)
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		dst, _ = s.Reply(dst[:0], src)
	}
}

var asciiLine = []byte("the quick brown fox jumps over the lazy dog, THE QUICK BROWN FOX\r\n")

// BenchmarkReplyASCII64 is one short chat line: the common case.
func BenchmarkReplyASCII64(b *testing.B) { benchReply(b, asciiLine[:64]) }

// BenchmarkReplyASCII32K is a full 32 KiB read of ASCII text.
func BenchmarkReplyASCII32K(b *testing.B) {
	benchReply(b, bytes.Repeat(asciiLine[:64], 32*1024/64))
}

// BenchmarkReplyChat32K is a 32 KiB read of chat text with near misses of
// the phrase, ending in a prefix of it, so that a match carries over.
func BenchmarkReplyChat32K(b *testing.B) {
	line := []byte("hello there, CLOSE the door; SOCKET wrench; CLOSE SOCKE! ok\r\n")
	chunk := bytes.Repeat(line, 32*1024/len(line))
	chunk = append(chunk, bytes.Repeat([]byte("x"), 32*1024-len(chunk)-len("CLOSE SO"))...)
	benchReply(b, append(chunk, "CLOSE SO"...))
}

// BenchmarkReplyMixedUTF8 is 32 KiB of text mixing ASCII, Latin, Greek,
// CJK, emoji and expanding mappings.
func BenchmarkReplyMixedUTF8(b *testing.B) {
	unit := []byte("Straße ﬁ όσος ΐ привет 你好世界 😀👍🏽 café naïve \r\n")
	benchReply(b, bytes.Repeat(unit, 32*1024/len(unit)))
}

// BenchmarkAppendUpperASCIIInPlace32K is the baseline server's work per
// 32 KiB read.
func BenchmarkAppendUpperASCIIInPlace32K(b *testing.B) {
	buf := bytes.Repeat(asciiLine[:64], 32*1024/64)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		AppendUpperASCII(buf[:0], buf)
	}
}
