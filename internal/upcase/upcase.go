// Package upcase turns a stream of bytes, delivered in arbitrary chunks, into
// its full-Unicode uppercase form exactly as Python's str.upper() does
// (ß → SS, ﬁ → FI), passing bytes that are not valid UTF-8 through unchanged.
//
// A chat connection hands each read to a Stream as soon as it arrives; the
// only bytes a Stream ever holds back are the first bytes of a UTF-8
// character whose remaining bytes have not been read yet.
package upcase

import (
	"encoding/binary"
	"slices"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"
	"golang.org/x/text/transform"
)

// Stream uppercases one connection's byte stream. The zero value is not
// usable; call New. A Stream must not be shared between goroutines.
type Stream struct {
	caser cases.Caser
	// tail holds the incomplete UTF-8 character at the end of the last
	// chunk: a lead byte and the continuation bytes that can still follow
	// it, never more than utf8.UTFMax-1 bytes. The array is large enough
	// to join the tail with the bytes that complete it.
	tail  [utf8.UTFMax]byte
	ntail int
}

// New returns a Stream ready for the first chunk.
func New() *Stream {
	return &Stream{caser: cases.Upper(language.Und)}
}

// Pending reports how many bytes are held back waiting for the rest of a
// UTF-8 character.
func (s *Stream) Pending() int { return s.ntail }

// Append appends the uppercase form of src to dst and returns the extended
// slice. src is not modified or retained. Only the bytes of a character cut
// at the end of src are kept until the next call (or Flush); bytes that no
// continuation could turn into a valid character are answered at once.
func (s *Stream) Append(dst, src []byte) []byte {
	if s.ntail > 0 {
		dst, src = s.completeTail(dst, src)
		if s.ntail > 0 {
			return dst // src was all part of the still incomplete character
		}
	}
	// ASCII fast path: the leading pure-ASCII run needs no table look-ups.
	i := asciiPrefix(src)
	dst = AppendASCII(dst, src[:i])
	if i == len(src) {
		return dst
	}
	src = src[i:]
	keep := incompleteSuffix(src)
	dst = s.upper(dst, src[:len(src)-keep])
	s.ntail = copy(s.tail[:], src[len(src)-keep:])
	return dst
}

// Flush appends whatever is held back, treating it as the end of the stream:
// an incomplete character is passed through unchanged.
func (s *Stream) Flush(dst []byte) []byte {
	dst = append(dst, s.tail[:s.ntail]...)
	s.ntail = 0
	return dst
}

// completeTail takes from src the bytes that decide the held character:
// until it is complete, or shown to be invalid, or src runs out. It returns
// the part of src still to be processed.
func (s *Stream) completeTail(dst, src []byte) ([]byte, []byte) {
	held := s.ntail
	n := held
	for n < utf8.UTFMax && n-held < len(src) && !utf8.FullRune(s.tail[:n]) {
		s.tail[n] = src[n-held]
		n++
	}
	if !utf8.FullRune(s.tail[:n]) {
		// Still a valid start of a character: src was too short.
		s.ntail = n
		return dst, src[len(src):]
	}
	s.ntail = 0
	if r, size := utf8.DecodeRune(s.tail[:n]); r != utf8.RuneError || size > 1 {
		// The held bytes and n-held bytes of src form one character.
		return s.upper(dst, s.tail[:n]), src[n-held:]
	}
	// The bytes of src do not continue the held ones, which are therefore
	// invalid and pass through unchanged, like any byte that does not
	// start a valid character. src is processed from its first byte.
	return append(dst, s.tail[:held]...), src
}

// upper appends the uppercase form of src, which must not end in an
// incomplete character (any cut character is treated as invalid bytes).
func (s *Stream) upper(dst, src []byte) []byte {
	for len(src) > 0 {
		// Most characters keep their length; leave room for some growth
		// so that one call usually does it.
		if need := len(src) + len(src)/2 + 3*utf8.UTFMax; cap(dst)-len(dst) < need {
			dst = slices.Grow(dst, need)
		}
		nDst, nSrc, err := s.caser.Transform(dst[len(dst):cap(dst)], src, true)
		dst = dst[:len(dst)+nDst]
		src = src[nSrc:]
		switch err {
		case nil, transform.ErrShortDst:
			// nil means src is done; on ErrShortDst grow and go on.
		default:
			// The caser passes invalid UTF-8 through and, at EOF, has no
			// other failure; copy the rest unchanged rather than lose it.
			return append(dst, src...)
		}
	}
	return dst
}

