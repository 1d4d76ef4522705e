package admin

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/chatd/chatd/internal/peercred"
)

// maxConns bounds the admin connections open at once, so that a local
// client opening connections in a loop costs the daemon a bounded number
// of descriptors and goroutines: chatd's descriptor reserve (beside
// max_clients) counts on it.
const maxConns = 32

// closedWarnEvery rate-limits the warning that connections were closed to
// make room.
const closedWarnEvery = 10 * time.Second

// connLimit is the admin socket's listener: at most max connections, and
// idle ones cannot keep a request out. A connection holds its place for
// good only while a request of it is being served. When every place is
// taken, a newcomer gets the place of an idle connection (silent since it
// connected, a slowloris still sending headers, idle between requests, or
// done and only waiting out net/http's close delay): one of its own
// process if it has one, so that a process connecting in a loop recycles
// its own places and nobody else's, else the one idle longest. Only when
// every place is serving does the newcomer wait, and each request is
// bounded by the server's timeouts.
//
// netutil.LimitListener waits for a place whatever holds it: 32 silent
// connections would lock the operator out until ReadHeaderTimeout, and
// 1,000 of them for minutes.
type connLimit struct {
	*net.UnixListener
	max int
	log *slog.Logger

	mu       sync.Mutex
	freed    *sync.Cond // a place may have become free or evictable
	conns    map[*adminConn]struct{}
	closed   bool
	evicted  int // since the last warning
	warnedAt time.Time
}

func newConnLimit(ln *net.UnixListener, max int, log *slog.Logger) *connLimit {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &connLimit{UnixListener: ln, max: max, log: log, conns: make(map[*adminConn]struct{}, max+1)}
	l.freed = sync.NewCond(&l.mu)
	return l
}

// adminConn is an admin connection with the peer credentials the kernel
// took at connect time. It stays a *net.UnixConn underneath.
type adminConn struct {
	*net.UnixConn
	l    *connLimit
	peer peer

	// Guarded by l.mu.
	busy    bool      // a request of it is being served
	evicted bool      // closed to make room: serve it nothing more
	since   time.Time // accepted, or last done serving
}

func (l *connLimit) Accept() (net.Conn, error) {
	uc, err := l.AcceptUnix()
	if err != nil {
		return nil, err
	}
	cred, credErr := peercred.Get(uc)
	c := &adminConn{UnixConn: uc, l: l, peer: peer{cred: cred, err: credErr}, since: time.Now()}
	warn := 0 // connections closed since the last warning, if one is due
	l.mu.Lock()
	for len(l.conns) >= l.max && !l.closed {
		if v := l.idlest(c); v != nil {
			v.evicted = true
			delete(l.conns, v)
			v.UnixConn.Close() // its server goroutine sees the close and ends
			l.evicted++
			if now := time.Now(); now.Sub(l.warnedAt) >= closedWarnEvery {
				warn, l.evicted, l.warnedAt = l.evicted, 0, now
			}
			break
		}
		l.freed.Wait()
	}
	closed := l.closed
	if !closed {
		l.conns[c] = struct{}{}
	}
	l.mu.Unlock()
	if warn > 0 { // not under the lock: a slow log must not hold up the API
		l.log.Warn("admin connections at the limit: closing idle or slow ones to make room", "limit", l.max, "closed", warn)
	}
	if closed {
		uc.Close()
		return nil, net.ErrClosed
	}
	return c, nil
}

// idlest is the connection to close for newcomer: the longest idle of its
// own process, else the longest idle of all; nil if all are serving.
func (l *connLimit) idlest(newcomer *adminConn) *adminConn {
	var own, any *adminConn
	for c := range l.conns {
		if c.busy {
			continue
		}
		if any == nil || c.since.Before(any.since) {
			any = c
		}
		if c.peer.sameProcess(newcomer.peer) && (own == nil || c.since.Before(own.since)) {
			own = c
		}
	}
	if own != nil {
		return own
	}
	return any
}

func (l *connLimit) Close() error {
	l.mu.Lock()
	l.closed = true
	l.freed.Broadcast()
	l.mu.Unlock()
	return l.UnixListener.Close()
}

// setBusy marks c as serving a request or not, waking a newcomer waiting
// for a place when it is not.
func (c *adminConn) setBusy(busy bool) {
	c.l.mu.Lock()
	c.busy = busy
	if !busy {
		c.since = time.Now()
		c.l.freed.Broadcast()
	}
	c.l.mu.Unlock()
}

// Close closes the connection and gives up its place.
func (c *adminConn) Close() error {
	err := c.UnixConn.Close()
	c.l.mu.Lock()
	delete(c.l.conns, c)
	c.l.freed.Broadcast()
	c.l.mu.Unlock()
	return err
}

// CloseWrite is called by net/http once the last answer of a connection
// it is closing is out, before it waits a while (for TCP's sake) and
// closes it: on a Unix socket the answer is in the peer's queue already,
// so the place may go to a newcomer without loss.
func (c *adminConn) CloseWrite() error {
	err := c.UnixConn.CloseWrite()
	c.setBusy(false)
	return err
}

// connState is the http.Server's ConnState hook: a connection is busy
// from the moment its request has been read until its answer is written.
func connState(nc net.Conn, state http.ConnState) {
	c, ok := nc.(*adminConn)
	if !ok {
		return
	}
	switch state {
	case http.StateActive:
		c.setBusy(true)
	case http.StateIdle:
		c.setBusy(false)
	}
}

// connKey is the context key of a request's *adminConn.
type connKey struct{}

// connContext gives each request its connection and peer credentials.
func connContext(ctx context.Context, nc net.Conn) context.Context {
	c, ok := nc.(*adminConn)
	if !ok {
		cred, err := peercred.Get(nc)
		return withPeer(ctx, peer{cred: cred, err: err})
	}
	return withPeer(context.WithValue(ctx, connKey{}, c), c.peer)
}

// evicted reports whether the request's connection was closed to make
// room after its request was read: nobody would see the answer, so
// nothing must be done on its behalf.
func evicted(ctx context.Context) bool {
	c, ok := ctx.Value(connKey{}).(*adminConn)
	if !ok {
		return false
	}
	c.l.mu.Lock()
	defer c.l.mu.Unlock()
	return c.evicted
}
