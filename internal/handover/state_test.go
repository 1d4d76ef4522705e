package handover

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

func sampleState() *State {
	at := time.Unix(1_790_000_000, 123456789)
	return &State{
		Version:   "chatd 1.4.0",
		WrittenAt: at.Add(time.Hour),
		HighestID: 41,
		Config:    []byte("listen: 127.0.0.1:7000\n"),
		Conns: []Conn{
			{
				ID: 7, Remote: "127.0.0.1:50001", Local: "127.0.0.1:7000", Client: "203.0.113.9:41000",
				ConnectedAt: at, LastActive: at.Add(3 * time.Second),
				BytesIn: 1 << 40, BytesOut: 12345, Protocol: []byte{0x03, 0xe2, 0x82},
			},
			{ID: 8, Remote: "[::1]:50002", Local: "[::1]:7000", ConnectedAt: at, LastActive: at},
			{ID: 41, Remote: "127.0.0.1:50003", Protocol: bytes.Repeat([]byte{0xff}, 40)},
		},
	}
}

// equalState compares as the reader returns times: the same instant.
func equalState(t *testing.T, got, want *State) {
	t.Helper()
	norm := func(s *State) State {
		c := *s
		c.WrittenAt = time.Unix(0, s.WrittenAt.UnixNano())
		if s.WrittenAt.IsZero() {
			c.WrittenAt = time.Time{}
		}
		c.Conns = nil
		for _, x := range s.Conns {
			for _, p := range []*time.Time{&x.ConnectedAt, &x.LastActive} {
				if !p.IsZero() {
					*p = time.Unix(0, p.UnixNano())
				}
			}
			if len(x.Protocol) == 0 {
				x.Protocol = nil
			}
			c.Conns = append(c.Conns, x)
		}
		if len(c.Config) == 0 {
			c.Config = nil
		}
		return c
	}
	if g, w := norm(got), norm(want); !reflect.DeepEqual(g, w) {
		t.Fatalf("round trip\n got %+v\nwant %+v", g, w)
	}
}

func TestRoundTripEveryField(t *testing.T) {
	for _, tc := range []struct {
		name string
		st   *State
	}{
		{"every field set", sampleState()},
		{"empty", &State{}},
		{"zero connection fields but the ID", &State{Conns: []Conn{{ID: 1}}}},
		{"largest protocol state", &State{Conns: []Conn{{ID: 1, Protocol: bytes.Repeat([]byte{0xff}, MaxProtocolSize)}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := Encode(tc.st)
			if err != nil {
				t.Fatal(err)
			}
			got, problems, err := Decode(data)
			if err != nil || len(problems) != 0 {
				t.Fatalf("Decode: %v %v", err, problems)
			}
			equalState(t, got, tc.st)
		})
	}
}

func TestWriteFileIsSealedAndReadsBack(t *testing.T) {
	f, err := WriteFile(sampleState())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("x")); err == nil && isLinux() {
		t.Fatal("the hand-over memfd accepted a write after sealing")
	}
	got, problems, err := ReadFile(f)
	if err != nil || len(problems) != 0 {
		t.Fatalf("ReadFile: %v %v", err, problems)
	}
	equalState(t, got, sampleState())
}

func isLinux() bool { _, err := os.Stat("/proc/self/fd"); return err == nil }

func TestEncodeRefusesOversizedFields(t *testing.T) {
	for _, c := range []Conn{
		{ID: 1, Protocol: make([]byte, MaxProtocolSize+1)},
		{ID: 1, Remote: strings.Repeat("a", maxAddrSize+1)},
	} {
		if _, err := Encode(&State{Conns: []Conn{c}}); err == nil {
			t.Errorf("Encode accepted %d-byte protocol state / %d-byte address", len(c.Protocol), len(c.Remote))
		}
	}
}

// recordOffsets returns where each record starts in an encoded state.
func recordOffsets(t *testing.T, data []byte) []int {
	t.Helper()
	var offs []int
	for off := len(fileMagic); off < len(data); {
		_, _, next, err := record(data, off)
		if err != nil {
			t.Fatal(err)
		}
		offs = append(offs, off)
		off = next
	}
	return offs
}

