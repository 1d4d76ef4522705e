package upcase

import (
	"bytes"
	"testing"
)

// splitBySizes cuts data into chunks whose sizes come from sizes, one byte
// per chunk (0 gives an empty chunk); what is left after the sizes run out
// is the last chunk.
func splitBySizes(data, sizes []byte) [][]byte {
	var chunks [][]byte
	for _, sz := range sizes {
		n := min(int(sz%9), len(data))
		chunks = append(chunks, data[:n])
		data = data[n:]
	}
	return append(chunks, data)
}

// FuzzStream feeds data to a Stream in chunks chosen by sizes and checks
// the output against uppercasing the whole input at once, and, after each
// chunk, that everything but an incomplete character has been answered.
// Seeds are in testdata/fuzz/FuzzStream.
func FuzzStream(f *testing.F) {
	f.Add([]byte("hello, world\r\n"), []byte{3, 1, 0, 5})
	f.Add([]byte("straße ﬁ ΐ"), []byte{5, 1, 1, 1, 2})
	f.Fuzz(func(t *testing.T, data, sizes []byte) {
		want := oracle(data)
		if ref := runeOracle(data); !bytes.Equal(want, ref) {
			t.Fatalf("oracle %q and per-character reference %q differ", want, ref)
		}
		if got := feedChecked(t, splitBySizes(data, sizes)); !bytes.Equal(got, want) {
			t.Fatalf("chunks %q:\n got %q\nwant %q", splitBySizes(data, sizes), got, want)
		}
		// One byte at a time.
		one := make([]byte, len(data))
		for i := range one {
			one[i] = 1
		}
		if got := feedChecked(t, splitBySizes(data, one)); !bytes.Equal(got, want) {
			t.Fatalf("1-byte chunks:\n got %q\nwant %q", got, want)
		}
	})
}
