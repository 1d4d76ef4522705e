package handover

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Problem is a part of a hand-over that could not be read. ID is the
// connection it belonged to when that much could be trusted, else 0; the
// server closes, with a notice, every handed-over connection that has no
// good record.
type Problem struct {
	Offset int
	ID     uint64
	Err    error
}

func (p Problem) Error() string {
	if p.ID != 0 {
		return fmt.Sprintf("hand-over at byte %d (connection %d): %v", p.Offset, p.ID, p.Err)
	}
	return fmt.Sprintf("hand-over at byte %d: %v", p.Offset, p.Err)
}

// Decode reads a hand-over. It returns an error, and no state, only when
// the input is not a hand-over at all; otherwise it returns every record
// that is intact and a Problem for each part that is not. A connection ID
// that appears twice is a problem and only its first record counts.
func Decode(data []byte) (*State, []Problem, error) {
	if len(data) > MaxStateSize {
		return nil, nil, fmt.Errorf("%w: %d bytes is over %d", ErrNotHandover, len(data), MaxStateSize)
	}
	if !bytes.HasPrefix(data, fileMagic) {
		if len(data) >= len(fileMagic) && bytes.HasPrefix(data, fileMagic[:len(fileMagic)-1]) {
			return nil, nil, fmt.Errorf("%w: format version %d, this chatd reads %d", ErrNotHandover, data[len(fileMagic)-1], fileMagic[len(fileMagic)-1])
		}
		return nil, nil, fmt.Errorf("%w: no header", ErrNotHandover)
	}
	st := &State{}
	var problems []Problem
	seen := map[uint64]bool{}
	headerSeen := false
	wantConns := uint64(0)
	off := len(fileMagic)
	for off < len(data) {
		kind, payload, next, err := record(data, off)
		if err != nil {
			problems = append(problems, Problem{Offset: off, Err: err})
			// Look for the next record start; its CRC decides whether
			// it is one.
			i := bytes.Index(data[off+1:], recordMagic)
			if i < 0 {
				break
			}
			off += 1 + i
			continue
		}
		switch kind {
		case kindHeader:
			if headerSeen {
				problems = append(problems, Problem{Offset: off, Err: errors.New("second header record")})
				break
			}
			headerSeen = true
			if wantConns, err = decodeHeader(st, payload); err != nil {
				problems = append(problems, Problem{Offset: off, Err: err})
			}
		case kindConn:
			c, err := decodeConn(payload)
			switch {
			case err != nil:
				problems = append(problems, Problem{Offset: off, ID: c.ID, Err: err})
			case seen[c.ID]:
				problems = append(problems, Problem{Offset: off, ID: c.ID, Err: errors.New("connection ID appears twice")})
			default:
				seen[c.ID] = true
				st.Conns = append(st.Conns, c)
			}
		case kindTLS:
			if st.TLS != nil {
				problems = append(problems, Problem{Offset: off, Err: errors.New("second TLS record")})
				break
			}
			st.TLS = decodeTLS(payload)
			if st.TLS == nil {
				problems = append(problems, Problem{Offset: off, Err: errors.New("TLS record damaged")})
			}
		case kindDescriptors:
			table, err := decodeDescriptors(payload)
			if err != nil {
				problems = append(problems, Problem{Offset: off, Err: err})
			}
			st.Descriptors = append(st.Descriptors, table...)
		case kindCounters:
			if st.Counters != nil {
				problems = append(problems, Problem{Offset: off, Err: errors.New("second counters record")})
				break
			}
			if st.Counters, err = decodeCounters(payload); err != nil {
				problems = append(problems, Problem{Offset: off, Err: err})
			}
		default: // a kind from a later version: skipped
		}
		off = next
	}
	if !headerSeen {
		problems = append(problems, Problem{Offset: len(fileMagic), Err: errors.New("header record missing or damaged")})
	} else if uint64(len(st.Conns)) < wantConns {
		problems = append(problems, Problem{Offset: len(data), Err: fmt.Errorf("%d of %d connection records missing or damaged", wantConns-uint64(len(st.Conns)), wantConns)})
	}
	return st, problems, nil
}

// record checks the record at off and returns its kind, its payload and
// where the next record starts.
func record(data []byte, off int) (kind byte, payload []byte, next int, err error) {
	if len(data)-off < recordHeaderSize {
		return 0, nil, 0, errors.New("truncated record header")
	}
	h := data[off:]
	if !bytes.Equal(h[:4], recordMagic) {
		return 0, nil, 0, errors.New("no record marker")
	}
	kind = h[4]
	n := binary.LittleEndian.Uint32(h[5:9])
	sum := binary.LittleEndian.Uint32(h[9:13])
	if n > maxRecordSize {
		return 0, nil, 0, fmt.Errorf("record length %d is over %d", n, maxRecordSize)
	}
	if uint64(len(h)-recordHeaderSize) < uint64(n) {
		return 0, nil, 0, fmt.Errorf("record of %d bytes cut off", n)
	}
	payload = h[recordHeaderSize : recordHeaderSize+int(n)]
	if recordCRC(kind, payload) != sum {
		return 0, nil, 0, errors.New("checksum mismatch")
	}
	return kind, payload, off + recordHeaderSize + int(n), nil
}

