package listen

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Handshake is the work a new connection needs before it is served. It
// returns the connection to serve (c itself or a wrapper around it) or why
// c must be closed. c carries a deadline (Options.Timeout) and ctx ends at
// the same moment or when the listener closes; a Handshake must give up
// when either does.
type Handshake func(ctx context.Context, c net.Conn) (net.Conn, error)

// Options bound a HandshakeListener.
type Options struct {
	// Name says what the handshake is, for log lines ("PROXY header",
	// "TLS handshake").
	Name string
	// Timeout bounds one handshake. Default DefaultTimeout.
	Timeout time.Duration
	// MaxPending bounds the connections in handshake or waiting for
	// Accept. At the bound, the oldest handshake in progress gives way to
	// a new connection. Default DefaultMaxPending.
	MaxPending int
	// MaxPendingPerSource bounds the handshakes in progress from one
	// source (an IPv4 address, an IPv6 /64); at the bound, that source's
	// oldest gives way to its newest. Default DefaultMaxPendingPerSource;
	// negative: no bound of its own.
	MaxPendingPerSource int
	// Classify names the reason of a failed handshake for the failure
	// counts; nil, or "" returned, reads the socket's error (a deadline,
	// the peer's close) and calls anything else ReasonInvalid.
	Classify func(error) Reason
	// Log gets one line per failed handshake (summarised in a flood).
	// Nil: failures are only counted.
	Log *slog.Logger
	// LogEvery is the shortest interval between two failure lines after
	// the first. Default 10s.
	LogEvery time.Duration
}

// Defaults for Options.
const (
	DefaultTimeout    = 5 * time.Second
	DefaultMaxPending = 512
	// DefaultMaxPendingPerSource leaves room for many clients behind one
	// NAT address connecting at the same moment (an honest handshake is
	// over in a round trip or two), while one address alone can hold no
	// more than a small part of MaxPending.
	DefaultMaxPendingPerSource = 16
)

// HandshakeListener is a net.Listener whose Accept returns only
// connections whose Handshake finished (see the package comment).
type HandshakeListener struct {
	inner net.Listener
	hs    Handshake
	opt   Options

	ready chan net.Conn
	errs  chan error

	ctx    context.Context // ends at Close
	cancel context.CancelFunc

	mu     sync.Mutex
	room   *sync.Cond // signalled when a finished connection is accepted, and at Close
	closed bool
	adm    *admission
	wg     sync.WaitGroup

	failures [len(reasonsArray)]atomic.Uint64
	logLim   failureLog
}

// NewHandshakeListener starts accepting on inner and running hs on each
// connection. Close the returned listener to stop; it closes inner.
func NewHandshakeListener(inner net.Listener, hs Handshake, opt Options) *HandshakeListener {
	if opt.Timeout <= 0 {
		opt.Timeout = DefaultTimeout
	}
	if opt.MaxPending <= 0 {
		opt.MaxPending = DefaultMaxPending
	}
	switch {
	case opt.MaxPendingPerSource == 0:
		opt.MaxPendingPerSource = DefaultMaxPendingPerSource
	case opt.MaxPendingPerSource < 0:
		opt.MaxPendingPerSource = 0
	}
	if opt.LogEvery <= 0 {
		opt.LogEvery = 10 * time.Second
	}
	if opt.Name == "" {
		opt.Name = "handshake"
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &HandshakeListener{
		inner:  inner,
		hs:     hs,
		opt:    opt,
		ready:  make(chan net.Conn),
		errs:   make(chan error),
		ctx:    ctx,
		cancel: cancel,
		adm:    newAdmission(opt.MaxPending, opt.MaxPendingPerSource),
	}
	l.room = sync.NewCond(&l.mu)
	l.logLim.every = opt.LogEvery
	l.wg.Add(1)
	go l.acceptLoop()
	return l
}

// Accept returns the next connection whose handshake finished, or the
// inner listener's accept error (as the inner listener would, so the
// server's own backoff applies), or net.ErrClosed after Close.
func (l *HandshakeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ready:
		return c, nil
	case err := <-l.errs:
		return nil, err
	case <-l.ctx.Done():
		return nil, fmt.Errorf("accept on %s: %w", l.inner.Addr(), net.ErrClosed)
	}
}

// Close stops accepting, cuts the handshakes in flight short, closes the
// inner listener and waits for the listener's goroutines to end.
func (l *HandshakeListener) Close() error {
	first := l.shut()
	var err error
	if first {
		err = l.inner.Close()
	}
	l.wg.Wait()
	return err
}

// shut marks the listener closed and cuts the handshakes in flight short;
// it reports whether this was the first call.
func (l *HandshakeListener) shut() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.closed = true
	l.cancel()
	for e := l.adm.queue.Front(); e != nil; e = e.Next() {
		e.Value.(*pending).conn.Close()
	}
	l.room.Broadcast()
	return true
}

// Addr is the inner listener's address.
func (l *HandshakeListener) Addr() net.Addr { return l.inner.Addr() }

// Inner is the listener underneath (for handing the listening socket to a
// restarted process).
func (l *HandshakeListener) Inner() net.Listener { return l.inner }

