package baseline

import (
	"bytes"
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
