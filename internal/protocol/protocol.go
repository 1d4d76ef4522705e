// Package protocol is chatd's wire contract, written once: the close
// phrase, and the answer to a byte stream that arrives in arbitrary chunks.
//
// The answer to every byte is its full-Unicode uppercase form, exactly as
// Python's str.upper() gives it (ß → SS, ﬁ → FI); bytes that are not valid
// UTF-8 are passed through unchanged. Every byte read is answered in the
// same pass, except the first 1–3 bytes of a UTF-8 character whose
// remaining bytes have not arrived yet. A client ends its connection by
// sending the close phrase: of the read that completes it, only the bytes
// before the phrase are answered (bytes of the phrase that came in earlier
// reads were answered with those reads), and nothing after it.
package protocol

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// Close is the phrase with which a client ends its connection. It is
// matched exactly, case-sensitively, anywhere in the stream.
const Close = "CLOSE SOCKET"

// Stream is one connection's protocol state: how much of the close phrase
// the stream ends with, and the held bytes of a cut UTF-8 character. Its
// zero value is ready for the first chunk. It is six bytes, so that an
// idle connection carries it inline, and it can be saved and restored
// (MarshalBinary, UnmarshalBinary) to carry a connection across a restart.
// A Stream must not be shared between goroutines.
type Stream struct {
	match Matcher
	// ntail (at most 3) bytes of tail are the start of a UTF-8 character
	// that the next chunk may complete; the rest of tail is zero. They
	// come only after a byte that is not part of the phrase, so at most
	// one of match and ntail is non-zero. tail has room for the whole
	// character, where it is joined once complete.
	ntail uint8
	tail  [utf8.UTFMax]byte
}

// Reply appends the answer to chunk to dst and returns the extended slice.
// closed reports that chunk completed the close phrase: the answer then
// covers only the bytes before the phrase (and any held bytes, which no
// longer can be completed), and the Stream is back at its zero state.
// chunk is neither modified nor retained.
func (s *Stream) Reply(dst, chunk []byte) (out []byte, closed bool) {
	end, found := s.match.Find(chunk)
	if !found {
		return s.upper(dst, chunk), false
	}
	dst = s.upper(dst, chunk[:max(0, end-len(Close))])
	return s.End(dst), true
}

// End appends what the Stream holds, unchanged, and resets it: the held
// bytes of a cut character, which at the end of the stream can no longer
// be completed. Call it when the client's data ends (EOF), and before the
// server writes a notice of its own.
func (s *Stream) End(dst []byte) []byte {
	dst = append(dst, s.tail[:s.ntail]...)
	*s = Stream{}
	return dst
}

// Held reports how many bytes are held back waiting for the rest of a
// UTF-8 character.
func (s *Stream) Held() int { return int(s.ntail) }

// maxHeld is the most bytes a Stream holds: all of a character but one.
const maxHeld = utf8.UTFMax - 1

// stateVersion leads the saved form, so that a later layout can be told
// apart from this one.
const stateVersion = 1

// AppendBinary appends the Stream's state to b: a version byte, how many
// bytes of the phrase have been matched, then the held bytes (0–3).
func (s *Stream) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, stateVersion, s.match.n)
	return append(b, s.tail[:s.ntail]...), nil
}

// MarshalBinary returns the Stream's state (see AppendBinary).
func (s *Stream) MarshalBinary() ([]byte, error) {
	return s.AppendBinary(make([]byte, 0, 2+maxHeld))
}

// ErrBadState is returned by UnmarshalBinary for data that is not a state
// a Stream can be in.
var ErrBadState = errors.New("protocol: bad stream state")

// UnmarshalBinary restores a state saved by MarshalBinary. It refuses data
// that no Stream could have produced, and leaves s unchanged then.
func (s *Stream) UnmarshalBinary(data []byte) error {
	if len(data) < 2 || len(data) > 2+maxHeld {
		return fmt.Errorf("%w: %d bytes", ErrBadState, len(data))
	}
	if data[0] != stateVersion {
		return fmt.Errorf("%w: version %d", ErrBadState, data[0])
	}
	match, held := data[1], data[2:]
	if int(match) >= len(Close) {
		return fmt.Errorf("%w: %d bytes of the phrase matched", ErrBadState, match)
	}
	if len(held) > 0 && (match != 0 || incompleteSuffix(held) != len(held)) {
		return fmt.Errorf("%w: held bytes %q", ErrBadState, held)
	}
	*s = Stream{match: Matcher{n: match}, ntail: uint8(len(held))}
	copy(s.tail[:], held)
	return nil
}