// incompleteSuffix returns the length of the incomplete UTF-8 character
// that ends b: a lead byte followed by fewer continuation bytes than it
// needs, all of them allowed for a valid character. It returns 0 if b ends
// in a complete character or in bytes that cannot be completed.
func incompleteSuffix(b []byte) int {
	for n := 1; n < utf8.UTFMax && n <= len(b); n++ {
		tail := b[len(b)-n:]
		if utf8.RuneStart(tail[0]) {
			if utf8.FullRune(tail) {
				return 0
			}
			return n
		}
	}
	return 0
}

// asciiPrefix returns the length of the leading run of ASCII bytes in b.
func asciiPrefix(b []byte) int {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		if binary.LittleEndian.Uint64(b[i:])&0x8080808080808080 != 0 {
			break
		}
	}
	for ; i < len(b); i++ {
		if b[i] >= utf8.RuneSelf {
			break
		}
	}
	return i
}

// IsASCII reports whether b is entirely ASCII.
func IsASCII(b []byte) bool { return asciiPrefix(b) == len(b) }

// AppendASCII appends src with a–z mapped to A–Z. src must be ASCII; other
// bytes are copied unchanged.
func AppendASCII(dst, src []byte) []byte {
	n := len(dst)
	dst = append(dst, src...)
	UpperASCIIInPlace(dst[n:])
	return dst
}

// UpperASCIIInPlace maps a–z to A–Z in b and leaves every other byte alone.
func UpperASCIIInPlace(b []byte) {
	// Eight bytes at a time while they are all ASCII: adding 0x1f sets the
	// high bit of bytes >= 'a', adding 0x05 that of bytes > 'z', and no
	// byte carries into the next because each is below 0x80.
	const (
		lsb  = 0x0101010101010101
		high = 0x80 * lsb
	)
	i := 0
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		if w&high != 0 {
			upperBytes(b[i : i+8])
			continue
		}
		lower := (w + 0x1f*lsb) &^ (w + 0x05*lsb) & high
		binary.LittleEndian.PutUint64(b[i:], w^lower>>2)
	}
	upperBytes(b[i:])
}

// UpperASCIIPrefixInPlace maps a–z to A–Z in place in the leading run of
// ASCII bytes of b and returns the run's length; the first byte that is
// not ASCII, and all after it, are left alone. It is IsASCII and
// UpperASCIIInPlace in one pass, for the common chunk that is all ASCII:
// a 32 KiB read is gone over once instead of twice.
func UpperASCIIPrefixInPlace(b []byte) int {
	const (
		lsb  = 0x0101010101010101
		high = 0x80 * lsb
	)
	i := 0
	for ; i+16 <= len(b); i += 16 {
		w0 := binary.LittleEndian.Uint64(b[i:])
		w1 := binary.LittleEndian.Uint64(b[i+8:])
		if (w0|w1)&high != 0 {
			break
		}
		binary.LittleEndian.PutUint64(b[i:], w0^((w0+0x1f*lsb)&^(w0+0x05*lsb)&high)>>2)
		binary.LittleEndian.PutUint64(b[i+8:], w1^((w1+0x1f*lsb)&^(w1+0x05*lsb)&high)>>2)
	}
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		if w&high != 0 {
			break
		}
		binary.LittleEndian.PutUint64(b[i:], w^((w+0x1f*lsb)&^(w+0x05*lsb)&high)>>2)
	}
	for ; i < len(b); i++ {
		c := b[i]
		if c >= utf8.RuneSelf {
			break
		}
		if 'a' <= c && c <= 'z' {
			b[i] = c - ('a' - 'A')
		}
	}
	return i
}

func upperBytes(b []byte) {
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - ('a' - 'A')
		}
	}
}
