package proxyheader

import (
	"context"
	"net"
	"testing"

	proxyproto "github.com/pires/go-proxyproto"

	"github.com/chatd/chatd/internal/listen"
)

// The cost a connect pays for the PROXY protocol: dial, (header,) accept,
// close, with the plain listener, with a handshake listener doing nothing,
// and with a v1 and a v2 header read.
func BenchmarkAccept(b *testing.B) {
	v2 := proxyproto.HeaderProxyFromAddrs(2, tcpAddr("127.0.0.77:4000"), tcpAddr("127.0.0.1:5605"))
	v2b, _ := v2.Format()
	v1 := proxyproto.HeaderProxyFromAddrs(1, tcpAddr("127.0.0.77:4000"), tcpAddr("127.0.0.1:5605"))
	v1b, _ := v1.Format()
	cases := []struct {
		name   string
		wrap   func(net.Listener) net.Listener
		header []byte
	}{
		{"plain", func(ln net.Listener) net.Listener { return ln }, nil},
		{"handshake-noop", func(ln net.Listener) net.Listener {
			return listen.NewHandshakeListener(ln, func(_ context.Context, c net.Conn) (net.Conn, error) { return c, nil }, listen.Options{})
		}, nil},
		{"proxy-v1", func(ln net.Listener) net.Listener {
			l, _ := Listen(ln, Config{Trusted: trustLoopback})
			return l
		}, v1b},
		{"proxy-v2", func(ln net.Listener) net.Listener {
			l, _ := Listen(ln, Config{Trusted: trustLoopback})
			return l
		}, v2b},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			inner, err := net.Listen("tcp4", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			ln := bc.wrap(inner)
			defer ln.Close()
			addr := inner.Addr().String()
			for b.Loop() {
				c, err := net.Dial("tcp4", addr)
				if err != nil {
					b.Fatal(err)
				}
				if bc.header != nil {
					c.Write(bc.header)
				}
				s, err := ln.Accept()
				if err != nil {
					b.Fatal(err)
				}
				s.Close()
				c.Close()
			}
		})
	}
}
