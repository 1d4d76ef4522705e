package admin

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/peercred"
)

// limited is a limit listener on a fresh socket, with its accepted
// connections delivered in order.
type limited struct {
	t        *testing.T
	sock     string
	ln       *connLimit
	accepted chan *adminConn
}

func newLimited(t *testing.T, n int) *limited {
	t.Helper()
	sock := filepath.Join(shortDir(t), "l.sock")
	raw, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l := &limited{t: t, sock: sock, ln: newConnLimit(raw, n, nil), accepted: make(chan *adminConn, 16)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.ln.Accept()
			if err != nil {
				return
			}
			l.accepted <- c.(*adminConn)
		}
	}()
	t.Cleanup(func() {
		l.ln.Close()
		<-done
	})
	return l
}

// dial connects a client and returns it with the server's side.
func (l *limited) dial() (client net.Conn, server *adminConn) {
	l.t.Helper()
	c, err := net.Dial("unix", l.sock)
	if err != nil {
		l.t.Fatal(err)
	}
	l.t.Cleanup(func() { c.Close() })
	select {
	case s := <-l.accepted:
		l.t.Cleanup(func() { s.Close() })
		return c, s
	case <-time.After(5 * time.Second):
		l.t.Fatal("connection not accepted")
		return nil, nil
	}
}

func (l *limited) held() int {
	l.ln.mu.Lock()
	defer l.ln.mu.Unlock()
	return len(l.ln.conns)
}

// closedByServer reports whether the server closed c (EOF), waiting up
// to wait for it.
func closedByServer(c net.Conn, wait time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(wait))
	defer c.SetReadDeadline(time.Time{})
	_, err := c.Read(make([]byte, 1))
	return err != nil && !errors.Is(err, os.ErrDeadlineExceeded)
}

// A new connection with every place taken by idle ones gets in at once;
// the idle one that has waited longest is closed for it.
func TestIdleConnectionsAreClosedToMakeRoom(t *testing.T) {
	l := newLimited(t, 2)
	a, sa := l.dial()
	b, _ := l.dial()
	c, sc := l.dial() // would have waited for a to time out, once
	if !closedByServer(a, 5*time.Second) {
		t.Fatal("the oldest idle connection was not closed to make room")
	}
	if closedByServer(b, 20*time.Millisecond) || closedByServer(c, 20*time.Millisecond) {
		t.Fatal("a newer connection was closed")
	}
	if !evicted(context.WithValue(context.Background(), connKey{}, sa)) {
		t.Fatal("a connection closed to make room may still have a request served")
	}
	sa.Close() // its server goroutine closes it too: that frees nothing more
	if n := l.held(); n != 2 {
		t.Fatalf("%d places held, want 2", n)
	}
	sc.Close()
	sc.Close() // a double close must not free two places
	if n := l.held(); n != 1 {
		t.Fatalf("%d places held after one close, want 1", n)
	}
}

// A connection whose request is being served keeps its place: with every
// place serving, a newcomer waits until one is done, and then the one
// done is the one closed for it.
func TestConnectionsBeingServedKeepTheirPlace(t *testing.T) {
	l := newLimited(t, 2)
	a, sa := l.dial()
	b, sb := l.dial()
	connState(sa, http.StateActive)
	connState(sb, http.StateActive)
	c, err := net.Dial("unix", l.sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	select {
	case <-l.accepted:
		t.Fatal("a third connection got a place while two were serving")
	case <-time.After(50 * time.Millisecond):
	}
	connState(sb, http.StateIdle)
	select {
	case sc := <-l.accepted:
		defer sc.Close()
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting connection got no place when one was done serving")
	}
	if !closedByServer(b, 5*time.Second) {
		t.Fatal("the connection done serving was not the one closed")
	}
	if closedByServer(a, 20*time.Millisecond) {
		t.Fatal("the connection still serving was closed")
	}
	// An answer that is out (net/http's CloseWrite before its close
	// delay) frees the place as well.
	connState(sa, http.StateActive)
	sa.CloseWrite()
	sa.l.mu.Lock()
	busy := sa.busy
	sa.l.mu.Unlock()
	if busy {
		t.Fatal("a connection whose last answer is out still counts as serving")
	}
}

// Whom a newcomer displaces: the longest idle connection of its own
// process, so that a process connecting in a loop recycles its own
// places; else the longest idle of all; never one being served.
func TestIdlestPrefersTheNewcomersOwnProcess(t *testing.T) {
	l := newConnLimit(nil, 8, nil)
	base := time.Now()
	add := func(uid uint32, pid, age int, busy bool) *adminConn {
		c := &adminConn{l: l, peer: peer{cred: &peercred.Cred{UID: uid, PID: pid}},
			since: base.Add(-time.Duration(age) * time.Second), busy: busy}
		l.conns[c] = struct{}{}
		return c
	}
	operator := add(0, 100, 50, false)
	hoarderOld := add(1000, 200, 40, false)
	hoarderNew := add(1000, 200, 10, false)
	add(1000, 200, 90, true) // the oldest, but being served
	for _, tc := range []struct {
		name     string
		newcomer peer
		want     *adminConn
	}{
		{"the hoarder recycles its own", peer{cred: &peercred.Cred{UID: 1000, PID: 200}}, hoarderOld},
		{"the operator displaces the longest idle", peer{cred: &peercred.Cred{UID: 0, PID: 300}}, operator},
		{"an unidentified peer too", peer{err: errors.New("no credentials")}, operator},
	} {
		if got := l.idlest(&adminConn{peer: tc.newcomer}); got != tc.want {
			t.Errorf("%s: displaces %+v, want %+v", tc.name, got.peer.cred, tc.want.peer.cred)
		}
	}
	for c := range l.conns {
		c.busy = true
	}
	if got := l.idlest(&adminConn{peer: operator.peer}); got != nil {
		t.Fatalf("with every place serving, %+v may be closed", got.peer.cred)
	}
	_ = hoarderNew
}

// End to end on a real admin server: 200 connections that never send a
// byte, and 50 slowloris clients, do not keep a request from being
// answered at once. Before, the 33rd connection waited in the backlog for
// the first 32 to reach ReadHeaderTimeout.
func TestIdleAndSlowConnectionsDoNotLockTheOperatorOut(t *testing.T) {
	sock := filepath.Join(shortDir(t), "a.sock")
	if _, err := startAt(t, sock, 0o600, ""); err != nil {
		t.Fatal(err)
	}
	for i := range 250 {
		c, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if i%5 == 0 {
			io.WriteString(c, "GET /v1/clients HTTP/1.1\r\nHost: x\r\nX-Slow: ")
		}
	}
	for i := range 5 {
		start := time.Now()
		if code := get(t, sock, "/v1/status"); code != 200 {
			t.Fatalf("status %d", code)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("request %d took %v with idle connections held; want well under ReadHeaderTimeout (%v)", i, d, readHeaderTimeout)
		}
	}
}