// Damage costs only the connections it hit, and is always reported.
func TestDamageIsReportedAndContained(t *testing.T) {
	good, err := Encode(sampleState())
	if err != nil {
		t.Fatal(err)
	}
	offs := recordOffsets(t, good) // header, conn 7, conn 8, conn 41
	for _, tc := range []struct {
		name     string
		damage   func([]byte) []byte
		wantIDs  []uint64
		problems int
	}{
		{"bit flipped in a payload", func(b []byte) []byte { b[offs[2]+recordHeaderSize+3] ^= 0x10; return b }, []uint64{7, 41}, 2},
		{"length of a record damaged", func(b []byte) []byte { b[offs[1]+6] = 0x7f; return b }, []uint64{8, 41}, 2},
		{"record marker damaged", func(b []byte) []byte { b[offs[3]] = 'X'; return b }, []uint64{7, 8}, 2},
		{"cut in the last record", func(b []byte) []byte { return b[:len(b)-10] }, []uint64{7, 8}, 2},
		{"cut after a whole record", func(b []byte) []byte { return b[:offs[3]] }, []uint64{7, 8}, 1},
		{"header damaged", func(b []byte) []byte { b[offs[0]+recordHeaderSize+2] ^= 1; return b }, []uint64{7, 8, 41}, 2},
		{"a record twice", func(b []byte) []byte { return append(b, b[offs[1]:offs[2]]...) }, []uint64{7, 8, 41}, 1},
		{"junk appended", func(b []byte) []byte { return append(b, "junk"...) }, []uint64{7, 8, 41}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, problems, err := Decode(tc.damage(bytes.Clone(good)))
			if err != nil {
				t.Fatal(err)
			}
			var ids []uint64
			for _, c := range st.Conns {
				ids = append(ids, c.ID)
			}
			if !reflect.DeepEqual(ids, tc.wantIDs) || len(problems) != tc.problems {
				t.Fatalf("IDs %v problems %v; want IDs %v and %d problems", ids, problems, tc.wantIDs, tc.problems)
			}
		})
	}
}

func TestNotAHandover(t *testing.T) {
	newer := append([]byte("CHATDHO\x02"), make([]byte, 20)...)
	for _, data := range [][]byte{nil, []byte("hello"), []byte(`{"conns":[]}`), newer} {
		if _, _, err := Decode(data); !errors.Is(err, ErrNotHandover) {
			t.Errorf("Decode(%q) = %v, want ErrNotHandover", data, err)
		}
	}
}

// FuzzDecode: any input gives an error or a state and problems, never a
// panic, and every connection returned has an ID and bounded fields.
func FuzzDecode(f *testing.F) {
	good, err := Encode(sampleState())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	withTLS, err := Encode(stateWithTLS())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(withTLS)
	withTable := sampleState()
	withTable.Descriptors = []Descriptor{{FD: 7, Name: "listener"}, {FD: 8, Name: "client.1234567890123456"}}
	if b, err := Encode(withTable); err == nil {
		f.Add(b)
	}
	withCounters := stateWithTLS()
	withCounters.Counters = &Counters{Restarts: 2, TakenBack: 9, Lost: 1}
	if good, err = Encode(withCounters); err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Fuzz(func(t *testing.T, data []byte) {
		st, problems, err := Decode(data)
		if err != nil {
			if st != nil || problems != nil {
				t.Fatal("an error came with a state")
			}
			return
		}
		seen := map[uint64]bool{}
		for _, c := range st.Conns {
			if c.ID == 0 || seen[c.ID] || len(c.Protocol) > MaxProtocolSize || len(c.Remote) > maxAddrSize {
				t.Fatalf("bad connection returned: %+v", c)
			}
			seen[c.ID] = true
		}
		if st.TLS != nil && (len(st.TLS.Cert) == 0 || len(st.TLS.Key) == 0) {
			t.Fatalf("TLS material without a certificate or key: %+v", st.TLS)
		}
		for _, p := range problems {
			if p.Err == nil || p.Offset < 0 || p.Offset > len(data) {
				t.Fatalf("bad problem %+v", p)
			}
		}
	})
}

// The descriptor table survives the format, in several records when it
// is long, and a reader that predates it skips those records.
func TestDescriptorTableRoundTrip(t *testing.T) {
	st := sampleState()
	for i := range 2*descriptorsPerRec + 3 {
		st.Descriptors = append(st.Descriptors, Descriptor{FD: 3 + i, Name: fmt.Sprintf("client.%016d", i+1)})
	}
	data, err := Encode(st)
	if err != nil {
		t.Fatal(err)
	}
	back, problems, err := Decode(data)
	if err != nil || len(problems) > 0 {
		t.Fatalf("decode: %v %v", err, problems)
	}
	if len(back.Descriptors) != len(st.Descriptors) || back.Descriptors[descriptorsPerRec+1] != st.Descriptors[descriptorsPerRec+1] {
		t.Fatalf("table of %d came back with %d entries", len(st.Descriptors), len(back.Descriptors))
	}
	if len(back.Conns) != len(st.Conns) {
		t.Fatalf("connections: %d, want %d", len(back.Conns), len(st.Conns))
	}
}
