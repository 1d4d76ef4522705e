package proxyheader

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	proxyproto "github.com/pires/go-proxyproto"
	"go.uber.org/goleak"

	"github.com/chatd/chatd/internal/listen"
	"github.com/chatd/chatd/internal/syncbuf"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func tcpAddr(s string) *net.TCPAddr {
	a, err := net.ResolveTCPAddr("tcp", s)
	if err != nil {
		panic(err)
	}
	return a
}

func header(t *testing.T, version byte, cmd proxyproto.ProtocolVersionAndCommand, src, dst string) []byte {
	t.Helper()
	h := proxyproto.HeaderProxyFromAddrs(version, tcpAddr(src), tcpAddr(dst))
	h.Command = cmd
	b, err := h.Format()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pair returns both ends of a loopback TCP connection: the client end
// dialled from clientIP, and the accepted server end.
func pair(t *testing.T, clientIP string) (client, server *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(clientIP)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

var trustLoopback, _ = ParseTrusted([]string{"127.0.0.1"})

// handshake runs Handshake under the same deadline the listener sets.
func handshake(s *net.TCPConn, untrusted Policy, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	s.SetDeadline(time.Now().Add(timeout))
	return Handshake(ctx, s, trustLoopback, untrusted)
}

// Every header form a balancer sends gives the client's address, and the
// bytes after the header (in the same segment) are left on the socket for
// the server: read here through the descriptor-level Read of the socket.
func TestHeaderForms(t *testing.T) {
	tests := []struct {
		name string
		hdr  func(t *testing.T) []byte
		want string // "" = the peer's own address
	}{
		{"v1 TCP4", func(t *testing.T) []byte { return header(t, 1, proxyproto.PROXY, "127.0.0.77:40000", "127.0.0.1:5605") }, "127.0.0.77:40000"},
		{"v1 TCP6", func(t *testing.T) []byte {
			return header(t, 1, proxyproto.PROXY, "[2001:db8::7]:40000", "[2001:db8::1]:5605")
		}, "[2001:db8::7]:40000"},
		{"v1 UNKNOWN", func(*testing.T) []byte { return []byte("PROXY UNKNOWN\r\n") }, ""},
		{"v2 TCP4", func(t *testing.T) []byte { return header(t, 2, proxyproto.PROXY, "192.0.2.10:1234", "192.0.2.1:5605") }, "192.0.2.10:1234"},
		{"v2 TCP6", func(t *testing.T) []byte {
			return header(t, 2, proxyproto.PROXY, "[2001:db8::9]:999", "[2001:db8::1]:5605")
		}, "[2001:db8::9]:999"},
		{"v2 LOCAL", func(t *testing.T) []byte { return header(t, 2, proxyproto.LOCAL, "192.0.2.10:1234", "192.0.2.1:5605") }, ""},
		{"v2 PROXY UNSPEC", func(*testing.T) []byte { return v2Raw(0x21, 0x00, nil) }, ""},
		{"v2 PROXY UNSPEC with TLVs", func(*testing.T) []byte {
			return v2Raw(0x21, 0x00, []byte{byte(proxyproto.PP2_TYPE_AUTHORITY), 0, 4, 'c', 'h', 'a', 't'})
		}, ""},
		{"v2 largest accepted", func(*testing.T) []byte {
			body := make([]byte, maxV2Body) // addresses, then one NOOP TLV filling the rest
			copy(body, []byte{192, 0, 2, 12, 192, 0, 2, 1, 0, 9, 0x15, 0xe5, byte(proxyproto.PP2_TYPE_NOOP)})
			n := maxV2Body - 12 - 3
			body[13], body[14] = byte(n>>8), byte(n)
			return v2Raw(0x21, 0x11, body)
		}, "192.0.2.12:9"},
		{"v2 with TLV", func(t *testing.T) []byte {
			h := proxyproto.HeaderProxyFromAddrs(2, tcpAddr("192.0.2.11:1"), tcpAddr("192.0.2.1:5605"))
			if err := h.SetTLVs([]proxyproto.TLV{{Type: proxyproto.PP2_TYPE_AUTHORITY, Value: []byte("chat.example")}}); err != nil {
				t.Fatal(err)
			}
			b, err := h.Format()
			if err != nil {
				t.Fatal(err)
			}
			return b
		}, "192.0.2.11:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, s := pair(t, "127.0.0.1")
			c.Write(append(tt.hdr(t), "hello\n"...))
			got, err := handshake(s, Refuse, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if want == "" {
				want = c.LocalAddr().String()
			}
			if got.RemoteAddr().String() != want {
				t.Errorf("RemoteAddr = %s, want %s", got.RemoteAddr(), want)
			}
			if p := listen.PeerAddr(got); p.String() != c.LocalAddr().String() {
				t.Errorf("PeerAddr = %s, want the socket's peer %s", p, c.LocalAddr())
			}
			if tc, ok := listen.TCPConn(got); !ok || tc != s {
				t.Errorf("TCPConn = %v, %v; want the accepted socket", tc, ok)
			}
			// Nothing past the header was taken: the socket itself has it.
			buf := make([]byte, 64)
			s.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, err := s.Read(buf)
			if err != nil || string(buf[:n]) != "hello\n" {
				t.Errorf("socket after header: %q, %v; want %q", buf[:n], err, "hello\n")
			}
		})
	}
}

// v2Raw is a v2 header: the signature, version/command and family bytes,
// the length and body.
func v2Raw(verCmd, family byte, body []byte) []byte {
	b := append([]byte{}, sigV2...)
	b = append(b, verCmd, family, byte(len(body)>>8), byte(len(body)))
	return append(b, body...)
}

// A v2 header is judged by its 16 fixed bytes: a declared length beyond
// what chatd takes, an unknown version or command, is refused at once,
// neither waited for nor read, even while the peer keeps the connection
// open and sends more.
func TestV2RefusedAtFixedPart(t *testing.T) {
	tests := []struct {
		name  string
		fixed []byte
		want  error
	}{
		{"length 65535", v2Raw(0x21, 0x11, nil)[:14], ErrHeaderTooLong},
		{"one byte too long", v2Raw(0x21, 0x11, nil)[:14], ErrHeaderTooLong},
		{"version 1", v2Raw(0x11, 0x11, make([]byte, 12)), ErrBadHeader},
		{"command 2", v2Raw(0x22, 0x11, make([]byte, 12)), ErrBadHeader},
	}
	tests[0].fixed = append(tests[0].fixed, 0xff, 0xff)
	n := maxV2Body + 1
	tests[1].fixed = append(tests[1].fixed, byte(n>>8), byte(n))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, s := pair(t, "127.0.0.1")
			c.Write(tt.fixed[:v2FixedLen])
			c.Write(make([]byte, 40)) // the start of a body, never the whole
			_, err := handshake(s, Refuse, 10*time.Second)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v (not a wait for the declared bytes)", err, tt.want)
			}
		})
	}
}

