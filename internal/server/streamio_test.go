package server

import (
	"context"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/chatd/chatd/internal/registry"
	"github.com/chatd/chatd/internal/syncbuf"
	"github.com/chatd/chatd/internal/tlslisten/tlstest"
)

// startTLSServer serves TLS on a loopback port until the test ends and
// returns the address and a client config that trusts its certificate.
func startTLSServer(t *testing.T, st Settings) (*testServer, *tls.Config) {
	t.Helper()
	ca := tlstest.NewCA(t, "stream test CA")
	certPEM, keyPEM := ca.Issue(t, 2, false, time.Now().Add(time.Hour))
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := tls.NewListener(inner, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	logs := &syncbuf.Buffer{}
	ts := &testServer{srv: New(registry.New(nil), slogTo(logs), st), addr: inner.Addr().String(), logs: logs,
		done: make(chan error, 1)}
	go func() { ts.done <- ts.srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ts.srv.Shutdown(ctx)
		<-ts.done
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return ts, &tls.Config{RootCAs: ca.Pool(), ServerName: "127.0.0.1"}
}

func dialTLS(t *testing.T, addr string, cfg *tls.Config) *tls.Conn {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

// A TLS connection has no descriptor of its own to read; it is served
// through Read and Write with the same wire behaviour as plain TCP.
func TestTLSConnectionsAreServedLikePlainOnes(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, ts *testServer, c *tls.Conn)
		want string // everything the client reads up to the end of stream
	}{
		{"uppercase then close phrase", func(t *testing.T, ts *testServer, c *tls.Conn) {
			mustWrite(t, c, "hello, wörld\n")
			mustWrite(t, c, "CLOSE SOCKET")
		}, "HELLO, WÖRLD\n"},
		{"kick sends the notice", func(t *testing.T, ts *testServer, c *tls.Conn) {
			mustWrite(t, c, "a")
			if readN(t, c, 1) != "A" {
				t.Fatal("no answer before the kick")
			}
			ts.waitClients(t, 1)
			ids := ts.srv.Registry().Snapshot()
			if err := ts.srv.Registry().Kick(ids[0].ID, "spam"); err != nil {
				t.Fatal(err)
			}
		}, "\n*** kicked by operator: spam\n"},
		{"held bytes of a cut character at the end", func(t *testing.T, ts *testServer, c *tls.Conn) {
			mustWrite(t, c, "x\xc3")
			if readN(t, c, 1) != "X" {
				t.Fatal("no answer for the whole character")
			}
			c.CloseWrite()
		}, "\xc3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, cfg := startTLSServer(t, defaultSettings())
			c := dialTLS(t, ts.addr, cfg)
			tt.run(t, ts, c)
			if got := readToEOF(t, c); got != tt.want {
				t.Fatalf("client read %q, want %q", got, tt.want)
			}
			ts.waitClients(t, 0)
		})
	}
}

// A TLS client that does not read is dropped write_timeout after its
// buffers fill up, as a plain one is.
func TestTLSWriteTimeoutDropsNonReader(t *testing.T) {
	st := defaultSettings()
	st.WriteTimeout = 200 * time.Millisecond
	ts, cfg := startTLSServer(t, st)
	c := dialTLS(t, ts.addr, cfg)
	chunk := strings.Repeat("x", 64<<10)
	c.SetWriteDeadline(time.Now().Add(20 * time.Second))
	for i := 0; i < 400 && ts.srv.Stats().Disconnects(ReasonWriteTimeout) == 0; i++ {
		if _, err := c.Write([]byte(chunk)); err != nil {
			break
		}
	}
	if !poll(10*time.Second, func() bool { return ts.srv.Stats().Disconnects(ReasonWriteTimeout) == 1 }) {
		t.Fatalf("non-reading TLS client not dropped for write-timeout; disconnects: %v",
			ts.srv.Stats().Disconnects(ReasonWriteTimeout))
	}
}

// Every idle connection holds a conn: the stream path must not make it
// larger than the size class it was designed for.
func TestConnStaysSmall(t *testing.T) {
	if size := unsafe.Sizeof(conn{}); size > 224 {
		t.Fatalf("conn is %d bytes, more than its 224-byte size class", size)
	}
}

// A TLS client beyond max_clients gets the server-full notice and the end
// of stream, as a plain one does.
func TestTLSServerFullNotice(t *testing.T) {
	st := defaultSettings()
	st.MaxClients = 1
	ts, cfg := startTLSServer(t, st)
	first := dialTLS(t, ts.addr, cfg)
	mustWrite(t, first, "a")
	if readN(t, first, 1) != "A" {
		t.Fatal("first client not served")
	}
	second := dialTLS(t, ts.addr, cfg)
	if got := readToEOF(t, second); got != st.FullNotice+"\n" {
		t.Fatalf("second TLS client read %q, want the server-full notice", got)
	}
}
