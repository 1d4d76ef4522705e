package handover

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"time"
)

// Conn is what the old process knows about one connection.
type Conn struct {
	ID uint64
	// Remote and Local are the socket's peer and local addresses.
	Remote, Local string
	// Client is the client's own address when a proxy in front of chatd
	// says so (PROXY protocol); empty means Remote.
	Client      string
	ConnectedAt time.Time
	LastActive  time.Time
	BytesIn     uint64
	BytesOut    uint64
	// Protocol is the protocol's serialised per-connection state, opaque
	// here.
	Protocol []byte
}

// State is a whole hand-over.
type State struct {
	// Version is the version string of the chatd that wrote it.
	Version string
	// WrittenAt is when it was written.
	WrittenAt time.Time
	// HighestID is the highest client ID handed out so far; the next
	// process hands out IDs above it.
	HighestID uint64
	// Config is the last good configuration, opaque here, kept so that a
	// restart onto a broken config can go on with it.
	Config []byte
	// TLS is what the TLS listeners serve with, as it was read when the
	// config in force was loaded (nil: no TLS), kept so that a restart
	// onto certificate files broken meanwhile can go on serving it.
	TLS *TLS
	// Counters are the instance's restart-survival figures so far (nil:
	// none were written, as by a chatd that predates them).
	Counters *Counters
	Conns    []Conn
	// Descriptors names the inherited descriptors after a re-exec in
	// place (descriptors.go); empty under systemd, whose store names them.
	Descriptors []Descriptor
}

// Counters are the restart-survival figures of a chatd instance: they
// belong to the service, not to one process, so each process hands them
// to the next (and keeps them for a crash) and the next goes on from them.
type Counters struct {
	Restarts  uint64 // restarts whose clients a next process took over
	TakenBack uint64 // connections taken over, over all those restarts
	Lost      uint64 // live connections that could not be served again
}

// TLS is the TLS material in force: PEM as read from tls.cert_file,
// tls.key_file and tls.client_ca. Key is a private key; the file that
// carries a State is readable by chatd's own user only (see WriteFile).
type TLS struct {
	Cert, Key, ClientCA []byte
}

// Limits that keep a reader's memory bounded whatever it is given.
const (
	MaxStateSize    = 256 << 20
	maxRecordSize   = 1 << 20
	MaxProtocolSize = 64 << 10
	maxAddrSize     = 512
	// MaxTLSSize bounds the TLS material (certificate, key and client CA
	// together) that a state can carry: one record.
	MaxTLSSize = maxRecordSize - 3*(1+binary.MaxVarintLen64)
)

// The file: fileMagic, then records. A record: recordMagic, kind (1 byte),
// payload length (uint32), CRC-32C of kind+payload (uint32), payload. A
// payload is a sequence of fields: tag (1 byte), length (uvarint), value.
// Integers are little-endian; times are Unix nanoseconds (int64).
var (
	fileMagic   = []byte("CHATDHO\x01") // the last byte is the format version
	recordMagic = []byte{0xC4, 'h', 'o', 'r'}
	castagnoli  = crc32.MakeTable(crc32.Castagnoli)
)

const recordHeaderSize = 4 + 1 + 4 + 4

const (
	kindHeader byte = 1
	kindConn   byte = 2
	// kindTLS, at most one, after the header: a record of its own so that
	// a reader that predates it skips it whole, and so that its size
	// (a CA bundle) counts against no other record's limit. (3 is kept
	// for the re-exec's descriptor names.)
	kindTLS byte = 4
	// kindCounters, at most one: the instance's restart counters, in a
	// record of their own for the same reasons.
	kindCounters byte = 5
)

// Field tags. Never reuse a number; an unknown tag is skipped.
const (
	tagVersion     byte = 1 // header
	tagWrittenAt   byte = 2
	tagHighestID   byte = 3
	tagConfig      byte = 4
	tagConnCount   byte = 5
	tagID          byte = 1 // conn
	tagRemote      byte = 2
	tagLocal       byte = 3
	tagClient      byte = 4
	tagConnectedAt byte = 5
	tagLastActive  byte = 6
	tagBytesIn     byte = 7
	tagBytesOut    byte = 8
	tagProtocol    byte = 9
	tagTLSCert     byte = 1 // tls
	tagTLSKey      byte = 2
	tagTLSClientCA byte = 3
	tagRestarts    byte = 1 // counters
	tagTakenBack   byte = 2
	tagLost        byte = 3
)