// A header that arrives in pieces (a slow link) is still read whole.
func TestSplitHeader(t *testing.T) {
	hdr := header(t, 1, proxyproto.PROXY, "127.0.0.77:40000", "127.0.0.1:5605")
	for _, at := range []int{1, 3, 5, 12, len(hdr) - 1} {
		c, s := pair(t, "127.0.0.1")
		done := make(chan struct{})
		go func() {
			defer close(done)
			c.Write(hdr[:at])
			time.Sleep(30 * time.Millisecond)
			c.Write(hdr[at:])
		}()
		got, err := handshake(s, Refuse, 10*time.Second)
		<-done
		if err != nil {
			t.Fatalf("split at %d: %v", at, err)
		}
		if got.RemoteAddr().String() != "127.0.0.77:40000" {
			t.Fatalf("split at %d: RemoteAddr = %s", at, got.RemoteAddr())
		}
	}
}

// From a trusted peer, anything but a complete, well-formed header closes
// the connection, and the error says which.
func TestTrustedPeerBadHeader(t *testing.T) {
	v2 := header(t, 2, proxyproto.PROXY, "192.0.2.10:1234", "192.0.2.1:5605")
	badFamily := bytes.Clone(v2)
	badFamily[13] = 0x77
	tests := []struct {
		name  string
		send  []byte
		close bool // close the client after sending
		want  error
	}{
		{"missing", []byte("hello\n"), false, ErrNoHeader},
		{"v1 garbage", []byte("PROXY TCP4 not an address\r\n"), false, ErrBadHeader},
		{"v1 too long", []byte("PROXY TCP4 " + strings.Repeat("1", 120) + "\r\n"), false, ErrBadHeader},
		{"v1 no CR", []byte("PROXY TCP4 127.0.0.77 127.0.0.1 1 2\n"), false, ErrBadHeader},
		{"v2 bad family", badFamily, false, ErrBadHeader},
		{"v2 short body", v2[:20], true, ErrClosedEarly},
		{"closed at once", nil, true, ErrClosedEarly},
		{"signature start then close", []byte("PRO"), true, ErrClosedEarly},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, s := pair(t, "127.0.0.1")
			c.Write(tt.send)
			if tt.close {
				c.CloseWrite()
			}
			_, err := handshake(s, Refuse, 5*time.Second)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// A trusted peer that sends part of a header, or nothing, is given up on
// at the deadline, not later.
func TestSlowHeaderIsBounded(t *testing.T) {
	const timeout = 300 * time.Millisecond
	for _, send := range []string{"", "PROXY TCP4 127.", "\r\n\r\n\x00"} {
		c, s := pair(t, "127.0.0.1")
		c.Write([]byte(send))
		start := time.Now()
		_, err := handshake(s, Refuse, timeout)
		took := time.Since(start)
		if !errors.Is(err, ErrHeaderTimeout) {
			t.Fatalf("send %q: err = %v, want %v", send, err, ErrHeaderTimeout)
		}
		if took < timeout-10*time.Millisecond {
			t.Errorf("send %q: gave up after %v, before the %v deadline", send, took, timeout)
		}
	}
}

// An untrusted peer's header is never believed: Refuse closes it, Ignore
// serves it under its own address with its bytes (header included) left
// as data.
func TestUntrustedPeer(t *testing.T) {
	hdr := header(t, 1, proxyproto.PROXY, "203.0.113.1:1", "127.0.0.1:5605")

	c, s := pair(t, "127.0.0.2")
	c.Write(hdr)
	if _, err := handshake(s, Refuse, 5*time.Second); !errors.Is(err, ErrUntrusted) {
		t.Fatalf("Refuse: err = %v, want %v", err, ErrUntrusted)
	}

	c, s = pair(t, "127.0.0.2")
	c.Write(hdr)
	got, err := handshake(s, Ignore, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got.RemoteAddr().String() != c.LocalAddr().String() {
		t.Errorf("Ignore: RemoteAddr = %s, want the peer's own %s", got.RemoteAddr(), c.LocalAddr())
	}
	buf := make([]byte, len(hdr))
	if _, err := io.ReadFull(got, buf); err != nil || !bytes.Equal(buf, hdr) {
		t.Errorf("Ignore: data = %q, %v; want the header bytes as data", buf, err)
	}
}

// Through the listener: a stalled and a malformed trusted peer cost the
// others nothing; the malformed one is closed with one log line.
func TestListenerBadPeersDoNotHurtOthers(t *testing.T) {
	inner, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncbuf.Buffer{}
	ln, err := Listen(inner, Config{Trusted: trustLoopback, HeaderTimeout: time.Minute, Log: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dial := func() net.Conn {
		c, err := net.DialTimeout("tcp4", inner.Addr().String(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	stalled := dial()
	stalled.Write([]byte("PROXY TCP4 1")) // and never the rest
	malformed := dial()
	malformed.Write([]byte("PROXY TCP4 nonsense\r\n"))
	good := dial()
	good.Write(header(t, 2, proxyproto.PROXY, "127.0.0.77:4242", "127.0.0.1:5605"))

	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	select {
	case c := <-accepted:
		defer c.Close()
		if c.RemoteAddr().String() != "127.0.0.77:4242" {
			t.Fatalf("accepted %s, want 127.0.0.77:4242", c.RemoteAddr())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a good peer was not accepted beside a stalled and a malformed one")
	}
	malformed.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := malformed.Read(make([]byte, 1)); err == nil {
		t.Fatal("malformed peer's connection still open")
	}
	// The peer sees the close first; counting and the log line follow.
	deadline := time.Now().Add(30 * time.Second)
	for (ln.Failed() != 1 || ln.Pending() != 1 || !strings.Contains(logs.String(), "closed")) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := strings.Count(logs.String(), "PROXY header failed; connection closed"); n != 1 || !strings.Contains(logs.String(), "malformed PROXY header") {
		t.Errorf("want one log line naming the malformed header, got:\n%s", logs)
	}
	if ln.Pending() != 1 {
		t.Errorf("Pending = %d, want 1 (the stalled peer)", ln.Pending())
	}

	if _, err := Listen(inner, Config{}); err == nil {
		t.Error("Listen with no trusted proxies succeeded")
	}
}
