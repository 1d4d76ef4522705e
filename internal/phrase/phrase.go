// Package phrase finds the close phrase ("CLOSE SOCKET") in a byte stream
// that arrives in arbitrary chunks, so that a connection answers exactly the
// bytes before the phrase, whatever the split points.
//
// Only a suffix of the data that could still grow into the phrase is ever
// held back; every other byte is released with the chunk that brought it.
package phrase

import "bytes"

// Close is the phrase with which a client ends its connection. It is
// matched exactly, case-sensitively, anywhere in the stream.
const Close = "CLOSE SOCKET"

// Scanner watches one stream for a phrase. The zero value is not usable;
// call New. A Scanner must not be shared between goroutines.
type Scanner struct {
	phrase  []byte
	held    int    // phrase[:held] ends the data seen so far and is not released yet
	scratch []byte // joins held bytes with the start of the next chunk
}

// New returns a Scanner for the non-empty phrase p.
func New(p string) *Scanner {
	if p == "" {
		panic("phrase: empty phrase")
	}
	return &Scanner{phrase: []byte(p)}
}

// Held reports how many bytes are held back as a possible start of the phrase.
func (s *Scanner) Held() int { return s.held }

// Feed takes the next chunk of the stream. The bytes now known to come before
// any phrase are released in two parts, in stream order: earlier held bytes
// (a prefix of the phrase, capped at its length so that appending to it
// copies instead of overwriting the Scanner's phrase) and a prefix of chunk.
// found reports that the phrase is complete; the caller must then answer the
// released bytes and nothing after them.
func (s *Scanner) Feed(chunk []byte) (earlier, now []byte, found bool) {
	p := s.phrase
	if s.held > 0 {
		// A match may start inside the held bytes; it needs at most
		// len(p)-1 bytes of chunk to complete.
		s.scratch = append(append(s.scratch[:0], p[:s.held]...), chunk[:min(len(chunk), len(p)-1)]...)
		if i := bytes.Index(s.scratch, p); i >= 0 && i < s.held {
			s.held = 0
			return p[:i:i], nil, true
		}
	}
	if i := bytes.Index(chunk, p); i >= 0 {
		earlier = p[:s.held:s.held]
		s.held = 0
		return earlier, chunk[:i], true
	}
	// Hold the longest suffix of (held bytes + chunk) that is a proper
	// prefix of the phrase.
	k := s.suffixPrefix(chunk)
	if k <= len(chunk) {
		earlier = p[:s.held:s.held]
		s.held = k
		return earlier, chunk[:len(chunk)-k], false
	}
	// The new held suffix reaches back into the old held bytes.
	keepOld := k - len(chunk)
	n := s.held - keepOld
	earlier = p[:n:n]
	s.held = k
	return earlier, nil, false
}

// Flush releases the held bytes at the end of the stream: they were not the
// phrase. Like earlier from Feed, the result is capped at its length, so
// appending to it never writes into the Scanner.
func (s *Scanner) Flush() []byte {
	b := s.phrase[:s.held:s.held]
	s.held = 0
	return b
}

// suffixPrefix returns the length of the longest proper prefix of the phrase
// that ends the data seen so far followed by chunk.
func (s *Scanner) suffixPrefix(chunk []byte) int {
	p := s.phrase
	for k := min(len(p)-1, s.held+len(chunk)); k > 0; k-- {
		if endsWith(p[:s.held], chunk, p[:k]) {
			return k
		}
	}
	return 0
}

// endsWith reports whether a followed by b ends with w.
func endsWith(a, b, w []byte) bool {
	if len(w) <= len(b) {
		return bytes.HasSuffix(b, w)
	}
	fromA := len(w) - len(b)
	return bytes.Equal(w[fromA:], b) && bytes.HasSuffix(a, w[:fromA])
}
