package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/proxyheader/haproxytest"
	"github.com/chatd/chatd/internal/testbin"
)

// fleetLimitBlock marks the README's HAProxy frontend that limits each
// source across every chatd behind it. The test runs those lines, read
// from the README, so the documented configuration is the tested one.
const fleetLimitBlock = "<!-- readme-test: haproxy-per-source -->"

// fleetLimit is the number of connections that frontend lets one source
// hold (its `sc0_conn_cur gt 3`).
const fleetLimit = 3

// readmeFrontendRules returns the rules of the README's per-source
// frontend: its lines between `bind` and `default_backend`, which the
// test puts into haproxytest's frontend (whose bind address is the
// test's own).
func readmeFrontendRules(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(b), fleetLimitBlock+"\n```haproxy\n")
	if !ok {
		t.Fatalf("README.md has no ```haproxy block after %s", fleetLimitBlock)
	}
	body, _, ok := strings.Cut(after, "\n```\n")
	if !ok {
		t.Fatalf("the README's %s block does not end", fleetLimitBlock)
	}
	var lines []string
	for l := range strings.SplitSeq(body, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	// The frame is the one haproxytest's configuration (and the README's
	// full example above the block) has; only the rules in it are new.
	if len(lines) < 4 || lines[0] != "frontend chat" || !strings.HasPrefix(lines[1], "bind ") ||
		lines[len(lines)-1] != "default_backend chatd" {
		t.Fatalf("the README's %s block is not `frontend chat`, `bind …`, rules, `default_backend chatd`:\n%s",
			fleetLimitBlock, body)
	}
	return lines[2 : len(lines)-1]
}

// refusedFrom connects to addr from ip and reports whether the
// connection is closed without an answer to a line: HAProxy refused it
// before any chatd saw it. HAProxy resets it at once, so on loopback the
// reset may already end the dial itself. A served connection is closed.
func refusedFrom(t *testing.T, ip, addr string) bool {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	c, err := d.Dial("tcp", addr)
	if isReset(err) {
		return true
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "anyone there\n") // a refused connection may already be reset: fine
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err == nil {
		if line != "ANYONE THERE\n" {
			t.Fatalf("read %q, want the answer or nothing", line)
		}
		return false
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the connection was neither served nor closed within 10s")
	}
	if line != "" {
		t.Fatalf("read %q, then %v: want a whole answer or nothing", line, err)
	}
	return true
}

// chatd counts the clients of each source in its own process only:
// behind one HAProxy over two chatd with max_clients_per_source 3, one
// source holds 6 places, and only the 7th is turned away (by a chatd).
// The README says so where the limit is documented.
func TestPerSourceLimitCountsPerChatd(t *testing.T) {
	haproxytest.Path(t)
	cfg := behindHAProxy + "max_clients_per_source: 3\nnotices:\n  source_full: \"*** too many from {id}\"\n"
	a := testbin.StartChatd(t, testbin.Options{Config: cfg})
	b := testbin.StartChatd(t, testbin.Options{Config: cfg})
	front := haproxytest.Start(t, "send-proxy-v2", a.Addr, b.Addr)
	for i := range 6 {
		echo(t, dialFrom(t, "127.0.0.77", front), fmt.Sprintf("client %d", i))
	}
	for _, d := range []*testbin.Chatd{a, b} {
		if n := len(listed(t, d.Socket)); n != 3 {
			t.Errorf("chatd at %s holds %d clients from 127.0.0.77, want 3 (leastconn spreads them)", d.Addr, n)
		}
	}
	if got := readAll(t, dialFrom(t, "127.0.0.77", front)); !strings.HasPrefix(got, "*** too many from") {
		t.Fatalf("the 7th client from 127.0.0.77 read %q, want chatd's source_full notice", got)
	}
}

// The README's HAProxy frontend limits one source across the fleet: with
// two chatd that set no limit of their own, the 4th connection from
// 127.0.0.77 is refused by HAProxy while its 3 are spread over both
// chatd, a client from elsewhere still gets in, and the source gets a
// place back when one of its connections closes.
func TestFleetPerSourceLimitInHAProxy(t *testing.T) {
	haproxytest.Path(t)
	rules := readmeFrontendRules(t)
	a := testbin.StartChatd(t, testbin.Options{Config: behindHAProxy})
	b := testbin.StartChatd(t, testbin.Options{Config: behindHAProxy})
	front := haproxytest.StartWithRules(t, "send-proxy-v2", rules, a.Addr, b.Addr)

	var held []net.Conn
	for i := range fleetLimit {
		c := dialFrom(t, "127.0.0.77", front)
		echo(t, c, fmt.Sprintf("client %d", i))
		held = append(held, c)
	}
	for _, d := range []*testbin.Chatd{a, b} {
		if len(listed(t, d.Socket)) == 0 {
			t.Fatalf("no client reached chatd at %s: the limit is not shown across two backends", d.Addr)
		}
	}
	if !refusedFrom(t, "127.0.0.77", front) {
		t.Fatalf("the %dth connection from 127.0.0.77 was served; the README's frontend should refuse it", fleetLimit+1)
	}
	if n := len(listed(t, a.Socket)) + len(listed(t, b.Socket)); n != fleetLimit {
		t.Fatalf("%d clients listed on the two chatd, want %d", n, fleetLimit)
	}
	echo(t, dialFrom(t, "127.0.0.78", front), "another source")

	// conn_cur counts open connections: closing one gives the place back
	// (once HAProxy has seen the close).
	held[0].Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if !refusedFrom(t, "127.0.0.77", front) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("127.0.0.77 did not get its place back within 10s of closing a connection")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
