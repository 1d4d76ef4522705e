package protocol

import "bytes"

// Matcher finds the close phrase in a stream that arrives in chunks,
// whatever the split points. Its zero value is ready; it is one byte.
type Matcher struct {
	n uint8 // the stream so far ends with Close[:n], n < len(Close)
}

// Find reports whether chunk completes the close phrase and, if so, the
// offset in chunk just past the phrase's last byte; the phrase began
// len(Close) bytes earlier, possibly in earlier chunks. After a find the
// Matcher starts over.
func (m *Matcher) Find(chunk []byte) (end int, found bool) {
	return closeAutomaton.find(&m.n, chunk)
}

// Matched reports how many bytes of the phrase the stream so far ends with.
func (m *Matcher) Matched() int { return int(m.n) }

// automaton is the Knuth–Morris–Pratt automaton of a phrase: next[n][c] is
// how much of the phrase is matched after byte c, when n bytes were.
type automaton struct {
	phrase []byte
	next   [][256]uint8
}

var closeAutomaton = newAutomaton(Close)

// newAutomaton builds the automaton of p, which must be 1–255 bytes.
func newAutomaton(p string) *automaton {
	if len(p) == 0 || len(p) > 255 {
		panic("protocol: phrase must be 1-255 bytes")
	}
	a := &automaton{phrase: []byte(p), next: make([][256]uint8, len(p))}
	a.next[0][p[0]] = 1
	restart := 0 // the state after the phrase's bytes 1..j-1: its longest proper border
	for j := 1; j < len(p); j++ {
		a.next[j] = a.next[restart]
		a.next[j][p[j]] = uint8(j + 1)
		restart = int(a.next[restart][p[j]])
	}
	return a
}

// find advances the match state *n over chunk (see Matcher.Find). The
// common chunk is searched with bytes.Index; byte-by-byte steps are taken
// only while a match carried over from the previous chunk is alive, and
// over the last bytes, which may start the next match.
func (a *automaton) find(n *uint8, chunk []byte) (end int, found bool) {
	full := uint8(len(a.phrase))
	i, st := 0, *n
	for ; st > 0 && i < len(chunk); i++ {
		if st = a.next[st][chunk[i]]; st == full {
			*n = 0
			return i + 1, true
		}
	}
	if i < len(chunk) {
		// Nothing is matched at i, so a phrase in the rest lies wholly in it.
		rest := chunk[i:]
		if j := bytes.Index(rest, a.phrase); j >= 0 {
			*n = 0
			return i + j + len(a.phrase), true
		}
		// No phrase ends in rest: the state at its end depends only on its
		// last len(phrase)-1 bytes.
		st = 0
		for _, c := range rest[max(0, len(rest)-(len(a.phrase)-1)):] {
			st = a.next[st][c]
		}
	}
	*n = st
	return 0, false
}
