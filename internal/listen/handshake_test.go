package listen

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/chatd/chatd/internal/syncbuf"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// lineHandshake reads one line from the peer before the connection is
// served: a stand-in for a PROXY header, slow when the peer is.
func lineHandshake(ctx context.Context, c net.Conn) (net.Conn, error) {
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("read hello: %w", err)
	}
	if line != "hello\n" {
		return nil, fmt.Errorf("bad hello %q", line)
	}
	return c, nil
}

func newTestListener(t *testing.T, hs Handshake, opt Options) (*HandshakeListener, *syncbuf.Buffer) {
	t.Helper()
	inner, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncbuf.Buffer{}
	opt.Log = slog.New(slog.NewTextHandler(logs, nil))
	l := NewHandshakeListener(inner, hs, opt)
	t.Cleanup(func() { l.Close() })
	return l, logs
}

func dial(t *testing.T, l net.Listener) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", l.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

type acceptResult struct {
	c   net.Conn
	err error
}

func acceptAsync(l net.Listener) <-chan acceptResult {
	ch := make(chan acceptResult, 1)
	go func() {
		c, err := l.Accept()
		ch <- acceptResult{c, err}
	}()
	return ch
}

// A peer that never finishes its handshake does not stop the next peer
// from being accepted, and Accept never returns the stalled one.
func TestSlowHandshakeDoesNotStallOthers(t *testing.T) {
	l, _ := newTestListener(t, lineHandshake, Options{Timeout: time.Minute})
	stalled := dial(t, l)
	stalled.Write([]byte("hel")) // and nothing more
	prompt := dial(t, l)
	prompt.Write([]byte("hello\n"))

	select {
	case r := <-acceptAsync(l):
		if r.err != nil {
			t.Fatal(r.err)
		}
		defer r.c.Close()
		if r.c.RemoteAddr().String() != prompt.LocalAddr().String() {
			t.Fatalf("accepted %s, want the prompt peer %s", r.c.RemoteAddr(), prompt.LocalAddr())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Accept did not return the prompt peer while another stalled")
	}
	// The delivered connection leaves the count just after Accept has it.
	waitFor(t, func() bool { return l.Pending() == 1 }, "only the stalled peer pending")
}

// A handshake that never finishes ends at the timeout: the peer sees its
// connection closed, the failure is counted and logged, Accept never
// returns it.
func TestHandshakeTimeoutClosesConnection(t *testing.T) {
	const timeout = 200 * time.Millisecond
	l, logs := newTestListener(t, lineHandshake, Options{Name: "hello", Timeout: timeout})
	start := time.Now() // before the dial: the server's clock starts after it
	c := dial(t, l)
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != io.EOF && !isReset(err) {
		t.Fatalf("stalled peer read: %v, want EOF or reset", err)
	}
	if took := time.Since(start); took < timeout {
		t.Fatalf("closed after %v, before the %v timeout", took, timeout)
	}
	waitFor(t, func() bool { return l.Failed() == 1 && l.Pending() == 0 }, "failure counted and slot freed")
	if !strings.Contains(logs.String(), "hello failed; connection closed") {
		t.Errorf("log = %q, want the failure line", logs.String())
	}
	select {
	case r := <-acceptAsync(l):
		t.Fatalf("Accept returned %v, %v for a failed handshake", r.c, r.err)
	case <-time.After(50 * time.Millisecond):
	}
}

func isReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "connection reset")
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A flood of failures is logged as the first line plus summaries, while
// every failure is counted.
func TestFailureLogIsSummarised(t *testing.T) {
	l, logs := newTestListener(t, lineHandshake, Options{Name: "hello", LogEvery: time.Hour})
	const n = 20
	for range n {
		c := dial(t, l)
		c.Write([]byte("wrong\n"))
	}
	waitFor(t, func() bool { return l.Failed() == n }, "all failures counted")
	if lines := strings.Count(logs.String(), "failed; connection closed"); lines != 1 {
		t.Errorf("%d failure lines for %d failures within one interval, want 1:\n%s", lines, n, logs)
	}
	var f failureLog
	f.every = time.Second
	t0 := time.Now()
	for i, tc := range []struct {
		at         time.Duration
		ok         bool
		suppressed uint64
	}{{0, true, 0}, {10 * time.Millisecond, false, 0}, {20 * time.Millisecond, false, 0}, {time.Second, true, 2}, {3 * time.Second, true, 0}} {
		s, ok := f.allow(t0.Add(tc.at))
		if ok != tc.ok || s != tc.suppressed {
			t.Errorf("step %d: allow = %d, %v; want %d, %v", i, s, ok, tc.suppressed, tc.ok)
		}
	}
}

