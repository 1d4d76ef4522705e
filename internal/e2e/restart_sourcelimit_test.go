//go:build unix

package e2e

import (
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/testbin"
)

const sourceFull = "*** too many connections from your address, try again later\n"

// viaBalancer connects as a trusted balancer would for a client at
// client (PROXY protocol v1) and checks the connection is served.
func viaBalancer(t *testing.T, addr, client string, port int) net.Conn {
	t.Helper()
	c := dialFrom(t, "127.0.0.1", addr)
	fmt.Fprintf(c, "PROXY TCP4 %s 127.0.0.1 %d 5605\r\n", client, port)
	return c
}

// max_clients_per_source holds across restarts in place: the clients a
// restart takes back count against the source the PROXY header named, so
// the sixth client from it is refused after every restart as before the
// first, while the five are served on; a place freed by one that leaves
// is a place again.
func TestPerSourceLimitHoldsAcrossRestartsInPlace(t *testing.T) {
	const limit, client = 5, "203.0.113.7"
	d := testbin.StartChatd(t, testbin.Options{Config: behindHAProxy + fmt.Sprintf("max_clients_per_source: %d\n", limit)})
	port := 40000
	next := func() int { port++; return port }
	var kept []net.Conn
	for i := range limit {
		c := viaBalancer(t, d.Addr, client, next())
		echo(t, c, fmt.Sprintf("client %d", i))
		kept = append(kept, c)
	}
	refused := func(when string) {
		t.Helper()
		if got := readAll(t, viaBalancer(t, d.Addr, client, next())); got != sourceFull {
			t.Fatalf("%s: client %d from %s read %q, want the source-full notice", when, limit+1, client, got)
		}
		// Another source behind the same balancer still gets in.
		other := viaBalancer(t, d.Addr, "198.51.100.9", next())
		echo(t, other, "other source "+when)
		other.Close()
	}
	refused("before any restart")
	for i := 1; i <= 3; i++ {
		restartInPlace(t, d)
		when := fmt.Sprintf("after restart %d", i)
		for n, c := range kept {
			echo(t, c, fmt.Sprintf("client %d %s", n, when))
		}
		refused(when)
		for _, rec := range listed(t, d.Socket) {
			if h := hostOf(t, rec.RemoteAddr); h != client && h != "198.51.100.9" {
				t.Fatalf("%s: a client is listed at %s", when, rec.RemoteAddr)
			}
		}
	}
	// One leaves: its place is free, and a restart counts the new one.
	io.WriteString(kept[0], "CLOSE SOCKET")
	readAll(t, kept[0])
	if !testbin.Poll(10*time.Second, func() bool { return len(listed(t, d.Socket)) == limit-1 }) {
		t.Fatalf("%d clients listed after one left, want %d", len(listed(t, d.Socket)), limit-1)
	}
	kept[0] = viaBalancer(t, d.Addr, client, next())
	echo(t, kept[0], "in the freed place")
	restartInPlace(t, d)
	refused("after the freed place was taken and a restart")
	if out := d.Logs(); !strings.Contains(out, `"reason":"source-full"`) && !strings.Contains(out, "source-full") {
		t.Fatalf("no source-full rejection logged:\n%s", out)
	}
}
