package admin

import (
	"context"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/chatd/chatd/internal/peercred"
)

// maxConns bounds the admin connections open at once, so that a local
// client opening connections in a loop costs the daemon a bounded number
// of descriptors and goroutines: chatd's descriptor reserve (beside
// max_clients) counts on it.
const maxConns = 32

// reclaimWarnEvery rate-limits the warning that connections were closed
// to make room.
const reclaimWarnEvery = 10 * time.Second

// busyAnswer is what a connection turned away gets instead of a place.
var busyAnswer = func() []byte {
	body := `{"error":"too many admin connections from this process; close some and try again"}` + "\n"
	return []byte("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n" +
		"Retry-After: 1\r\nConnection: close\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
}()

// limitListener is a Unix listener that keeps at most max connections
// open (plus, for a moment, the one just accepted). Idle and slow
// connections must not keep the operator out, and a process that hoards
// connections must not take the places of others.
//
// A connection holds its place for good only while one of its requests is
// being served. When a new connection arrives and every place is taken,
// room is made by closing one that is not being served, in this order:
//
//  1. one whose answer is complete and which net/http only keeps open a
//     while before closing it (its RST-avoidance delay, meant for TCP):
//     on a Unix socket the answer already sits in the peer's receive
//     queue, so closing it early loses nothing;
//  2. an idle one of the newcomer's own process, oldest first: silent
//     since it connected, a slowloris still sending its headers, or idle
//     between keep-alive requests;
//  3. an idle one of the user holding the most connections, if that user
//     holds at least two more than the newcomer's user does (so no one
//     ends up with fewer than the newcomer), of that user's process
//     holding the most, oldest first;
//  4. the same among the other processes of the newcomer's own user.
//
// So 1,000 idle connections, or a slowloris that reconnects, cycle through
// their own places, and the operator's chatctl, which connects and asks at
// once, gets one. nginx reclaims idle keep-alive connections the same way
// when it runs out.
//
// When none may be closed (every place is serving a request, each bounded
// by the server's write timeout), a newcomer from a process that already
// holds a quarter of the places is turned away at once with 503, and any
// other waits for a place. Turning the hoarder away, rather than letting
// its queued connections wait their turn, keeps the listen backlog moving
// for everyone behind them.
//
// Waiting for a place whatever holds it, as netutil.LimitListener does,
// let 32 silent connections lock the operator out until ReadHeaderTimeout
// and 1,000 of them for minutes.
type limitListener struct {
	*net.UnixListener
	max   int
	hoard int // a process holding this many places is turned away rather than wait
	log   *slog.Logger

	mu       sync.Mutex
	conns    map[*limitedConn]struct{} // holding a place
	closed   int                       // reclaimed since the last warning
	refused  int                       // turned away since the last warning
	warnedAt time.Time

	room      chan struct{} // a token when a place may have come free
	done      chan struct{}
	closeOnce sync.Once
}

func newLimitListener(ln *net.UnixListener, n int, log *slog.Logger) *limitListener {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &limitListener{UnixListener: ln, max: n, hoard: max(1, n/4), log: log,
		conns: make(map[*limitedConn]struct{}, n+1), room: make(chan struct{}, 1), done: make(chan struct{})}
}

// limitedConn is an admin connection. It stays a *net.UnixConn underneath,
// so that its peer credentials can be read.
type limitedConn struct {
	*net.UnixConn
	l       *limitListener
	cred    *peercred.Cred // nil if credErr
	credErr error

	// Guarded by l.mu.
	serving  bool      // a request of it is being served
	finished bool      // its last answer is out and it is only waiting to be closed
	released bool      // no longer holds a place: closed, or reclaimed
	since    time.Time // accepted, or last done serving
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		uc, err := l.AcceptUnix()
		if err != nil {
			return nil, err
		}
		c := &limitedConn{UnixConn: uc, l: l}
		// The kernel took the credentials at connect time: read them
		// once, for the choice of whom to close and for every request's
		// check.
		c.cred, c.credErr = peercred.Get(uc)
		if l.place(c) {
			return c, nil
		}
		select { // turned away, or the listener is closing
		case <-l.done:
			return nil, net.ErrClosed
		default:
		}
	}
}

// place gives c a place, closing another connection to make room if it
// must, or waiting for one. false if c was turned away (and closed).
func (l *limitListener) place(c *limitedConn) bool {
	for {
		l.mu.Lock()
		victim, ok := l.placeLocked(c)
		turnAway := !ok && l.procHoldsLocked(c) >= l.hoard
		l.mu.Unlock()
		if victim != nil {
			victim.UnixConn.Close() // its server goroutine sees the close and ends
			l.note(1, 0)
		}
		if ok {
			return true
		}
		if turnAway {
			// The request is not read: the answer is queued for the peer
			// before the close, and a fresh socket's buffer takes it.
			c.UnixConn.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
			c.UnixConn.Write(busyAnswer)
			c.UnixConn.Close()
			l.note(0, 1)
			return false
		}
		select {
		case <-l.room:
		case <-l.done:
			c.UnixConn.Close()
			return false
		}
	}
}

// placeLocked gives c a place if one is free, or frees one by reclaiming a
// connection, which the caller closes.
func (l *limitListener) placeLocked(c *limitedConn) (victim *limitedConn, ok bool) {
	if len(l.conns) >= l.max {
		if victim = l.victimLocked(c); victim == nil {
			return nil, false
		}
		victim.released = true
		delete(l.conns, victim)
	}
	c.since = time.Now()
	l.conns[c] = struct{}{}
	return victim, true
}

// procHoldsLocked is how many places c's process holds.
func (l *limitListener) procHoldsLocked(c *limitedConn) int {
	n := 0
	for o := range l.conns {
		if o.proc() == c.proc() {
			n++
		}
	}
	return n
}