// With MaxPending handshakes stalled, the listener stops accepting;
// once one slot frees, the next waiting connect goes through.
func TestMaxPendingBounds(t *testing.T) {
	l, _ := newTestListener(t, lineHandshake, Options{MaxPending: 2, Timeout: time.Minute})
	a, b := dial(t, l), dial(t, l)
	waitFor(t, func() bool { return l.Pending() == 2 }, "two handshakes pending")
	third := dial(t, l) // sits in the kernel's backlog
	third.Write([]byte("hello\n"))
	got := acceptAsync(l)
	select {
	case r := <-got:
		t.Fatalf("Accept returned %v, %v with every slot taken", r.c, r.err)
	case <-time.After(100 * time.Millisecond):
	}
	a.Close() // frees a slot: a's handshake fails at once
	select {
	case r := <-got:
		if r.err != nil {
			t.Fatal(r.err)
		}
		r.c.Close()
		if r.c.RemoteAddr().String() != third.LocalAddr().String() {
			t.Fatalf("accepted %s, want %s", r.c.RemoteAddr(), third.LocalAddr())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the waiting connect was not accepted after a slot freed")
	}
	_ = b
}

// Close ends the handshakes in flight (their peers see the close) and
// makes Accept return net.ErrClosed; nothing is left running (goleak).
func TestCloseCutsHandshakesShort(t *testing.T) {
	l, logs := newTestListener(t, lineHandshake, Options{Timeout: time.Minute})
	c := dial(t, l)
	waitFor(t, func() bool { return l.Pending() == 1 }, "handshake pending")
	pending := acceptAsync(l)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	r := <-pending
	if !errors.Is(r.err, net.ErrClosed) {
		t.Fatalf("Accept after Close: %v, want net.ErrClosed", r.err)
	}
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != io.EOF && !isReset(err) {
		t.Fatalf("peer read after Close: %v, want EOF", err)
	}
	if l.Failed() != 0 || logs.String() != "" {
		t.Errorf("closing counted as a peer failure: failed=%d log=%q", l.Failed(), logs)
	}
}

// The listener's own socket closed underneath it (as when it is handed to
// another process) ends it like Close.
func TestInnerClosedEndsListener(t *testing.T) {
	l, _ := newTestListener(t, lineHandshake, Options{})
	l.Inner().Close()
	select {
	case r := <-acceptAsync(l):
		if !errors.Is(r.err, net.ErrClosed) {
			t.Fatalf("Accept: %v, want net.ErrClosed", r.err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Accept did not return after the inner listener closed")
	}
}

// errListener fails its first Accept with a non-closed error.
type errListener struct {
	net.Listener
	once sync.Once
}

var errBusy = errors.New("too many open files (test)")

func (e *errListener) Accept() (net.Conn, error) {
	var fail bool
	e.once.Do(func() { fail = true })
	if fail {
		return nil, errBusy
	}
	return e.Listener.Accept()
}

// An accept error of the socket underneath reaches the caller's Accept
// as it is (the server's backoff handles it), and accepting goes on.
func TestAcceptErrorIsPassedOn(t *testing.T) {
	inner, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := NewHandshakeListener(&errListener{Listener: inner}, lineHandshake, Options{})
	defer l.Close()
	if _, err := l.Accept(); !errors.Is(err, errBusy) {
		t.Fatalf("first Accept: %v, want %v", err, errBusy)
	}
	c := dial(t, l)
	c.Write([]byte("hello\n"))
	r := <-acceptAsync(l)
	if r.err != nil {
		t.Fatalf("Accept after an error: %v", r.err)
	}
	r.c.Close()
}
