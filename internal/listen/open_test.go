package listen

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

func TestNetwork(t *testing.T) {
	tests := []struct {
		addr    string
		network string
		errHas  string
	}{
		{"0.0.0.0:5605", "tcp4", ""},
		{"127.0.0.1:5605", "tcp4", ""},
		{"[::]:5605", "tcp", ""},
		{":5605", "tcp", ""},
		{"[::1]:5605", "tcp6", ""},
		{"[fe80::1%lo]:5605", "tcp6", ""},
		{"[::ffff:127.0.0.1]:5605", "tcp4", ""},
		{"127.0.0.1:0", "tcp4", ""},
		{"::1:5605", "", "IPv6 in brackets"},
		{"127.0.0.1", "", "want host:port"},
		{"localhost:5605", "", "not an IP address"},
		{"127.0.0.1:", "", "no port"},
		{"127.0.0.1:http-ish-nonsense", "", "bad port"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			got, err := Network(tt.addr)
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("Network(%q) = %q, %v; want error containing %q", tt.addr, got, err, tt.errHas)
				}
				return
			}
			if err != nil || got != tt.network {
				t.Fatalf("Network(%q) = %q, %v; want %q", tt.addr, got, err, tt.network)
			}
		})
	}
}

// reachable says whether a connect to host:port succeeds.
func reachable(t *testing.T, host, port string) bool {
	t.Helper()
	c, err := net.DialTimeout("tcp", net.JoinHostPort(host, port), 5*time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func portOf(t *testing.T, ln net.Listener) string {
	t.Helper()
	_, port, err := net.SplitHostPort(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// acceptAll accepts on ln until it closes, so dials complete.
func acceptAll(ln net.Listener) {
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
}

func TestOpenWildcardRule(t *testing.T) {
	tests := []struct {
		addr       string
		ipv4, ipv6 bool
	}{
		{"0.0.0.0:0", true, false},
		{"[::]:0", true, true},
		{":0", true, true},
		{"127.0.0.1:0", true, false},
		{"[::1]:0", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			lns, err := Open(context.Background(), []string{tt.addr})
			if err != nil {
				t.Fatal(err)
			}
			defer lns[0].Close()
			acceptAll(lns[0])
			port := portOf(t, lns[0])
			if got := reachable(t, "127.0.0.1", port); got != tt.ipv4 {
				t.Errorf("127.0.0.1 reachable = %v, want %v", got, tt.ipv4)
			}
			if got := reachable(t, "::1", port); got != tt.ipv6 {
				t.Errorf("::1 reachable = %v, want %v", got, tt.ipv6)
			}
		})
	}
}

func TestOpenSeveral(t *testing.T) {
	lns, err := Open(context.Background(), []string{"127.0.0.1:0", "[::1]:0"})
	if err != nil {
		t.Fatal(err)
	}
	if len(lns) != 2 {
		t.Fatalf("got %d listeners, want 2", len(lns))
	}
	for i, host := range []string{"127.0.0.1", "::1"} {
		defer lns[i].Close()
		acceptAll(lns[i])
		if !reachable(t, host, portOf(t, lns[i])) {
			t.Errorf("listener %d (%s) not reachable on %s", i, lns[i].Addr(), host)
		}
	}
}

// A bad address in the list (here: one already taken) opens nothing: the
// listeners before it are closed again.
func TestOpenAllOrNothing(t *testing.T) {
	taken, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	first, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Fatal(err)
	}
	freePort := portOf(t, first)
	first.Close()

	_, err = Open(context.Background(), []string{"[::1]:" + freePort, taken.Addr().String()})
	if err == nil || !strings.Contains(err.Error(), taken.Addr().String()) {
		t.Fatalf("Open with a taken address: err = %v, want one naming %s", err, taken.Addr())
	}
	// [::1]:freePort must be free again.
	again, err := net.Listen("tcp6", "[::1]:"+freePort)
	if err != nil {
		t.Fatalf("first listener was left open: %v", err)
	}
	again.Close()

	for _, bad := range [][]string{nil, {"127.0.0.1:0", "127.0.0.1:0"}, {"nohost:1"}} {
		if lns, err := Open(context.Background(), bad); err == nil {
			for _, ln := range lns {
				ln.Close()
			}
			t.Errorf("Open(%q) succeeded, want an error", bad)
		}
	}
}
