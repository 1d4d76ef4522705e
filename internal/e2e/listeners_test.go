package e2e

import (
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/testbin"
)

// With max_clients_per_source 2 a third client from 127.0.0.2 gets the
// source_full notice while 127.0.0.3 still gets in; the limit changes on
// reload without touching the clients already connected.
func TestPerSourceLimit(t *testing.T) {
	d := testbin.StartChatd(t, testbin.Options{Config: "max_clients_per_source: 2\n"})
	first := dialFrom(t, "127.0.0.2", d.Addr)
	echo(t, first, "one")
	echo(t, dialFrom(t, "127.0.0.2", d.Addr), "two")
	got := readAll(t, dialFrom(t, "127.0.0.2", d.Addr))
	if got != "*** too many connections from your address, try again later\n" {
		t.Fatalf("third client from 127.0.0.2 read %q, want the default source_full notice", got)
	}
	echo(t, dialFrom(t, "127.0.0.3", d.Addr), "three")
	d.WaitLog(`"reason":"source-full"`, 10*time.Second)

	cfg, err := os.ReadFile(d.Config)
	if err != nil {
		t.Fatal(err)
	}
	next := strings.Replace(string(cfg), "max_clients_per_source: 2", "max_clients_per_source: 3", 1)
	if err := os.WriteFile(d.Config, []byte(next), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, _, err := chatctl(t, d.Socket, "reload"); err != nil || !strings.Contains(out, "max_clients_per_source") {
		t.Fatalf("reload: %v: %q, want max_clients_per_source applied", err, out)
	}
	echo(t, dialFrom(t, "127.0.0.2", d.Addr), "third place after the reload")
	echo(t, first, "first still connected")
	if n := len(listed(t, d.Socket)); n != 4 {
		t.Fatalf("%d clients listed, want 4", n)
	}
}

// listen takes a list: an IPv4 and an IPv6 address are both answered.
func TestListenOnIPv4AndIPv6(t *testing.T) {
	if ln, err := net.Listen("tcp6", "[::1]:0"); err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	} else {
		ln.Close()
	}
	d := testbin.StartChatd(t, testbin.Options{Config: "listen: [\"127.0.0.1:0\", \"[::1]:0\"]\n"})
	addrs := listenersOf(t, d)["tcp"]
	if len(addrs) != 2 || !strings.HasPrefix(addrs[0], "127.0.0.1:") || !strings.HasPrefix(addrs[1], "[::1]:") {
		t.Fatalf("plain listeners %v, want 127.0.0.1 and [::1]", addrs)
	}
	for _, addr := range addrs {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		echo(t, c, "hello "+addr)
	}
	for _, c := range listed(t, d.Socket) {
		if h := hostOf(t, c.RemoteAddr); h != "127.0.0.1" && h != "::1" {
			t.Errorf("client listed at %s", c.RemoteAddr)
		}
	}
}

// 0.0.0.0 is IPv4 only, as documented: [::1] on its port is not chatd.
func TestListenOnAllIPv4IsIPv4Only(t *testing.T) {
	if ln, err := net.Listen("tcp6", "[::1]:0"); err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	} else {
		ln.Close()
	}
	d := testbin.StartChatd(t, testbin.Options{Config: "listen: \"0.0.0.0:0\"\n"})
	_, port, _ := net.SplitHostPort(d.Addr)
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	echo(t, c, "ipv4")
	if c6, err := net.DialTimeout("tcp6", "[::1]:"+port, 5*time.Second); err == nil {
		c6.Close()
		t.Fatalf("0.0.0.0 also accepted on [::1]:%s", port)
	}
}
