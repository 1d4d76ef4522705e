package phrase

import (
	"bytes"
	"testing"
)

// splitBySizes cuts data into chunks whose sizes come from sizes, one byte
// per chunk (0 gives an empty chunk); the rest is the last chunk.
func splitBySizes(data, sizes []byte) [][]byte {
	var chunks [][]byte
	for _, sz := range sizes {
		n := min(int(sz%16), len(data))
		chunks = append(chunks, data[:n])
		data = data[n:]
	}
	return append(chunks, data)
}

// FuzzScanner feeds data in chunks chosen by sizes to a Scanner for one of
// several phrases (CLOSE SOCKET and some that overlap themselves) and
// checks it, after every chunk, against bytes.Index on the whole stream.
// Seeds are in testdata/fuzz/FuzzScanner.
func FuzzScanner(f *testing.F) {
	f.Add([]byte("abc CLOSE SOCKET def"), []byte{5, 2}, uint8(0))
	f.Add([]byte("abaabaababaab"), []byte{1, 2, 3}, uint8(9))
	f.Fuzz(func(t *testing.T, data, sizes []byte, which uint8) {
		p := phrases[int(which)%len(phrases)]
		want, wantFound := before(string(data), p)
		got, found := feedChecked(t, p, splitBySizes(data, sizes))
		if string(got) != want || found != wantFound {
			t.Fatalf("phrase %q: got %q, %v; want %q, %v", p, got, found, want, wantFound)
		}
		// Whole, and one byte at a time.
		if got, _ := feedChecked(t, p, [][]byte{data}); string(got) != want {
			t.Fatalf("phrase %q whole: got %q, want %q", p, got, want)
		}
		var ones [][]byte
		for i := range data {
			ones = append(ones, data[i:i+1])
		}
		if got, _ := feedChecked(t, p, ones); !bytes.Equal(got, []byte(want)) {
			t.Fatalf("phrase %q 1-byte chunks: got %q, want %q", p, got, want)
		}
	})
}
