// Package server is the chat server: it accepts TCP connections, answers
// every byte each client sends with its uppercase form, ends a connection
// when the client sends the close phrase, and never stops because of what a
// client does. Connections are tracked in a registry.Registry.
package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatd/chatd/internal/handover"
	"github.com/chatd/chatd/internal/registry"
	"github.com/chatd/chatd/internal/sourcelimit"
)

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("chat server closed")

// Settings are the server's tunables that may change while it runs (on
// reload). Zero durations mean "no limit".
type Settings struct {
	MaxClients   int
	WriteTimeout time.Duration
	IdleTimeout  time.Duration
	Greeting     string // sent on connect; {id} becomes the client's ID
	KickNotice   string // {id}, {reason}
	ShutdownNote string // {id}
	IdleNotice   string // {id}; sent when idle_timeout ends a connection
	FullNotice   string
	// MaxClientsPerSource bounds the clients of one source (see
	// sourcelimit); 0 is no limit. SourceFullNotice is sent to one
	// beyond it.
	MaxClientsPerSource int
	SourceFullNotice    string
}

// Server is a chat server. Create it with New.
type Server struct {
	reg      *registry.Registry
	log      *slog.Logger
	settings atomic.Pointer[Settings]
	stats    Stats

	active    atomic.Int64 // connections holding a client place (max_clients)
	lingering atomic.Int64 // closing connections waiting for their client's FIN
	// How long, and how many at least, closing connections wait for their
	// client's FIN; tests shrink them.
	lingerFor    time.Duration
	minLingering int64
	closing      atomic.Bool
	wg           sync.WaitGroup // every connection's goroutine, served or rejected
	// accepting counts the Serve loops: a loop may have accepted a
	// connection just before its listener closed and still be handing it
	// to a goroutine (wg.Add), so a stop waits for the loops first.
	accepting sync.WaitGroup

	mu sync.Mutex
	// handingOver is set with closing by HandOver: a connection that
	// registers from then on goes to the next process too.
	handingOver bool
	lns         map[net.Listener]struct{}
	conns       map[*conn]struct{} // served connections, from start until closed
	acceptLg    rateLimitedLog
	rejectLg    rejectionLog

	sources        *sourcelimit.Limiter // clients per source (max_clients_per_source)
	sourceRejectLg rejectionLog
	// Restart survival (handover.go): holder is set before serving and
	// only read afterwards; handed collects what HandOver returns.
	holder        ConnHolder
	holdLg        rateLimitedLog
	handed        []handover.Conn
	handedSockets map[uint64]net.Conn
}

// New returns a server that registers its clients in reg.
func New(reg *registry.Registry, log *slog.Logger, s Settings) *Server {
	srv := &Server{reg: reg, log: log, lns: map[net.Listener]struct{}{}, conns: map[*conn]struct{}{},
		lingerFor: lingerTimeout, minLingering: minLingering, sources: sourcelimit.New(s.MaxClientsPerSource)}
	srv.SetSettings(s)
	srv.acceptLg = rateLimitedLog{logger: log, every: time.Second}
	srv.rejectLg = rejectionLog{logger: log, every: rejectionLogInterval, reason: ReasonServerFull}
	srv.sourceRejectLg = rejectionLog{logger: log, every: rejectionLogInterval, reason: ReasonSourceFull}
	srv.holdLg = rateLimitedLog{logger: log, every: time.Second}
	return srv
}

// SetSettings replaces the live settings. Connections pick the new values
// up at their next read or write; nobody is disconnected by it.
func (s *Server) SetSettings(st Settings) {
	s.sources.SetMax(st.MaxClientsPerSource)
	s.settings.Store(&st)
}

// Settings returns the settings in force.
func (s *Server) Settings() Settings { return *s.settings.Load() }

// Registry is the server's client registry.
func (s *Server) Registry() *registry.Registry { return s.reg }

// Closing reports how many connections have ended but still wait for
// their client's FIN; they hold no max_clients place.
func (s *Server) Closing() int { return int(s.lingering.Load()) }

// Stats returns the server's counters.
func (s *Server) Stats() *Stats { return &s.stats }

