package proxyheader

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/listen"
	"github.com/chatd/chatd/internal/proxyheader/haproxytest"
)

// addrServer is a backend using the PROXY listener: it tells each client
// the addresses it sees and its own, "CLIENT PEER BACKEND\n", then waits
// for the client to close.
func addrServer(t *testing.T) net.Listener {
	t.Helper()
	inner, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := Listen(inner, Config{Trusted: trustLoopback})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				fmt.Fprintf(c, "%s %s %s\n", c.RemoteAddr(), listen.PeerAddr(c), inner.Addr())
				c.SetReadDeadline(time.Now().Add(time.Minute))
				c.Read(make([]byte, 1))
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln
}

// Clients connecting from 127.0.0.77 through a real HAProxy, with either
// form of the header, are seen by both backends as 127.0.0.77 (with the
// port they connected from), while the socket's peer is HAProxy.
func TestThroughHAProxy(t *testing.T) {
	for _, sendProxy := range []string{"send-proxy-v2", "send-proxy"} {
		t.Run(sendProxy, func(t *testing.T) {
			a, b := addrServer(t), addrServer(t)
			frontend := haproxytest.Start(t, sendProxy, a.Addr().String(), b.Addr().String())
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 77)}, Timeout: 5 * time.Second}
			const clients = 4
			seenPeers, seenBackends := map[string]bool{}, map[string]bool{}
			var conns []net.Conn
			for range clients {
				c, err := d.Dial("tcp4", frontend)
				if err != nil {
					t.Fatal(err)
				}
				conns = append(conns, c) // held open: leastconn spreads them over both backends
				c.SetReadDeadline(time.Now().Add(30 * time.Second))
				line, err := bufio.NewReader(c).ReadString('\n')
				if err != nil {
					t.Fatalf("reading the backend's answer: %v", err)
				}
				fields := strings.Fields(line)
				if len(fields) != 3 {
					t.Fatalf("backend answered %q", line)
				}
				client, peer := fields[0], fields[1]
				seenBackends[fields[2]] = true
				if client != c.LocalAddr().String() {
					t.Errorf("backend saw client %s, want %s (the client's own address)", client, c.LocalAddr())
				}
				host, _, err := net.SplitHostPort(peer)
				if err != nil || host != "127.0.0.1" {
					t.Errorf("backend's socket peer = %q, want HAProxy at 127.0.0.1", peer)
				}
				seenPeers[peer] = true
			}
			for _, c := range conns {
				c.Close()
			}
			if len(seenBackends) != 2 {
				t.Errorf("backends used: %v, want both", seenBackends)
			}
			if len(seenPeers) != clients {
				t.Errorf("socket peers %v: want %d distinct HAProxy connections", seenPeers, clients)
			}
		})
	}
}
