package instance

import (
	"net"
	"testing"
	"time"
)

// endedHere tells a connection this side has ended (its FIN sent, the
// peer still there) from one that is live or that only the peer ended.
func TestEndedHere(t *testing.T) {
	for _, tc := range []struct {
		name string
		act  func(server *net.TCPConn, client net.Conn)
		want bool
	}{
		{"live", func(*net.TCPConn, net.Conn) {}, false},
		{"peer half-closed", func(s *net.TCPConn, c net.Conn) {
			c.(*net.TCPConn).CloseWrite()
			s.SetReadDeadline(time.Now().Add(5 * time.Second))
			s.Read(make([]byte, 1)) // returns at the peer's FIN: CLOSE_WAIT now
		}, false},
		{"write side shut down here", func(s *net.TCPConn, _ net.Conn) { s.CloseWrite() }, true},
		{"both sides shut down here", func(s *net.TCPConn, _ net.Conn) { s.CloseWrite(); s.CloseRead() }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			client, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer client.Close()
			nc, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			server := nc.(*net.TCPConn)
			tc.act(server, client)
			// The peer's FIN arrives asynchronously: wait for the state
			// to settle, bounded, before the last look.
			deadline := time.Now().Add(5 * time.Second)
			for endedHere(server) != tc.want && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if got := endedHere(server); got != tc.want {
				t.Fatalf("endedHere = %v, want %v", got, tc.want)
			}
		})
	}
}
