package listen

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
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
	// The line is written just after the count: wait for it too.
	waitFor(t, func() bool { return strings.Contains(logs.String(), "hello failed; connection closed") }, "the failure line logged")
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

// dialFrom connects to l from the loopback address ip, so that tests can
// play many sources on one host.
func dialFrom(t *testing.T, ip string, l net.Listener) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp4", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedByServer waits for the server to close c (EOF or reset).
func closedByServer(t *testing.T, c net.Conn, what string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != io.EOF && !isReset(err) {
		t.Fatalf("%s: read %v, want the server's close", what, err)
	}
}

func acceptWithin(t *testing.T, l net.Listener, want net.Conn) {
	t.Helper()
	select {
	case r := <-acceptAsync(l):
		if r.err != nil {
			t.Fatal(r.err)
		}
		r.c.Close()
		if r.c.RemoteAddr().String() != want.LocalAddr().String() {
			t.Fatalf("accepted %s, want %s", r.c.RemoteAddr(), want.LocalAddr())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("%s was not accepted", want.LocalAddr())
	}
}

// With MaxPending handshakes stalled, a new connection is not left in the
// kernel's backlog until one times out: the oldest stalled handshake gives
// way to it, and the failure says so.
func TestOldestGivesWayWhenFull(t *testing.T) {
	l, logs := newTestListener(t, lineHandshake, Options{Name: "hello", MaxPending: 3, Timeout: time.Minute})
	var stalled []net.Conn
	for i := range 3 {
		stalled = append(stalled, dialFrom(t, fmt.Sprintf("127.0.0.%d", 10+i), l))
		waitFor(t, func() bool { return l.Pending() == i+1 }, "stalled handshake pending")
	}
	honest := dialFrom(t, "127.0.0.20", l)
	honest.Write([]byte("hello\n"))
	acceptWithin(t, l, honest)
	closedByServer(t, stalled[0], "the oldest stalled peer")
	waitFor(t, func() bool { return l.Stats().Failed[ReasonDisplaced] == 1 }, "one displaced")
	// The accepted connection leaves the count just after Accept has it.
	waitFor(t, func() bool { return l.Pending() == 2 }, "the 2 younger stalled peers pending")
	for _, c := range stalled[1:] {
		c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("a younger stalled peer: read %v, want it still waiting", err)
		}
	}
	if !strings.Contains(logs.String(), "reason=displaced") || !strings.Contains(logs.String(), "gave way to a newer connection") {
		t.Errorf("log = %q, want the displaced line", logs)
	}
}

// One source holds at most MaxPendingPerSource handshakes: its newest
// connection makes its own oldest give way, and other sources lose
// nothing.
func TestPerSourceBound(t *testing.T) {
	l, _ := newTestListener(t, lineHandshake, Options{MaxPending: 100, MaxPendingPerSource: 3, Timeout: time.Minute})
	other := dialFrom(t, "127.0.0.30", l) // stalled too, from another source
	waitFor(t, func() bool { return l.Pending() == 1 }, "the other source pending")
	var flood []net.Conn
	for range 5 {
		flood = append(flood, dialFrom(t, "127.0.0.31", l))
	}
	waitFor(t, func() bool { return l.Stats().Failed[ReasonSourceFull] == 2 }, "two of the flood gave way")
	closedByServer(t, flood[0], "the flood's oldest")
	closedByServer(t, flood[1], "the flood's second oldest")
	if p := l.Pending(); p != 4 {
		t.Errorf("Pending = %d, want 1 + 3", p)
	}
	other.Write([]byte("hello\n"))
	acceptWithin(t, l, other)
}

// IPv6 addresses count by /64, IPv4 by address.
func TestSourceOf(t *testing.T) {
	tests := []struct{ addr, want string }{
		{"127.0.0.5:1", "127.0.0.5/32"},
		{"[::ffff:10.1.2.3]:1", "10.1.2.3/32"},
		{"[2001:db8:1:2:aaaa::1]:1", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:bbbb::9]:1", "2001:db8:1:2::/64"},
	}
	for _, tt := range tests {
		a, err := net.ResolveTCPAddr("tcp", tt.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := sourceOf(addrConn{remote: a}); got.String() != tt.want {
			t.Errorf("sourceOf(%s) = %s, want %s", tt.addr, got, tt.want)
		}
	}
}

type addrConn struct {
	net.Conn
	remote net.Addr
}

func (a addrConn) RemoteAddr() net.Addr { return a.remote }

// A connection whose handshake finished is an honest client: it never
// gives way. With every slot holding one the server has not accepted,
// the listener stops accepting and further connects wait in the backlog;
// once the server accepts, the next goes through. (The accept already
// under way when the last slot filled still completes: one over the
// bound.)
func TestFinishedConnectionsDoNotGiveWay(t *testing.T) {
	l, _ := newTestListener(t, lineHandshake, Options{MaxPending: 2, Timeout: time.Minute})
	a, b := dialFrom(t, "127.0.0.40", l), dialFrom(t, "127.0.0.41", l)
	a.Write([]byte("hello\n"))
	b.Write([]byte("hello\n"))
	waitFor(t, func() bool { return l.Pending() == 2 }, "two finished, not accepted")
	third, fourth := dialFrom(t, "127.0.0.42", l), dialFrom(t, "127.0.0.43", l)
	third.Write([]byte("hello\n"))
	fourth.Write([]byte("hello\n"))
	time.Sleep(100 * time.Millisecond) // what the listener would do wrong, it would do now
	if st := l.Stats(); st.Failed[ReasonDisplaced] != 0 || st.Pending > 3 {
		t.Fatalf("stats %+v: a finished connection gave way, or the bound did not hold", st)
	}
	got := map[string]bool{}
	for range 4 {
		r := <-acceptAsync(l)
		if r.err != nil {
			t.Fatal(r.err)
		}
		got[r.c.RemoteAddr().String()] = true
		r.c.Close()
	}
	for _, c := range []net.Conn{a, b, third, fourth} {
		if !got[c.LocalAddr().String()] {
			t.Errorf("%s not accepted (got %v)", c.LocalAddr(), got)
		}
	}
}

// Failures are counted by reason: a timeout, a peer that closed, and a
// peer that sent what the handshake refuses; Classify may name its own.
func TestFailureReasons(t *testing.T) {
	errUntrustedTest := errors.New("untrusted (test)")
	hs := func(ctx context.Context, c net.Conn) (net.Conn, error) {
		if sourceOf(c).Addr().String() == "127.0.0.53" {
			return nil, errUntrustedTest
		}
		return lineHandshake(ctx, c)
	}
	classify := func(err error) Reason {
		if errors.Is(err, errUntrustedTest) {
			return ReasonUntrusted
		}
		return ""
	}
	l, _ := newTestListener(t, hs, Options{Timeout: 300 * time.Millisecond, Classify: classify})
	dialFrom(t, "127.0.0.50", l) // times out
	dialFrom(t, "127.0.0.51", l).Close()
	dialFrom(t, "127.0.0.52", l).Write([]byte("wrong\n"))
	dialFrom(t, "127.0.0.53", l)
	want := map[Reason]uint64{ReasonTimeout: 1, ReasonClosed: 1, ReasonInvalid: 1, ReasonUntrusted: 1}
	waitFor(t, func() bool { return l.Failed() == 4 }, "four failures")
	st := l.Stats()
	for _, r := range Reasons {
		if st.Failed[r] != want[r] {
			t.Errorf("failed[%s] = %d, want %d (all: %v)", r, st.Failed[r], want[r], st.Failed)
		}
	}
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
