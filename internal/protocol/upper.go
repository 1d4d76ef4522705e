package protocol

import (
	"encoding/binary"
	"slices"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"
	"golang.org/x/text/transform"
)

// upper appends the uppercase form of src to dst. Only the bytes of a
// character cut at the end of src are kept, in s.tail, until the next call
// (or End); bytes that no continuation could turn into a valid character
// are answered at once, unchanged.
func (s *Stream) upper(dst, src []byte) []byte {
	if s.ntail > 0 {
		dst, src = s.completeTail(dst, src)
		if s.ntail > 0 {
			return dst // src was all part of the still incomplete character
		}
	}
	dst, n := AppendUpperASCII(dst, src)
	if n == len(src) {
		return dst
	}
	src = src[n:]
	keep := incompleteSuffix(src)
	dst = appendUpperUnicode(dst, src[:len(src)-keep])
	s.hold(src[len(src)-keep:])
	return dst
}

// hold keeps b, the start of a character cut at the end of a chunk.
func (s *Stream) hold(b []byte) {
	s.tail = [len(s.tail)]byte{}
	s.ntail = uint8(copy(s.tail[:], b))
}

// completeTail takes from src the bytes that decide the held character:
// until it is complete, or shown to be invalid, or src runs out. It returns
// the part of src still to be answered.
func (s *Stream) completeTail(dst, src []byte) ([]byte, []byte) {
	// The character is joined in s.tail, which has room for all of it:
	// a local array would escape to the heap through the caser.
	char := &s.tail
	held := int(s.ntail)
	n := held
	for n < utf8.UTFMax && n-held < len(src) && !utf8.FullRune(char[:n]) {
		char[n] = src[n-held]
		n++
	}
	if !utf8.FullRune(char[:n]) {
		// Still a valid start of a character: src was too short.
		s.ntail = uint8(n)
		return dst, src[len(src):]
	}
	s.ntail = 0
	if r, size := utf8.DecodeRune(char[:n]); r != utf8.RuneError || size > 1 {
		// The held bytes and n-held bytes of src form one character.
		dst = appendUpperUnicode(dst, char[:n])
		src = src[n-held:]
	} else {
		// The bytes of src do not continue the held ones, which are
		// therefore invalid and pass through unchanged, like any byte
		// that does not start a valid character. src is answered from
		// its first byte.
		dst = append(dst, char[:held]...)
	}
	*char = [len(char)]byte{}
	return dst, src
}

// appendUpperUnicode appends the uppercase form of src, which must not end
// in an incomplete character (a cut one is passed through as invalid).
func appendUpperUnicode(dst, src []byte) []byte {
	// Upper(language.Und) is Python's str.upper() for every code point,
	// and passes invalid UTF-8 through. Making one costs nothing (the
	// root-locale caser has no state), so none is kept per connection.
	caser := cases.Upper(language.Und)
	for len(src) > 0 {
		// Most characters keep their length; leave room for some growth
		// so that one call usually does it.
		if need := len(src) + len(src)/2 + 3*utf8.UTFMax; cap(dst)-len(dst) < need {
			dst = slices.Grow(dst, need)
		}
		nDst, nSrc, err := caser.Transform(dst[len(dst):cap(dst)], src, true)
		dst = dst[:len(dst)+nDst]
		src = src[nSrc:]
		switch err {
		case nil, transform.ErrShortDst:
			// nil means src is done; on ErrShortDst grow and go on.
		default:
			// The caser has no other failure at EOF; copy the rest
			// unchanged rather than lose it.
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

// AppendUpperASCII appends the leading run of ASCII bytes of src to dst
// with a–z mapped to A–Z, and returns the extended slice and the run's
// length: the first byte that is not ASCII, and all after it, are left for
// the caller. It is the one ASCII loop of chatd (and of the benchmark's
// baseline server): eight bytes at a time, in one pass.
//
// dst may be src[:0] to uppercase in place: each word is read before the
// same word is written.
func AppendUpperASCII(dst, src []byte) ([]byte, int) {
	const (
		lsb  = 0x0101010101010101
		high = 0x80 * lsb
	)
	dst = slices.Grow(dst, len(src))
	out := dst[len(dst) : len(dst)+len(src)]
	// Adding 0x1f sets the high bit of bytes >= 'a', adding 0x05 that of
	// bytes > 'z'; no byte carries into the next, since each is below
	// 0x80. Their difference marks a–z; xor clears bit 5. Two words per
	// turn while both are ASCII, then one.
	i := 0
	for ; i+16 <= len(src); i += 16 {
		w0 := binary.LittleEndian.Uint64(src[i:])
		w1 := binary.LittleEndian.Uint64(src[i+8:])
		if (w0|w1)&high != 0 {
			break
		}
		binary.LittleEndian.PutUint64(out[i:], w0^((w0+0x1f*lsb)&^(w0+0x05*lsb)&high)>>2)
		binary.LittleEndian.PutUint64(out[i+8:], w1^((w1+0x1f*lsb)&^(w1+0x05*lsb)&high)>>2)
	}
	for ; i+8 <= len(src); i += 8 {
		w := binary.LittleEndian.Uint64(src[i:])
		if w&high != 0 {
			break
		}
		binary.LittleEndian.PutUint64(out[i:], w^((w+0x1f*lsb)&^(w+0x05*lsb)&high)>>2)
	}
	for ; i < len(src); i++ {
		c := src[i]
		if c >= utf8.RuneSelf {
			break
		}
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		out[i] = c
	}
	return dst[:len(dst)+i], i
}
