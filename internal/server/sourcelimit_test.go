package server

import (
	"net"
	"strings"
	"testing"
	"time"
)

func dialFrom(t *testing.T, ip, addr string) *net.TCPConn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c.(*net.TCPConn)
}

// One source at its limit gets the source-full notice; another source
// still gets in, and a freed place is usable again.
func TestPerSourceLimit(t *testing.T) {
	st := defaultSettings()
	st.MaxClientsPerSource = 2
	st.SourceFullNotice = "*** too many from you"
	ts := startServer(t, st)
	a1, a2 := dialFrom(t, "127.0.0.2", ts.addr), dialFrom(t, "127.0.0.2", ts.addr)
	ts.waitClients(t, 2)
	third := dialFrom(t, "127.0.0.2", ts.addr)
	if got := readToEOF(t, third); got != "*** too many from you\n" {
		t.Fatalf("third client from 127.0.0.2 read %q", got)
	}
	other := dialFrom(t, "127.0.0.3", ts.addr)
	mustWrite(t, other, "hi")
	if got := readN(t, other, 2); got != "HI" {
		t.Fatalf("client from 127.0.0.3 got %q", got)
	}
	if n := ts.srv.Stats().SourceRejected.Load(); n != 1 {
		t.Fatalf("SourceRejected = %d, want 1", n)
	}
	if strings.Count(ts.logs.String(), "reason=source-full") != 1 || strings.Count(ts.logs.String(), "remote=127.0.0.2") < 1 {
		t.Fatalf("want one source-full rejection line naming 127.0.0.2:\n%s", ts.logs.String())
	}
	// A place freed by a client that leaves is a place again.
	mustWrite(t, a1, "CLOSE SOCKET")
	readToEOF(t, a1)
	ts.waitClients(t, 2)
	again := dialFrom(t, "127.0.0.2", ts.addr)
	mustWrite(t, again, "ok")
	if got := readN(t, again, 2); got != "OK" {
		t.Fatalf("client after a freed place got %q", got)
	}
	_ = a2
}

// A limit set while running applies to the next connection; 0 lifts it.
func TestPerSourceLimitChangesLive(t *testing.T) {
	ts := startServer(t, defaultSettings())
	dialFrom(t, "127.0.0.2", ts.addr)
	ts.waitClients(t, 1)
	st := defaultSettings()
	st.MaxClientsPerSource = 1
	st.SourceFullNotice = "full"
	ts.srv.SetSettings(st)
	if got := readToEOF(t, dialFrom(t, "127.0.0.2", ts.addr)); got != "full\n" {
		t.Fatalf("second client after the limit read %q", got)
	}
	st.MaxClientsPerSource = 0
	ts.srv.SetSettings(st)
	dialFrom(t, "127.0.0.2", ts.addr)
	ts.waitClients(t, 2)
}
