package protocol

import (
	"bytes"
	"testing"
)

// splitBySizes cuts data into chunks whose sizes come from sizes, one byte
// per chunk taken modulo mod (0 gives an empty chunk); what is left after
// the sizes run out is the last chunk.
func splitBySizes(data, sizes []byte, mod int) [][]byte {
	var chunks [][]byte
	for _, sz := range sizes {
		n := min(int(sz)%mod, len(data))
		chunks = append(chunks, data[:n])
		data = data[n:]
	}
	return append(chunks, data)
}

// FuzzStream feeds data to the uppercaser in chunks chosen by sizes and
// checks the output against uppercasing the whole input at once, and,
// after each chunk, that everything but an incomplete character has been
// answered. Seeds are in testdata/fuzz/FuzzStream.
func FuzzStream(f *testing.F) {
	f.Add([]byte("hello, world\r\n"), []byte{3, 1, 0, 5})
	f.Add([]byte("straße ﬁ ΐ"), []byte{5, 1, 1, 1, 2})
	f.Fuzz(func(t *testing.T, data, sizes []byte) {
		want := oracle(data)
		if ref := runeOracle(nil, data); !bytes.Equal(want, ref) {
			t.Fatalf("oracle %q and per-character reference %q differ", want, ref)
		}
		if got := upperChecked(t, splitBySizes(data, sizes, 9)); !bytes.Equal(got, want) {
			t.Fatalf("chunks %q:\n got %q\nwant %q", splitBySizes(data, sizes, 9), got, want)
		}
		if got := upperChecked(t, splitBySizes(data, bytes.Repeat([]byte{1}, len(data)), 9)); !bytes.Equal(got, want) {
			t.Fatalf("1-byte chunks:\n got %q\nwant %q", got, want)
		}
	})
}

// FuzzScanner finds one of several phrases (CLOSE SOCKET and some that
// overlap themselves) in data cut into chunks chosen by sizes, and checks
// it, after every chunk, against bytes.Index on the whole stream. Seeds
// are in testdata/fuzz/FuzzScanner.
func FuzzScanner(f *testing.F) {
	f.Add([]byte("abc CLOSE SOCKET def"), []byte{5, 2}, uint8(0))
	f.Add([]byte("abaabaababaab"), []byte{1, 2, 3}, uint8(9))
	f.Fuzz(func(t *testing.T, data, sizes []byte, which uint8) {
		p := phrases[int(which)%len(phrases)]
		want := wantEnd(data, p)
		if got := findChecked(t, p, splitBySizes(data, sizes, 16)); got != want {
			t.Fatalf("phrase %q: end %d, want %d", p, got, want)
		}
		if got := findChecked(t, p, splitBySizes(data, bytes.Repeat([]byte{1}, len(data)), 16)); got != want {
			t.Fatalf("phrase %q 1-byte chunks: end %d, want %d", p, got, want)
		}
	})
}

// FuzzPipeline answers data in reads chosen by sizes, as a connection
// does, and checks every read against the rule (see replyChecked). Seeds
// are in testdata/fuzz/FuzzPipeline.
func FuzzPipeline(f *testing.F) {
	f.Add([]byte("straße CLOSE SOCKET tail"), []byte{3, 4, 5})
	f.Fuzz(func(t *testing.T, data, sizes []byte) {
		chunks := splitBySizes(data, sizes, 16)
		want, wantClosed := replyWant(chunks)
		if got, closed := replyChecked(t, chunks); !bytes.Equal(got, want) || closed != wantClosed {
			t.Fatalf("chunks %q: got %q, %v; want %q, %v", chunks, got, closed, want, wantClosed)
		}
	})
}
