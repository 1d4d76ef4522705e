package main

import (
	"fmt"
	"strings"
	"testing"
)

// A table of several chunks lines up as one: every column starts where
// the widest cell of the whole table (in whichever chunk) puts it.
func TestTableChunksLineUp(t *testing.T) {
	for _, n := range []int{0, 1, tableChunk - 1, tableChunk, tableChunk + 1, 3*tableChunk + 17} {
		header := []string{"ID", "REMOTE ADDRESS", "IN"}
		rows := make([][]string, n)
		for i := range rows {
			rows[i] = []string{fmt.Sprint(i), fmt.Sprintf("10.0.0.%d:%d", i%256, 1000+i), "6 B"}
		}
		if n > 2 {
			rows[n-2][1] = "[2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff]:65535" // widest, in the last chunk
			rows[n/2][2] = "1023.9 KiB"
		}
		widths := make([]int, len(header))
		for _, r := range append([][]string{header}, rows...) {
			for i, c := range r {
				widths[i] = max(widths[i], len(c))
			}
		}
		var want strings.Builder
		for _, r := range append([][]string{header}, rows...) {
			var line strings.Builder
			for i, c := range r {
				line.WriteString(c)
				if i < len(r)-1 {
					line.WriteString(strings.Repeat(" ", widths[i]-len(c)) + "   ")
				}
			}
			want.WriteString(strings.TrimRight(line.String(), " ") + "\n")
		}
		var got strings.Builder
		if err := writeTable(&got, header, rows); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			g, w := strings.Split(got.String(), "\n"), strings.Split(want.String(), "\n")
			for i := range min(len(g), len(w)) {
				if g[i] != w[i] {
					t.Fatalf("%d rows: line %d is\n%q, want\n%q", n, i, g[i], w[i])
				}
			}
			t.Fatalf("%d rows: %d lines, want %d", n, len(g), len(w))
		}
	}
}
