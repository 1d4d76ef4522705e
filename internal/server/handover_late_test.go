//go:build unix

package server

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/registry"
)

// lateListener hands its first connection to the server only once the
// server has begun to stop: a connection accepted in the instant before a
// hand-over closed the listener.
type lateListener struct {
	net.Listener
	srv       *Server
	first     sync.Once
	accepted  chan struct{} // the first connection is in Accept's hands
	closed    chan struct{}
	closeOnce sync.Once
}

func (l *lateListener) Accept() (net.Conn, error) {
	var nc net.Conn
	var err error
	l.first.Do(func() {
		nc, err = l.Listener.Accept()
		close(l.accepted)
		if err != nil {
			return
		}
		if !poll(5*time.Second, l.srv.Stopped) {
			nc.Close()
			nc, err = nil, net.ErrClosed
		}
	})
	if nc != nil || err != nil {
		return nc, err
	}
	<-l.closed
	return nil, net.ErrClosed
}

func (l *lateListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// A connection accepted while a hand-over begins is handed over with the
// rest, never told that the server is shutting down.
func TestConnectionAcceptedDuringHandOverIsHandedOver(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := New(registry.New(nil), slogTo(&discard{}), defaultSettings())
	ln := &lateListener{Listener: inner, srv: srv, accepted: make(chan struct{}), closed: make(chan struct{})}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	c, err := net.DialTimeout("tcp", inner.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The hand-over begins while Serve's Accept holds the connection (not
	// before Serve has even started: then nothing was accepted to hand
	// over, which a goroutine not yet scheduled made happen once).
	select {
	case <-ln.accepted:
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not accept the connection")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	handed, err := srv.HandOver(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-served; err != ErrServerClosed {
		t.Fatalf("Serve returned %v", err)
	}
	if len(handed) != 1 {
		t.Fatalf("handed over %d connections, want the late one", len(handed))
	}
	sockets := srv.HandedSockets()
	nc := sockets[handed[0].ID]
	if nc == nil {
		t.Fatalf("the late connection's socket was not kept for the next process (%v)", sockets)
	}
	defer nc.Close()
	// The next process's first words are the first the client reads: no
	// notice came before them.
	nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := nc.Write([]byte("next\n")); err != nil {
		t.Fatalf("the handed socket is closed: %v", err)
	}
	if got := readN(t, c, 5); got != "next\n" {
		t.Fatalf("the client read %q first, want only what the next process sends", got)
	}
}

type discard struct{}

func (discard) Write(b []byte) (int, error) { return len(b), nil }
