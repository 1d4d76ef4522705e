package admin

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/admin/adminapi"
	"github.com/chatd/chatd/internal/peercred"
)

// limited is a limit listener on a fresh socket, with its accepted
// connections delivered in order.
type limited struct {
	t        *testing.T
	sock     string
	ln       *limitListener
	accepted chan *limitedConn
}

func newLimited(t *testing.T, n int) *limited {
	t.Helper()
	sock := filepath.Join(shortDir(t), "l.sock")
	raw, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l := &limited{t: t, sock: sock, ln: newLimitListener(raw, n, nil), accepted: make(chan *limitedConn, 16)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.ln.Accept()
			if err != nil {
				return
			}
			l.accepted <- c.(*limitedConn)
		}
	}()
	t.Cleanup(func() {
		l.ln.Close()
		<-done
	})
	return l
}

// dial connects a client and returns it with the server's side.
func (l *limited) dial() (client net.Conn, server *limitedConn) {
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
	if sa.startServing() {
		t.Fatal("a reclaimed connection may still serve a request")
	}
	sa.Close() // its server goroutine closes it too: that frees nothing more
	sa.Close()
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
	l.ln.hoard = 100 // the test's connections all come from one process
	a, sa := l.dial()
	b, sb := l.dial()
	if !sa.startServing() || !sb.startServing() {
		t.Fatal("startServing refused a connection holding a place")
	}
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
	sb.doneServing()
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
}

// fakeConns builds connections for the choice of whom to close, without
// sockets.
type fakeConns struct {
	l    *limitListener
	base time.Time
}

func (f fakeConns) conn(uid uint32, pid int, age int) *limitedConn {
	c := &limitedConn{l: f.l, since: f.base.Add(-time.Duration(age) * time.Second)}
	if pid >= 0 {
		c.cred = &peercred.Cred{UID: uid, PID: pid}
	}
	return c
}

func (f fakeConns) add(uid uint32, pid int, age int) *limitedConn {
	c := f.conn(uid, pid, age)
	f.l.conns[c] = struct{}{}
	return c
}

// The connection closed to make room is, in order: one already answered
// and only waiting to be closed; an idle one of the newcomer's own
// process; one of a user or process holding at least two more places
// than the newcomer's; never one being served, and never one of someone
// who would be left with fewer places than the newcomer.
func TestReclaimOrder(t *testing.T) {
	l := newLimitListener(nil, 8, nil)
	f := fakeConns{l: l, base: time.Now()}
	operator := f.add(0, 100, 99)  // root's chatctl, the oldest of all
	hoarder1 := f.add(0, 200, 5)   // another root process, with three
	hoarder2 := f.add(0, 200, 7)   // the oldest of the hoarder's
	hoarder3 := f.add(0, 200, 6)   //
	member := f.add(1000, 300, 50) // a group member, one connection
	unknown := f.add(0, -1, 60)    // credentials unknown: a user of its own

	newcomer := f.conn(0, 100, 0) // root's chatctl again
	if v := l.victimLocked(newcomer); v != operator {
		t.Fatalf("victim %+v, want the newcomer's own process's idle connection", v.cred)
	}
	newcomer = f.conn(0, 400, 0) // another root chatctl
	if v := l.victimLocked(newcomer); v != hoarder2 {
		t.Fatalf("victim %+v, want the hoarder's oldest", v.cred)
	}
	newcomer = f.conn(1001, 500, 0) // another member: root holds 4 >= 0+2
	if v := l.victimLocked(newcomer); v != hoarder2 {
		t.Fatalf("victim %+v, want the heaviest user's heaviest process's oldest", v.cred)
	}
	hoarder3.finished = true
	hoarder3.serving = true
	if v := l.victimLocked(newcomer); v != hoarder3 {
		t.Fatalf("victim %+v, want the one whose answer is out", v.cred)
	}
	hoarder3.finished = false
	for _, c := range []*limitedConn{hoarder1, hoarder2} {
		c.serving = true
	}
	// The hoarder's are all being served; root's operator may go for the
	// other member, as root holds four places.
	if v := l.victimLocked(newcomer); v != operator {
		t.Fatalf("victim %+v, want root's idle one", v.cred)
	}
	// The hoarder's newcomer may not take the operator's, the member's or
	// the unknown peer's single place.
	if v := l.victimLocked(f.conn(0, 200, 0)); v != nil {
		t.Fatalf("the hoarder's newcomer may close %+v", v.cred)
	}
	// Nor may another root process take a place from a root process with
	// one (a member, whose user holds one place to root's four, may).
	if v := l.victimLocked(f.conn(0, 401, 0)); v != nil {
		t.Fatalf("a process with none may close %+v, whose process holds one", v.cred)
	}
	_, _ = member, unknown
}

// A process that holds a quarter of the places, all being served, is
// turned away with a JSON 503 at once instead of waiting in line.
func TestHoarderIsTurnedAway(t *testing.T) {
	l := newLimited(t, 2)
	l.ln.hoard = 2
	_, sa := l.dial()
	_, sb := l.dial()
	sa.startServing()
	sb.startServing()
	c, err := net.Dial("unix", l.sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	var e adminapi.Error
	if resp.StatusCode != 503 || json.Unmarshal(body, &e) != nil || !strings.Contains(e.Error, "too many admin connections") {
		t.Fatalf("turned away with %d %q", resp.StatusCode, body)
	}
	if n := l.held(); n != 2 {
		t.Fatalf("%d places held, want 2", n)
	}
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