// eachField calls f for every field of a payload.
func eachField(payload []byte, f func(tag byte, v []byte) error) error {
	for len(payload) > 0 {
		tag := payload[0]
		n, w := binary.Uvarint(payload[1:])
		if w <= 0 {
			return fmt.Errorf("field %d: bad length", tag)
		}
		rest := payload[1+w:]
		if n > uint64(len(rest)) {
			return fmt.Errorf("field %d: %d bytes cut off", tag, n)
		}
		if err := f(tag, rest[:n]); err != nil {
			return err
		}
		payload = rest[n:]
	}
	return nil
}

func u64(tag byte, v []byte) (uint64, error) {
	if len(v) != 8 {
		return 0, fmt.Errorf("field %d: %d bytes, want 8", tag, len(v))
	}
	return binary.LittleEndian.Uint64(v), nil
}

func tm(tag byte, v []byte) (time.Time, error) {
	n, err := u64(tag, v)
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(0, int64(n)), nil
}

func addr(tag byte, v []byte) (string, error) {
	if len(v) > maxAddrSize {
		return "", fmt.Errorf("field %d: address of %d bytes", tag, len(v))
	}
	return string(v), nil
}

func decodeHeader(st *State, payload []byte) (conns uint64, err error) {
	err = eachField(payload, func(tag byte, v []byte) error {
		var err error
		switch tag {
		case tagVersion:
			st.Version, err = addr(tag, v)
		case tagWrittenAt:
			st.WrittenAt, err = tm(tag, v)
		case tagHighestID:
			st.HighestID, err = u64(tag, v)
		case tagConfig:
			st.Config = append([]byte(nil), v...)
		case tagConnCount:
			conns, err = u64(tag, v)
		}
		return err
	})
	return conns, err
}

func decodeConn(payload []byte) (Conn, error) {
	var c Conn
	idSeen := false
	err := eachField(payload, func(tag byte, v []byte) error {
		var err error
		switch tag {
		case tagID:
			c.ID, err = u64(tag, v)
			idSeen = err == nil
		case tagRemote:
			c.Remote, err = addr(tag, v)
		case tagLocal:
			c.Local, err = addr(tag, v)
		case tagClient:
			c.Client, err = addr(tag, v)
		case tagConnectedAt:
			c.ConnectedAt, err = tm(tag, v)
		case tagLastActive:
			c.LastActive, err = tm(tag, v)
		case tagBytesIn:
			c.BytesIn, err = u64(tag, v)
		case tagBytesOut:
			c.BytesOut, err = u64(tag, v)
		case tagProtocol:
			if len(v) > MaxProtocolSize {
				return fmt.Errorf("protocol state of %d bytes is over %d", len(v), MaxProtocolSize)
			}
			c.Protocol = append([]byte(nil), v...)
		}
		return err
	})
	if err == nil && (!idSeen || c.ID == 0) {
		err = errors.New("connection record without an ID")
	}
	return c, err
}

// decodeTLS reads a TLS record; nil if it is not whole.
func decodeTLS(payload []byte) *TLS {
	t := &TLS{}
	err := eachField(payload, func(tag byte, v []byte) error {
		switch tag {
		case tagTLSCert:
			t.Cert = append([]byte(nil), v...)
		case tagTLSKey:
			t.Key = append([]byte(nil), v...)
		case tagTLSClientCA:
			if len(v) > 0 {
				t.ClientCA = append([]byte(nil), v...)
			}
		}
		return nil
	})
	if err != nil || len(t.Cert) == 0 || len(t.Key) == 0 {
		return nil
	}
	return t
}

// decodeCounters reads a counters record; an error if it is not whole,
// since a figure read in part would go backwards.
func decodeCounters(payload []byte) (*Counters, error) {
	c := &Counters{}
	var seen uint8 // a bit per figure
	err := eachField(payload, func(tag byte, v []byte) error {
		var p *uint64
		switch tag {
		case tagRestarts:
			p = &c.Restarts
		case tagTakenBack:
			p = &c.TakenBack
		case tagLost:
			p = &c.Lost
		default:
			return nil
		}
		n, err := u64(tag, v)
		*p = n
		seen |= 1 << tag
		return err
	})
	if all := uint8(1<<tagRestarts | 1<<tagTakenBack | 1<<tagLost); err == nil && seen != all {
		err = errors.New("counters record without every figure")
	}
	if err != nil {
		return nil, fmt.Errorf("counters: %w", err)
	}
	return c, nil
}
