package e2e

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/proxyheader/haproxytest"
	"github.com/chatd/chatd/internal/testbin"
)

// behindHAProxy is chatd's configuration for the README's setup: the
// PROXY protocol on, believed only from HAProxy (which connects from
// 127.0.0.1).
const behindHAProxy = "proxy_protocol:\n  enabled: true\n  trusted: [\"127.0.0.1/32\"]\n  policy: refuse\n  header_timeout: 2s\n"

// A real HAProxy in front of two real chatd, with both forms of the PROXY
// protocol: clients connecting from 127.0.0.77 are listed, logged and
// counted as 127.0.0.77, not as HAProxy's 127.0.0.1.
func TestHAProxyPassesTheClientsAddress(t *testing.T) {
	haproxytest.Path(t)
	for _, send := range []string{"send-proxy-v2", "send-proxy"} {
		t.Run(send, func(t *testing.T) {
			a := testbin.StartChatd(t, testbin.Options{Config: behindHAProxy + "max_clients_per_source: 3\n"})
			b := testbin.StartChatd(t, testbin.Options{Config: behindHAProxy + "max_clients_per_source: 3\n"})
			front := haproxytest.Start(t, send, a.Addr, b.Addr)
			const clients = 4
			for i := range clients {
				echo(t, dialFrom(t, "127.0.0.77", front), fmt.Sprintf("client %d via %s", i, send))
			}
			total := 0
			for _, d := range []*testbin.Chatd{a, b} {
				list := listed(t, d.Socket)
				if len(list) == 0 {
					t.Errorf("HAProxy (leastconn) sent no client to chatd at %s", d.Addr)
				}
				for _, c := range list {
					if got := hostOf(t, c.RemoteAddr); got != "127.0.0.77" {
						t.Errorf("chatctl list shows a client at %s, want 127.0.0.77", c.RemoteAddr)
					}
				}
				total += len(list)
				// The log names the real client too. (haproxytest's own
				// check that HAProxy is up connects from 127.0.0.1.)
				logged := 0
				for _, rec := range d.LogRecords("client connected") {
					if r, _ := rec["remote"].(string); strings.HasPrefix(r, "127.0.0.77:") {
						logged++
					}
				}
				if logged != len(list) {
					t.Errorf("%d connect log lines name 127.0.0.77, want %d:\n%s", logged, len(list), d.Logs())
				}
			}
			if total != clients {
				t.Fatalf("%d clients listed, want %d", total, clients)
			}
		})
	}
}

// The per-source limit counts the client behind the balancer: with
// max_clients_per_source 2, a third client from 127.0.0.2 through HAProxy
// is turned away while one from 127.0.0.3 still gets in.
func TestPerSourceLimitBehindHAProxy(t *testing.T) {
	haproxytest.Path(t)
	d := testbin.StartChatd(t, testbin.Options{Config: behindHAProxy +
		"max_clients_per_source: 2\nnotices:\n  source_full: \"*** too many from {id}\"\n"})
	front := haproxytest.Start(t, "send-proxy-v2", d.Addr)
	echo(t, dialFrom(t, "127.0.0.2", front), "one")
	echo(t, dialFrom(t, "127.0.0.2", front), "two")
	if got := readAll(t, dialFrom(t, "127.0.0.2", front)); !strings.HasPrefix(got, "*** too many from") {
		t.Fatalf("third client from 127.0.0.2 read %q, want the source_full notice", got)
	}
	echo(t, dialFrom(t, "127.0.0.3", front), "three")
	if n := len(listed(t, d.Socket)); n != 3 {
		t.Fatalf("%d clients listed, want 3", n)
	}
	line := d.WaitLog(`"reason":"source-full"`, 10*time.Second)
	if !strings.Contains(line, "127.0.0.2") {
		t.Fatalf("source-full log line does not name the source: %s", line)
	}
}

// A peer outside proxy_protocol.trusted is refused (closed unread, never
// listed); a trusted peer that sends a malformed header loses that
// connection alone, with one log line, and everyone else is served.
func TestPROXYHeaderFromUntrustedAndMalformed(t *testing.T) {
	haproxytest.Path(t)
	d := testbin.StartChatd(t, testbin.Options{Config: behindHAProxy})
	front := haproxytest.Start(t, "send-proxy-v2", d.Addr)
	served := dialFrom(t, "127.0.0.77", front)
	echo(t, served, "before")

	before := strings.Count(d.Logs(), "PROXY header failed")
	bad := dialFrom(t, "127.0.0.1", d.Addr)
	io.WriteString(bad, "PROXY GARBAGE\r\nhello\n")
	if got := readAll(t, bad); got != "" {
		t.Fatalf("malformed header got %q, want the connection closed unanswered", got)
	}
	d.WaitLog("PROXY header failed", 10*time.Second)
	if n := strings.Count(d.Logs(), "PROXY header failed") - before; n != 1 {
		t.Fatalf("%d log lines for one malformed header, want 1:\n%s", n, d.Logs())
	}
	// Failures are logged one line per interval (summarised), so the
	// untrusted peer comes after the malformed header's line.
	untrusted := dialFrom(t, "127.0.0.5", d.Addr)
	io.WriteString(untrusted, "PROXY TCP4 1.2.3.4 127.0.0.1 1 2\r\nhello\n")
	if got := readAll(t, untrusted); got != "" {
		t.Fatalf("untrusted peer got %q, want the connection closed unanswered", got)
	}
	echo(t, served, "after")
	echo(t, dialFrom(t, "127.0.0.78", front), "new one")
	for _, c := range listed(t, d.Socket) {
		if h := hostOf(t, c.RemoteAddr); h != "127.0.0.77" && h != "127.0.0.78" {
			t.Errorf("listed client at %s; only the clients behind HAProxy should be", c.RemoteAddr)
		}
	}
}
