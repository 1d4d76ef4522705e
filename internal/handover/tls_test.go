package handover

import (
	"bytes"
	"os"
	"reflect"
	"syscall"
	"testing"
)

func stateWithTLS() *State {
	st := sampleState()
	st.TLS = &TLS{
		Cert:     []byte("-----BEGIN CERTIFICATE-----\ncert\n-----END CERTIFICATE-----\n"),
		Key:      []byte("-----BEGIN EC PRIVATE KEY-----\nkey\n-----END EC PRIVATE KEY-----\n"),
		ClientCA: []byte("-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n"),
	}
	return st
}

// The TLS material travels in a record of its own: it round trips, with
// or without a client CA, and a damaged TLS record costs only itself.
func TestTLSMaterialRoundTripsInARecordOfItsOwn(t *testing.T) {
	for _, tc := range []struct {
		name string
		tls  *TLS
	}{
		{"cert, key and client CA", stateWithTLS().TLS},
		{"no client CA", &TLS{Cert: []byte("c"), Key: []byte("k")}},
		{"largest", &TLS{Cert: bytes.Repeat([]byte("c"), MaxTLSSize/2), Key: bytes.Repeat([]byte("k"), MaxTLSSize-MaxTLSSize/2)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := sampleState()
			st.TLS = tc.tls
			data, err := Encode(st)
			if err != nil {
				t.Fatal(err)
			}
			got, problems, err := Decode(data)
			if err != nil || len(problems) != 0 {
				t.Fatalf("Decode: %v %v", err, problems)
			}
			if !reflect.DeepEqual(got.TLS, tc.tls) {
				t.Fatalf("TLS %+v, want %+v", got.TLS, tc.tls)
			}
			got.TLS = nil
			equalState(t, got, sampleState())
		})
	}

	st := sampleState()
	st.TLS = &TLS{Cert: bytes.Repeat([]byte("c"), maxRecordSize), Key: []byte("k")}
	if _, err := Encode(st); err == nil {
		t.Fatal("Encode accepted TLS material over a record")
	}

	data, err := Encode(stateWithTLS())
	if err != nil {
		t.Fatal(err)
	}
	offs := recordOffsets(t, data) // header, TLS, conns
	data[offs[1]+recordHeaderSize+5] ^= 0x20
	got, problems, err := Decode(data)
	if err != nil || got.TLS != nil || len(problems) != 1 || len(got.Conns) != 3 {
		t.Fatalf("damaged TLS record: TLS %v, %d conns, problems %v, err %v", got.TLS, len(got.Conns), problems, err)
	}
}

// The file that carries a state (a private key among it) is readable and
// writable by chatd's own user only.
func TestWriteFileIsOwnerOnly(t *testing.T) {
	f, err := WriteFile(stateWithTLS())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Fatalf("hand-over file mode %v, want 0600", perm)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		t.Fatalf("hand-over file owned by uid %d, not chatd's %d", st.Uid, os.Geteuid())
	}
	got, problems, err := ReadFile(f)
	if err != nil || len(problems) != 0 || !reflect.DeepEqual(got.TLS, stateWithTLS().TLS) {
		t.Fatalf("ReadFile: TLS %+v, %v %v", got.TLS, err, problems)
	}
}
