package server

import (
	"net"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/handover"
)

// acceptedFrom makes a connection from ip and returns the server's side
// of it, as a restarted process takes it back, and the client's side.
func acceptedFrom(t *testing.T, ip string) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client = dialFrom(t, ip, ln.Addr().String())
	if server, err = ln.Accept(); err != nil {
		t.Fatal(err)
	}
	return server, client
}

// Connections taken over from the process before a restart count against
// their source: with the limit at 2 and two restored from one address, a
// new one from it is refused, one from elsewhere gets in, and a restored
// client that leaves frees its place. A connection whose source is not
// known (after a crash behind a balancer) is not counted, and its end
// frees nobody else's place.
func TestRestoredConnectionsCountAgainstTheirSource(t *testing.T) {
	st := defaultSettings()
	st.MaxClientsPerSource = 2
	st.SourceFullNotice = "*** too many from you"
	ts := startServer(t, st)

	var restored []net.Conn
	for id := uint64(101); id <= 102; id++ {
		sc, cc := acceptedFrom(t, "127.0.0.2")
		if err := ts.srv.Restore(sc, handover.Conn{ID: id}); err != nil {
			t.Fatal(err)
		}
		restored = append(restored, cc)
	}
	unknown, unknownClient := acceptedFrom(t, "127.0.0.2")
	if err := ts.srv.RestoreSourceUnknown(unknown, handover.Conn{ID: 103}); err != nil {
		t.Fatal(err)
	}
	ts.waitClients(t, 3)
	if got := readToEOF(t, dialFrom(t, "127.0.0.2", ts.addr)); got != "*** too many from you\n" {
		t.Fatalf("a new client from the source of two restored ones read %q, want the source-full notice", got)
	}
	other := dialFrom(t, "127.0.0.3", ts.addr)
	mustWrite(t, other, "hi")
	if got := readN(t, other, 2); got != "HI" {
		t.Fatalf("a client from another source got %q", got)
	}

	// The uncounted one leaves: the source is still full.
	mustWrite(t, unknownClient, "CLOSE SOCKET")
	readToEOF(t, unknownClient)
	ts.waitClients(t, 3)
	if got := readToEOF(t, dialFrom(t, "127.0.0.2", ts.addr)); got != "*** too many from you\n" {
		t.Fatalf("after the uncounted client left, a new one read %q, want the source-full notice", got)
	}

	// A restored one leaves: its place is free.
	mustWrite(t, restored[0], "CLOSE SOCKET")
	readToEOF(t, restored[0])
	ts.waitClients(t, 2)
	again := dialFrom(t, "127.0.0.2", ts.addr)
	mustWrite(t, again, "ok")
	if got := readN(t, again, 2); got != "OK" {
		t.Fatalf("a client after a restored one left got %q", got)
	}
	again.SetDeadline(time.Now().Add(10 * time.Second))
}