// victimLocked chooses the connection to close to make room for c, in the
// order limitListener describes; nil if none may be closed.
func (l *limitListener) victimLocked(c *limitedConn) *limitedConn {
	users := make(map[uint32]int, len(l.conns))
	procs := make(map[[2]int64]int, len(l.conns))
	for o := range l.conns {
		users[o.uid()]++
		procs[o.proc()]++
	}
	// class ranks a candidate by the order above; -1 if it may not go.
	class := func(o *limitedConn) int {
		switch {
		case o.finished:
			return 1
		case o.serving:
			return -1
		case o.proc() == c.proc():
			return 2
		case o.uid() != c.uid() && users[o.uid()] >= users[c.uid()]+2:
			return 3
		case o.uid() == c.uid() && procs[o.proc()] >= procs[c.proc()]+2:
			return 4
		}
		return -1
	}
	var best *limitedConn
	bestClass := -1
	for o := range l.conns {
		k := class(o)
		if k < 0 {
			continue
		}
		if best == nil || k < bestClass || k == bestClass && l.heavier(o, best, users, procs) {
			best, bestClass = o, k
		}
	}
	return best
}

// heavier orders two candidates of the same class: the one whose user
// holds more places, then whose process does, then the one idle longer.
func (l *limitListener) heavier(a, b *limitedConn, users map[uint32]int, procs map[[2]int64]int) bool {
	if ua, ub := users[a.uid()], users[b.uid()]; ua != ub {
		return ua > ub
	}
	if pa, pb := procs[a.proc()], procs[b.proc()]; pa != pb {
		return pa > pb
	}
	return a.since.Before(b.since)
}

// uid is the peer's user; peers chatd cannot identify count as one user.
func (c *limitedConn) uid() uint32 {
	if c.cred == nil {
		return math.MaxUint32
	}
	return c.cred.UID
}

// proc tells the peer's process apart (PID 0 where the platform does
// not say: then the user's connections count as one process).
func (c *limitedConn) proc() [2]int64 {
	pid := -1
	if c.cred != nil {
		pid = c.cred.PID
	}
	return [2]int64{int64(c.uid()), int64(pid)}
}

// note counts connections closed to make room and turned away, and warns
// about them at most every reclaimWarnEvery.
func (l *limitListener) note(closed, refused int) {
	l.mu.Lock()
	l.closed += closed
	l.refused += refused
	c, r, now := l.closed, l.refused, time.Now()
	warn := now.Sub(l.warnedAt) >= reclaimWarnEvery
	if warn {
		l.closed, l.refused, l.warnedAt = 0, 0, now
	}
	l.mu.Unlock()
	if warn {
		l.log.Warn("admin connections at the limit: closing idle or slow ones, turning hoarders away",
			"limit", l.max, "closed", c, "turned_away", r)
	}
}

// signal wakes an Accept waiting for a place.
func (l *limitListener) signal() {
	select {
	case l.room <- struct{}{}:
	default:
	}
}

func (l *limitListener) release(c *limitedConn) {
	l.mu.Lock()
	if !c.released {
		c.released = true
		delete(l.conns, c)
	}
	l.mu.Unlock()
	l.signal()
}

func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.UnixListener.Close()
}

// Close closes the connection and gives up its place (once).
func (c *limitedConn) Close() error {
	err := c.UnixConn.Close()
	c.l.release(c)
	return err
}

// CloseWrite is called by net/http once a connection's last answer is
// out, before it waits a while (for TCP's sake) and closes it: from then
// on the connection may be closed to make room without loss.
func (c *limitedConn) CloseWrite() error {
	err := c.UnixConn.CloseWrite()
	c.l.mu.Lock()
	c.finished = true
	c.l.mu.Unlock()
	c.l.signal()
	return err
}

// startServing marks c as serving a request, so that it keeps its place;
// false if it was reclaimed meanwhile (nobody would see the answer).
func (c *limitedConn) startServing() bool {
	c.l.mu.Lock()
	defer c.l.mu.Unlock()
	if c.released {
		return false
	}
	c.serving = true
	return true
}

// doneServing marks c as idle again: it may be reclaimed from now on.
func (c *limitedConn) doneServing() {
	c.l.mu.Lock()
	c.serving = false
	c.since = time.Now()
	c.l.mu.Unlock()
	c.l.signal()
}

// connKey is the context key of a request's *limitedConn.
type connKey struct{}

// serving wraps the server's handler: a connection keeps its place from
// the moment its request is dispatched until the answer has been sent
// (connState sees it go idle or closed).
func (l *limitListener) serving(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := r.Context().Value(connKey{}).(*limitedConn); ok && !c.startServing() {
			// Reclaimed between reading the request and here: the
			// connection is closed, so do nothing on its behalf.
			return
		}
		next.ServeHTTP(w, r)
	})
}

// connState is the http.Server's ConnState hook. StateIdle comes after the
// answer has been written out, so a connection is never reclaimed halfway
// through one.
func (l *limitListener) connState(nc net.Conn, state http.ConnState) {
	c, ok := nc.(*limitedConn)
	if !ok {
		return
	}
	switch state {
	case http.StateIdle:
		c.doneServing()
	case http.StateClosed, http.StateHijacked:
		c.l.release(c)
	}
}

// connContext records the connection (for serving) and its peer
// credentials (for authorize) in the context of its requests.
func (l *limitListener) connContext(ctx context.Context, nc net.Conn) context.Context {
	c, ok := nc.(*limitedConn)
	if !ok {
		return connContext(ctx, nc)
	}
	return withPeer(context.WithValue(ctx, connKey{}, c), peer{cred: c.cred, err: c.credErr})
}
