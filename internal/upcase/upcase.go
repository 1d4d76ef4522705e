// Package upcase turns a stream of bytes, delivered in arbitrary chunks, into
// its full-Unicode uppercase form exactly as Python's str.upper() does
// (ß → SS, ﬁ → FI), passing bytes that are not valid UTF-8 through unchanged.
//
// A chat connection hands each read to a Stream as soon as it arrives; the
// only bytes a Stream ever holds back are the first bytes of a UTF-8
// character whose remaining bytes have not been read yet.
package upcase

import (
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
	// chunk; it is never longer than utf8.UTFMax-1 bytes.
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
// slice. src is not modified. Bytes of a character cut at the end of src are
// kept until the next call (or Flush).
func (s *Stream) Append(dst, src []byte) []byte {
	if s.ntail > 0 {
		dst, src = s.completeTail(dst, src)
	}
	// ASCII fast path: the leading pure-ASCII run needs no table look-ups.
	i := asciiPrefix(src)
	dst = AppendASCII(dst, src[:i])
	if i == len(src) {
		return dst
	}
	return s.transform(dst, src[i:], false)
}

// Flush appends whatever is held back, treating it as the end of the stream:
// an incomplete character is passed through unchanged.
func (s *Stream) Flush(dst []byte) []byte {
	if s.ntail == 0 {
		return dst
	}
	var held [utf8.UTFMax]byte
	n := copy(held[:], s.tail[:s.ntail])
	s.ntail = 0
	return s.transform(dst, held[:n], true)
}

// completeTail joins the held bytes with the start of src, uppercases the
// character they form, and returns the part of src still to be processed.
func (s *Stream) completeTail(dst, src []byte) ([]byte, []byte) {
	var joined [2 * utf8.UTFMax]byte
	n := copy(joined[:], s.tail[:s.ntail])
	held := n
	n += copy(joined[n:], src[:min(len(src), utf8.UTFMax)])
	s.ntail = 0
	dst, consumed := s.transformPart(dst, joined[:n], false)
	if consumed < held {
		// Still not a whole character: src was shorter than it needs.
		s.ntail = copy(s.tail[:], joined[consumed:n])
		return dst, src[len(src):]
	}
	// The held character is done. Bytes of src that entered joined but were
	// not consumed are processed again from src itself.
	return dst, src[consumed-held:]
}

// transform runs the caser over src, storing a trailing cut character in the
// tail unless atEOF.
func (s *Stream) transform(dst, src []byte, atEOF bool) []byte {
	dst, consumed := s.transformPart(dst, src, atEOF)
	if consumed < len(src) {
		s.ntail = copy(s.tail[:], src[consumed:])
	}
	return dst
}

// transformPart uppercases as much of src as forms whole characters and
// reports how many bytes of src it consumed.
func (s *Stream) transformPart(dst, src []byte, atEOF bool) ([]byte, int) {
	consumed := 0
	for {
		if cap(dst)-len(dst) < utf8.UTFMax*3 {
			dst = grow(dst, len(src)-consumed+16)
		}
		nDst, nSrc, err := s.caser.Transform(dst[len(dst):cap(dst)], src[consumed:], atEOF)
		dst = dst[:len(dst)+nDst]
		consumed += nSrc
		switch err {
		case nil:
			return dst, consumed
		case transform.ErrShortDst:
			dst = grow(dst, len(src)-consumed+16)
		case transform.ErrShortSrc:
			if len(src)-consumed < utf8.UTFMax && !atEOF {
				return dst, consumed
			}
			// Never hold more than a cut character: finish the rest now.
			atEOF = true
		default:
			// The caser passes invalid UTF-8 through and has no other
			// failure; copy the rest unchanged rather than lose it.
			return append(dst, src[consumed:]...), len(src)
		}
	}
}

func grow(b []byte, extra int) []byte {
	if extra < 64 {
		extra = 64
	}
	nb := make([]byte, len(b), len(b)+extra*2)
	copy(nb, b)
	return nb
}

// asciiPrefix returns the length of the leading run of ASCII bytes in b.
func asciiPrefix(b []byte) int {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		w := uint64(b[i]) | uint64(b[i+1])<<8 | uint64(b[i+2])<<16 | uint64(b[i+3])<<24 |
			uint64(b[i+4])<<32 | uint64(b[i+5])<<40 | uint64(b[i+6])<<48 | uint64(b[i+7])<<56
		if w&0x8080808080808080 != 0 {
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
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - ('a' - 'A')
		}
	}
}
