package chatlisten

import (
	"context"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	proxyproto "github.com/pires/go-proxyproto"
	"go.uber.org/goleak"

	"github.com/chatd/chatd/internal/listen"
	"github.com/chatd/chatd/internal/proxyheader"
	"github.com/chatd/chatd/internal/tlslisten"
	"github.com/chatd/chatd/internal/tlslisten/tlstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func tlsFiles(t *testing.T, ca *tlstest.CA) tlslisten.Files {
	f := ca.IssueFiles(t, t.TempDir(), "server", 1, false)
	return tlslisten.Files{CertFile: f.Cert, KeyFile: f.Key}
}

// Two plain addresses (IPv4 and IPv6) and a TLS one, all behind the
// PROXY protocol: each accepts, reports its kind, and gives the client's
// address from the header while the socket's peer is the balancer.
func TestOpenAll(t *testing.T) {
	ca := tlstest.NewCA(t, "test CA")
	trusted, err := proxyheader.ParseTrusted([]string{"127.0.0.1", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	set, err := Open(context.Background(), Spec{
		Listen: []string{"127.0.0.1:0", "[::1]:0"},
		Proxy:  &proxyheader.Config{Trusted: trusted},
		TLS:    &TLSSpec{Listen: []string{"127.0.0.1:0"}, Files: tlsFiles(t, ca)},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	if len(set.Listeners) != 3 {
		t.Fatalf("%d listeners, want 3", len(set.Listeners))
	}
	wantKinds := []Kind{Plain, Plain, TLS}
	for i, l := range set.Listeners {
		if l.Kind != wantKinds[i] {
			t.Errorf("listener %d kind %s, want %s", i, l.Kind, wantKinds[i])
		}
		if _, ok := l.Socket.(*net.TCPListener); !ok {
			t.Errorf("listener %d Socket is %T, want the *net.TCPListener", i, l.Socket)
		}
		client := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 77), Port: 4000 + i}
		accepted := make(chan net.Conn, 1)
		go func() {
			c, err := l.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}()
		raw, err := net.DialTimeout("tcp", l.Addr().String(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		raw.SetDeadline(time.Now().Add(30 * time.Second))
		if _, err := proxyproto.HeaderProxyFromAddrs(2, client, l.Addr()).WriteTo(raw); err != nil {
			t.Fatal(err)
		}
		if l.Kind == TLS {
			tc := tls.Client(raw, &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"})
			if err := tc.Handshake(); err != nil {
				t.Fatalf("listener %d: TLS after the PROXY header: %v", i, err)
			}
		}
		select {
		case c, ok := <-accepted:
			if !ok {
				t.Fatalf("listener %d: Accept failed", i)
			}
			defer c.Close()
			if c.RemoteAddr().String() != client.String() {
				t.Errorf("listener %d: RemoteAddr %s, want %s", i, c.RemoteAddr(), client)
			}
			if p := listen.PeerAddr(c); p.String() != raw.LocalAddr().String() {
				t.Errorf("listener %d: PeerAddr %s, want %s", i, p, raw.LocalAddr())
			}
			if tc, ok := listen.TCPConn(c); !ok || tc.LocalAddr().String() != raw.RemoteAddr().String() {
				t.Errorf("listener %d: TCPConn = %v, %v; want the accepted socket", i, tc, ok)
			}
			_, isTLS := c.(*tls.Conn)
			if isTLS != (l.Kind == TLS) {
				t.Errorf("listener %d: accepted a %T", i, c)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("listener %d: nothing accepted", i)
		}
	}
}

// A bad part of the spec opens nothing.
func TestOpenRefusesBadSpec(t *testing.T) {
	probe, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := probe.Addr().String()
	probe.Close()
	ca := tlstest.NewCA(t, "test CA")
	tests := []struct {
		name   string
		spec   Spec
		errHas string
	}{
		{"nothing to listen on", Spec{}, "no listen address"},
		{"TLS without an address", Spec{Listen: []string{addr}, TLS: &TLSSpec{Files: tlsFiles(t, ca)}}, "tls.listen"},
		{"TLS with a missing certificate", Spec{Listen: []string{addr}, TLS: &TLSSpec{Listen: []string{"127.0.0.1:0"}, Files: tlslisten.Files{CertFile: "/nonexistent.pem", KeyFile: "/nonexistent.key"}}}, "nonexistent"},
		{"PROXY with nobody trusted", Spec{Listen: []string{addr}, Proxy: &proxyheader.Config{}}, "no trusted proxies"},
		{"TLS address taken by the plain one", Spec{Listen: []string{addr}, TLS: &TLSSpec{Listen: []string{addr}, Files: tlsFiles(t, ca)}}, addr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := Open(context.Background(), tt.spec)
			if err == nil {
				set.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tt.errHas) {
				t.Fatalf("err = %v, want one containing %q", err, tt.errHas)
			}
			ln, err := net.Listen("tcp4", addr)
			if err != nil {
				t.Fatalf("%s left open after the failure: %v", addr, err)
			}
			ln.Close()
		})
	}
}