// Serve accepts connections on ln until Shutdown, answering each in its own
// goroutine. Accept errors never end it: they are logged (rate-limited) and
// retried with backoff. It returns ErrServerClosed after Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	if !s.track(ln) {
		ln.Close()
		return ErrServerClosed
	}
	defer s.untrack(ln)
	var shed fdReserve
	shed.open()
	defer shed.close()

	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.closing.Load() || errors.Is(err, net.ErrClosed) {
				return ErrServerClosed
			}
			s.stats.AcceptErrors.Add(1)
			s.acceptLg.warn("accept failed; retrying", "err", err)
			// Out of descriptors, the pending connection cannot even be
			// accepted to be refused: free the reserve to take it and
			// close it, so the backlog drains instead of stalling.
			if isFDExhaustion(err) && shed.release() {
				if c, err := ln.Accept(); err == nil {
					s.stats.Rejected.Add(1)
					c.Close()
				} else {
					s.stats.AcceptErrors.Add(1)
				}
				shed.open()
			}
			delay = nextDelay(delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		s.handle(nc)
	}
}

// nextDelay is net/http's accept backoff: 5ms doubling up to 1s.
func nextDelay(d time.Duration) time.Duration {
	if d == 0 {
		return 5 * time.Millisecond
	}
	if d *= 2; d > time.Second {
		d = time.Second
	}
	return d
}

func (s *Server) handle(nc net.Conn) {
	st := s.settings.Load()
	s.wg.Add(1)
	if s.active.Add(1) > int64(st.MaxClients) {
		s.active.Add(-1)
		s.stats.Rejected.Add(1)
		s.rejectLg.note(nc.RemoteAddr().String())
		go func() {
			defer s.wg.Done()
			s.reject(nc, st.FullNotice)
		}()
		return
	}
	if !s.admitSource(nc, st) {
		s.active.Add(-1)
		return
	}
	c, err := newConn(s, nc)
	if err != nil {
		s.releaseSource(nc.RemoteAddr())
		s.active.Add(-1)
		s.wg.Done()
		s.log.Error("cannot serve connection", "remote", nc.RemoteAddr().String(), "err", err.Error())
		nc.Close()
		return
	}
	c.start()
	go c.serve()
}

// trackConn adds c to the server's connections. Once Shutdown or
// HandOver has begun, c must stop at once: it returns why ("" while the
// server runs). A connection accepted in the last instant before a
// hand-over closed the listener is handed over like every other, not told
// the server is shutting down: the next process serves it on.
func (s *Server) trackConn(c *conn) Reason {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conns[c] = struct{}{}
	switch {
	case !s.closing.Load():
		return ""
	case s.handingOver:
		if _, ok := holdable(c.nc); ok {
			return ReasonHandover
		}
	}
	return ReasonShutdown
}

// forgetConn removes c, closed, from the server's connections.
func (s *Server) forgetConn(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.wg.Done()
}

// reject tells a connection beyond max_clients that the server is full and
// closes it.
func (s *Server) reject(nc net.Conn, notice string) {
	if notice != "" {
		nc.SetWriteDeadline(time.Now().Add(noticeTimeout))
		nc.Write([]byte(notice + "\n"))
	}
	s.closeGracefully(nc)
}

func (s *Server) track(ln net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return false
	}
	s.lns[ln] = struct{}{}
	s.accepting.Add(1)
	return true
}

func (s *Server) untrack(ln net.Listener) {
	s.mu.Lock()
	delete(s.lns, ln)
	s.mu.Unlock()
	s.accepting.Done()
}

// stopAccepting closes the listeners, waits until every Serve loop has
// placed what it accepted, says what the rejection summaries still hold,
// and returns the connections being served: where a shutdown and a
// hand-over (handOver) begin alike. A connection that a loop registers
// after the snapshot stops by itself (trackConn).
func (s *Server) stopAccepting(handOver bool) []*conn {
	s.mu.Lock()
	s.handingOver = handOver
	s.closing.Store(true)
	for ln := range s.lns {
		ln.Close()
	}
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	// After this every accepted connection has its wg place: waiting
	// on wg then waits for it too.
	s.accepting.Wait()
	s.rejectLg.flush()
	s.sourceRejectLg.flush()
	return conns
}

// Shutdown stops accepting, sends every client the shutdown notice and
// closes its connection, and waits for them until ctx ends; then it closes
// whatever is left.
func (s *Server) Shutdown(ctx context.Context) error {
	conns := s.stopAccepting(false)
	for _, c := range conns {
		c.requestStop(ReasonShutdown, "")
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	for c := range s.conns {
		s.closeSocket(c.nc, &c.io)
	}
	s.mu.Unlock()
	<-done
	return ctx.Err()
}
