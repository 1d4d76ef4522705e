package phrase

import (
	"bytes"
	"testing"

	"github.com/chatd/chatd/internal/upcase"
)

// chatRead is a 32 KiB read of chat text with near misses of the phrase,
// ending in a prefix of it so that bytes are held between reads.
func chatRead() []byte {
	line := []byte("hello there, CLOSE the door; SOCKET wrench; CLOSE SOCKE! ok\r\n")
	b := bytes.Repeat(line, 32*1024/len(line))
	b = append(b, bytes.Repeat([]byte("x"), 32*1024-len(b)-len("CLOSE SO"))...)
	return append(b, "CLOSE SO"...)
}

func BenchmarkScannerFeed32K(b *testing.B) {
	chunk := chatRead()
	s := New(Close)
	b.SetBytes(int64(len(chunk)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, found := s.Feed(chunk); found {
			b.Fatal("found")
		}
	}
}

// BenchmarkPipeline32K is a connection's work per 32 KiB ASCII read: scan
// for the phrase, then uppercase.
func BenchmarkPipeline32K(b *testing.B) {
	chunk := chatRead()
	s := New(Close)
	up := upcase.New()
	out := make([]byte, 0, 2*len(chunk))
	b.SetBytes(int64(len(chunk)))
	b.ReportAllocs()
	for b.Loop() {
		earlier, now, _ := s.Feed(chunk)
		out = up.Append(out[:0], earlier)
		out = up.Append(out, now)
	}
}
