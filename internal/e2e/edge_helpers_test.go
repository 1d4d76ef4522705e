package e2e

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/admin/adminapi"
	"github.com/chatd/chatd/internal/testbin"
)

// listenersOf reads the "chatd started" line's listeners ("tcp
// 127.0.0.1:5605,tls [::1]:5606") into kind → addresses.
func listenersOf(t *testing.T, d *testbin.Chatd) map[string][]string {
	t.Helper()
	// WaitListening saw the line; the log buffer may get it a moment later.
	d.WaitLog(`"msg":"chatd started"`, 10*time.Second)
	recs := d.LogRecords("chatd started")
	if len(recs) == 0 {
		t.Fatalf("no chatd started line:\n%s", d.Logs())
	}
	s, _ := recs[0]["listeners"].(string)
	out := map[string][]string{}
	for item := range strings.SplitSeq(s, ",") {
		kind, addr, ok := strings.Cut(item, " ")
		if !ok {
			t.Fatalf("listeners %q: bad item %q", s, item)
		}
		out[kind] = append(out[kind], addr)
	}
	return out
}

// dialFrom connects to addr from the loopback address ip (any of
// 127.0.0.0/8 is this host on Linux).
func dialFrom(t *testing.T, ip, addr string) *net.TCPConn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return c.(*net.TCPConn)
}

// echo sends line and reads its answer: the connection is served.
func echo(t *testing.T, c net.Conn, line string) {
	t.Helper()
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		t.Fatalf("write: %v", err)
	}
	got, err := bufio.NewReader(c).ReadString('\n')
	if want := strings.ToUpper(line) + "\n"; err != nil || got != want {
		t.Fatalf("answer to %q: %q, %v; want %q", line, got, err, want)
	}
}

// readAll reads until the server closes the connection.
func readAll(t *testing.T, c net.Conn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil && !isReset(err) && !strings.Contains(err.Error(), "broken pipe") {
		t.Fatalf("read to end: %v (got %q)", err, b)
	}
	return string(b)
}

// listed is `chatctl list -o json` against sock.
func listed(t *testing.T, sock string) []adminapi.Client {
	t.Helper()
	out, _, err := chatctl(t, sock, "list", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var list adminapi.ClientList
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("list -o json: %v: %q", err, out)
	}
	return list.Clients
}

func hostOf(t *testing.T, addr string) string {
	t.Helper()
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	return h
}

// tlsDial connects to addr with TLS, verifying the server against pool.
func tlsDial(t *testing.T, addr string, cfg *tls.Config) *tls.Conn {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		t.Fatalf("TLS dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return c
}
