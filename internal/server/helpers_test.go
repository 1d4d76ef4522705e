package server

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/registry"
	"github.com/chatd/chatd/internal/syncbuf"
)

func defaultSettings() Settings {
	return Settings{
		MaxClients:   100,
		WriteTimeout: 5 * time.Second,
		KickNotice:   "*** kicked by operator: {reason}",
		ShutdownNote: "*** server shutting down",
		IdleNotice:   "*** idle too long, disconnected",
		FullNotice:   "*** server full, try again later",
	}
}

type testServer struct {
	srv  *Server
	addr string
	logs *syncbuf.Buffer
	done chan error
}

// startServer serves on a loopback port until the test ends; tune, if
// given, adjusts the server before it starts.
func startServer(t *testing.T, st Settings, tune ...func(*Server)) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncbuf.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ts := &testServer{srv: New(registry.New(nil), log, st), addr: ln.Addr().String(), logs: logs, done: make(chan error, 1)}
	for _, f := range tune {
		f(ts.srv)
	}
	go func() { ts.done <- ts.srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ts.srv.Shutdown(ctx)
		if err := <-ts.done; err != ErrServerClosed {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return ts
}

func (ts *testServer) dial(t *testing.T) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", ts.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// waitClients waits until the registry holds n clients.
func (ts *testServer) waitClients(t *testing.T, n int) {
	t.Helper()
	if !poll(5*time.Second, func() bool { return ts.srv.Registry().Len() == n }) {
		t.Fatalf("registry has %d clients, want %d", ts.srv.Registry().Len(), n)
	}
}

func poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for d := time.Millisecond; ; d = min(2*d, 20*time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(d)
	}
}

func readN(t *testing.T, c net.Conn, n int) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, n)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("read %d bytes: %v (got %q)", n, err, buf)
	}
	return string(buf)
}

// readToEOF reads until the server closes, failing on a reset.
func readToEOF(t *testing.T, c net.Conn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read to EOF: %v (got %q)", err, b)
	}
	return string(b)
}

func mustWrite(t *testing.T, c net.Conn, s string) {
	t.Helper()
	c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(s)); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func ioReadFull(c net.Conn, buf []byte) (int, error) { return io.ReadFull(c, buf) }

func slogTo(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