// Failed counts the connections closed because their handshake failed,
// timed out or gave way (a metric).
func (l *HandshakeListener) Failed() uint64 {
	var n uint64
	for i := range l.failures {
		n += l.failures[i].Load()
	}
	return n
}

// Pending is the number of connections in handshake or waiting for Accept.
func (l *HandshakeListener) Pending() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.adm.pending()
}

// Stats are a listener's handshake counts at one moment.
type Stats struct {
	Pending int               // in handshake or waiting for Accept
	Failed  map[Reason]uint64 // closed before being served, by reason; every reason present
}

// Stats reads the listener's counts (for metrics and status).
func (l *HandshakeListener) Stats() Stats {
	st := Stats{Pending: l.Pending(), Failed: make(map[Reason]uint64, len(reasonsArray))}
	for i, r := range reasonsArray {
		st.Failed[r] = l.failures[i].Load()
	}
	return st
}

func (l *HandshakeListener) acceptLoop() {
	defer l.wg.Done()
	for {
		if !l.waitRoom() {
			return
		}
		c, err := l.inner.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				// Closed underneath us (for example handed to
				// another process): end as Close would.
				l.shut()
				return
			}
			select {
			case l.errs <- err:
			case <-l.ctx.Done():
				return
			}
			continue
		}
		p := &pending{conn: c, source: sourceOf(c), started: time.Now()}
		gaveWay, ok := l.admit(p)
		for _, old := range gaveWay {
			old.conn.Close()
			l.fail(old.conn.RemoteAddr(), old.gaveWay, l.gaveWayErr(old))
		}
		if !ok {
			c.Close()
			return
		}
		l.wg.Add(1)
		go l.handshake(p)
	}
}

// waitRoom waits while every slot holds a finished connection the server
// has not taken: then the kernel's backlog holds the next connects. False
// once the listener is closed.
func (l *HandshakeListener) waitRoom() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for !l.closed && !l.adm.room() {
		l.room.Wait()
	}
	return !l.closed
}

func (l *HandshakeListener) admit(p *pending) (gaveWay []*pending, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, false
	}
	return l.adm.admit(p), true
}

func (l *HandshakeListener) gaveWayErr(p *pending) error {
	age := time.Since(p.started).Round(time.Millisecond)
	if p.gaveWay == ReasonSourceFull {
		return fmt.Errorf("gave way to a newer connection from the same source after %v: %d handshakes in progress from it", age, l.opt.MaxPendingPerSource)
	}
	return fmt.Errorf("gave way to a newer connection after %v: %d handshakes in progress, the most this listener holds", age, l.opt.MaxPending)
}

func (l *HandshakeListener) handshake(p *pending) {
	defer l.wg.Done()
	c := p.conn
	peer := c.RemoteAddr()
	deadline := p.started.Add(l.opt.Timeout)
	ctx, cancel := context.WithDeadline(l.ctx, deadline)
	err := c.SetDeadline(deadline)
	var sc net.Conn
	if err == nil {
		sc, err = l.hs(ctx, c)
	}
	cancel()
	if err == nil {
		// The server sets its own deadlines; none of ours may linger.
		err = sc.SetDeadline(time.Time{})
	}
	l.mu.Lock()
	l.adm.remove(p)
	gaveWay := p.gaveWay != ""
	delivering := err == nil && !gaveWay
	if delivering {
		l.adm.waiting++
	}
	l.mu.Unlock()
	if !delivering {
		if sc != nil && sc != c {
			sc.Close()
		}
		c.Close()
		if gaveWay || l.ctx.Err() != nil {
			return // counted when it gave way; or closing: not the peer's fault
		}
		l.fail(peer, l.reasonOf(err), err)
		return
	}
	select {
	case l.ready <- sc:
	case <-l.ctx.Done():
		sc.Close()
	}
	l.mu.Lock()
	l.adm.waiting--
	l.room.Signal()
	l.mu.Unlock()
}

func (l *HandshakeListener) reasonOf(err error) Reason {
	if l.opt.Classify != nil {
		if r := l.opt.Classify(err); r != "" {
			return r
		}
	}
	return classify(err)
}

func (l *HandshakeListener) fail(peer net.Addr, why Reason, err error) {
	l.failures[reasonIndex(why)].Add(1)
	l.logFailure(peer, why, err)
}

func (l *HandshakeListener) logFailure(peer net.Addr, why Reason, err error) {
	suppressed, ok := l.logLim.allow(time.Now())
	if !ok || l.opt.Log == nil {
		return
	}
	args := []any{"peer", peer.String(), "reason", string(why), "err", err}
	if suppressed > 0 {
		args = append(args, "not_logged_since_last", suppressed)
	}
	l.opt.Log.Warn(l.opt.Name+" failed; connection closed", args...)
}

// failureLog lets the first failure be logged, then one per interval,
// counting the ones in between so the next line can say how many.
type failureLog struct {
	every time.Duration

	mu         sync.Mutex
	last       time.Time
	suppressed uint64
}

func (f *failureLog) allow(now time.Time) (suppressed uint64, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.last.IsZero() && now.Sub(f.last) < f.every {
		f.suppressed++
		return 0, false
	}
	f.last = now
	suppressed, f.suppressed = f.suppressed, 0
	return suppressed, true
}