// ErrNotHandover means the input is not a hand-over this version can read.
var ErrNotHandover = errors.New("not a chatd hand-over")

// Encode returns st in the hand-over format.
func Encode(st *State) ([]byte, error) {
	var hdr fields
	hdr.str(tagVersion, st.Version)
	hdr.time(tagWrittenAt, st.WrittenAt)
	hdr.u64(tagHighestID, st.HighestID)
	hdr.bytes(tagConfig, st.Config)
	hdr.u64(tagConnCount, uint64(len(st.Conns)))
	out := append([]byte(nil), fileMagic...)
	var err error
	if out, err = appendRecord(out, kindHeader, hdr); err != nil {
		return nil, err
	}
	if t := st.TLS; t != nil {
		var f fields
		f.bytes(tagTLSCert, t.Cert)
		f.bytes(tagTLSKey, t.Key)
		f.bytes(tagTLSClientCA, t.ClientCA)
		if out, err = appendRecord(out, kindTLS, f); err != nil {
			return nil, fmt.Errorf("TLS material: %w", err)
		}
	}
	if c := st.Counters; c != nil {
		var f fields
		f.u64(tagRestarts, c.Restarts)
		f.u64(tagTakenBack, c.TakenBack)
		f.u64(tagLost, c.Lost)
		if out, err = appendRecord(out, kindCounters, f); err != nil {
			return nil, fmt.Errorf("counters: %w", err)
		}
	}
	for i := range st.Conns {
		c := &st.Conns[i]
		if len(c.Protocol) > MaxProtocolSize {
			return nil, fmt.Errorf("connection %d: protocol state of %d bytes is over %d", c.ID, len(c.Protocol), MaxProtocolSize)
		}
		if len(c.Remote) > maxAddrSize || len(c.Local) > maxAddrSize || len(c.Client) > maxAddrSize {
			return nil, fmt.Errorf("connection %d: address over %d bytes", c.ID, maxAddrSize)
		}
		var f fields
		f.u64(tagID, c.ID)
		f.str(tagRemote, c.Remote)
		f.str(tagLocal, c.Local)
		f.str(tagClient, c.Client)
		f.time(tagConnectedAt, c.ConnectedAt)
		f.time(tagLastActive, c.LastActive)
		f.u64(tagBytesIn, c.BytesIn)
		f.u64(tagBytesOut, c.BytesOut)
		f.bytes(tagProtocol, c.Protocol)
		if out, err = appendRecord(out, kindConn, f); err != nil {
			return nil, fmt.Errorf("connection %d: %w", c.ID, err)
		}
	}
	if out, err = appendDescriptors(out, st.Descriptors); err != nil {
		return nil, err
	}
	if len(out) > MaxStateSize {
		return nil, fmt.Errorf("hand-over of %d bytes is over %d", len(out), MaxStateSize)
	}
	return out, nil
}

func appendRecord(out []byte, kind byte, f fields) ([]byte, error) {
	if len(f.b) > maxRecordSize {
		return out, fmt.Errorf("record of %d bytes is over %d", len(f.b), maxRecordSize)
	}
	out = append(out, recordMagic...)
	out = append(out, kind)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(f.b)))
	out = binary.LittleEndian.AppendUint32(out, recordCRC(kind, f.b))
	return append(out, f.b...), nil
}

func recordCRC(kind byte, payload []byte) uint32 {
	return crc32.Update(crc32.Update(0, castagnoli, []byte{kind}), castagnoli, payload)
}

type fields struct{ b []byte }

func (f *fields) bytes(tag byte, v []byte) {
	f.b = append(f.b, tag)
	f.b = binary.AppendUvarint(f.b, uint64(len(v)))
	f.b = append(f.b, v...)
}

func (f *fields) str(tag byte, v string) { f.bytes(tag, []byte(v)) }

func (f *fields) u64(tag byte, v uint64) {
	f.bytes(tag, binary.LittleEndian.AppendUint64(nil, v))
}

func (f *fields) time(tag byte, t time.Time) {
	if t.IsZero() {
		return // absent means zero: UnixNano of the zero time is not
	}
	f.u64(tag, uint64(t.UnixNano()))
}
