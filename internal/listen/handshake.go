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
	// Accept. Default DefaultMaxPending.
	MaxPending int
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
)

// HandshakeListener is a net.Listener whose Accept returns only
// connections whose Handshake finished (see the package comment).
type HandshakeListener struct {
	inner net.Listener
	hs    Handshake
	opt   Options

	ready chan net.Conn
	errs  chan error
	slots chan struct{}

	ctx    context.Context // ends at Close
	cancel context.CancelFunc

	mu       sync.Mutex
	closed   bool
	inflight map[net.Conn]struct{}
	wg       sync.WaitGroup

	failed  atomic.Uint64
	pending atomic.Int64
	logLim  failureLog
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
	if opt.LogEvery <= 0 {
		opt.LogEvery = 10 * time.Second
	}
	if opt.Name == "" {
		opt.Name = "handshake"
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &HandshakeListener{
		inner:    inner,
		hs:       hs,
		opt:      opt,
		ready:    make(chan net.Conn),
		errs:     make(chan error),
		slots:    make(chan struct{}, opt.MaxPending),
		ctx:      ctx,
		cancel:   cancel,
		inflight: make(map[net.Conn]struct{}),
	}
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
	for c := range l.inflight {
		c.Close()
	}
	return true
}

// Addr is the inner listener's address.
func (l *HandshakeListener) Addr() net.Addr { return l.inner.Addr() }

// Inner is the listener underneath (for handing the listening socket to a
// restarted process).
func (l *HandshakeListener) Inner() net.Listener { return l.inner }

// Failed counts the connections closed because their handshake failed or
// timed out (a metric).
func (l *HandshakeListener) Failed() uint64 { return l.failed.Load() }

// Pending is the number of connections in handshake or waiting for Accept.
func (l *HandshakeListener) Pending() int { return int(l.pending.Load()) }

func (l *HandshakeListener) acceptLoop() {
	defer l.wg.Done()
	for {
		// Take a slot first: with MaxPending in flight, stop accepting
		// and let the kernel's backlog hold the next connects.
		select {
		case l.slots <- struct{}{}:
		case <-l.ctx.Done():
			return
		}
		c, err := l.inner.Accept()
		if err != nil {
			<-l.slots
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
		if !l.track(c) {
			<-l.slots
			c.Close()
			return
		}
		l.wg.Add(1)
		go l.handshake(c)
	}
}

func (l *HandshakeListener) track(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.inflight[c] = struct{}{}
	l.pending.Add(1)
	return true
}

func (l *HandshakeListener) untrack(c net.Conn) {
	l.mu.Lock()
	delete(l.inflight, c)
	l.mu.Unlock()
}

func (l *HandshakeListener) handshake(c net.Conn) {
	defer l.wg.Done()
	defer func() {
		l.pending.Add(-1)
		<-l.slots
	}()
	peer := c.RemoteAddr()
	deadline := time.Now().Add(l.opt.Timeout)
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
	l.untrack(c)
	if err != nil {
		if sc != nil && sc != c {
			sc.Close()
		}
		c.Close()
		if l.ctx.Err() != nil {
			return // closing: not the peer's fault
		}
		l.failed.Add(1)
		l.logFailure(peer, err)
		return
	}
	select {
	case l.ready <- sc:
	case <-l.ctx.Done():
		sc.Close()
	}
}

func (l *HandshakeListener) logFailure(peer net.Addr, err error) {
	suppressed, ok := l.logLim.allow(time.Now())
	if !ok || l.opt.Log == nil {
		return
	}
	args := []any{"peer", peer.String(), "err", err}
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
