package main

import (
	"bytes"
	"slices"
	"testing"
)

func TestParseCounts(t *testing.T) {
	if got, err := parseCounts("1000, 10000,19500"); err != nil || !slices.Equal(got, []int{1000, 10000, 19500}) {
		t.Errorf("got %v, %v", got, err)
	}
	for _, bad := range []string{"", "0", "10,5", "x", "5,5"} {
		if _, err := parseCounts(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestUsage(t *testing.T) {
	var out, errb bytes.Buffer
	for _, args := range [][]string{{"-nonsense"}, {"extra"}, {"-counts", "5,1"}} {
		out.Reset()
		errb.Reset()
		if code := run(args, &out, &errb); code != 2 || errb.Len() == 0 || out.Len() != 0 {
			t.Errorf("%q: code %d, stdout %q, stderr %q", args, code, out.String(), errb.String())
		}
	}
}
