package listen

import (
	"fmt"
	"net"
	"testing"
	"time"
)

// The time an honest client needs to get through a handshake listener
// while 600 idle peers (more than MaxPending) hold connections: from one
// address, and from 600. Each iteration dials, sends its hello and is
// accepted (timed: ns/op and the worst); then the attacker opens one more
// idle connection, as one that reconnects what was closed would, so the
// listener stays over its bound. Before old handshakes gave way, an
// iteration waited for the idle peers' timeout.
func BenchmarkHonestAdmissionWithIdlePeers(b *testing.B) {
	const idle = 600
	for _, bc := range []struct {
		name   string
		source func(i int) string
	}{
		{"one-source", func(int) string { return "127.0.0.2" }},
		{"600-sources", func(i int) string { return fmt.Sprintf("127.1.%d.%d", i/250, i%250+1) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			inner, err := net.Listen("tcp4", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			l := NewHandshakeListener(inner, lineHandshake, Options{Timeout: time.Minute})
			defer l.Close()
			addr := inner.Addr().String()
			dialFromIP := func(ip string) net.Conn {
				d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
				c, err := d.Dial("tcp4", addr)
				if err != nil {
					b.Fatal(err)
				}
				return c
			}
			var held []net.Conn
			defer func() {
				for _, c := range held {
					c.Close()
				}
			}()
			for i := range idle {
				held = append(held, dialFromIP(bc.source(i)))
			}
			deadline := time.Now().Add(30 * time.Second)
			for l.Failed()+uint64(l.Pending()) < idle && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			var worst time.Duration
			for b.Loop() {
				start := time.Now()
				c := dialFromIP("127.0.0.3")
				c.Write([]byte("hello\n"))
				s, err := l.Accept()
				if err != nil {
					b.Fatal(err)
				}
				worst = max(worst, time.Since(start))
				s.Close()
				c.Close()
				b.StopTimer()
				held = append(held, dialFromIP(bc.source(len(held))))
				b.StartTimer()
			}
			b.ReportMetric(float64(worst.Microseconds()), "worst-µs")
		})
	}
}
