package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/chatd/chatd/internal/handover"
)

// Restart survival: the server's side of keeping clients connected across a
// crash or a restart of chatd. A ConnHolder keeps a duplicate of every
// served socket outside the process (systemd's descriptor store, through
// fdstore.Holder), so the TCP connection outlives a crash; on a planned
// restart HandOver stops every connection between two reads and returns
// what the next process needs to go on where this one stopped; Restore is
// how the next process takes a connection back.

// ReasonHandover ends a connection in this process only: its socket and
// its state go to the next chatd. It is not a disconnect and is not
// counted as one.
const ReasonHandover Reason = "handover"

// ConnHolder keeps the sockets of served connections alive outside the
// process. Add is called once a connection is registered, Forget when it
// ends for good.
type ConnHolder interface {
	Add(id uint64, c syscall.Conn) error
	Forget(id uint64)
}

// SetHolder makes the server hold every connection it serves from now on
// in h. Call it before Serve and Restore.
func (s *Server) SetHolder(h ConnHolder) { s.holder = h }

// holdable reports whether nc's socket can live on in another process: a
// plain TCP socket (or a PROXY-protocol one wrapping it) can; a TLS
// session lives in this process only.
func holdable(nc net.Conn) (syscall.Conn, bool) {
	if _, isTLS := nc.(interface{ Handshake() error }); isTLS {
		return nil, false
	}
	sc, ok := nc.(syscall.Conn)
	return sc, ok
}

// hold adds a freshly registered connection to the holder.
func (s *Server) hold(c *conn) {
	if s.holder == nil {
		return
	}
	sc, ok := holdable(c.nc)
	if !ok {
		return
	}
	if err := s.holder.Add(c.client.ID, sc); err != nil {
		s.holdLg.warn("cannot hold the connection outside the process; it is served but would not survive a crash",
			"id", c.client.ID, "err", err.Error())
	}
}

// closeSocket closes a served connection's socket. When a holder keeps a
// duplicate, close(2) alone would not end the TCP connection, so the
// socket is shut down first and the client sees the end at once.
func (s *Server) closeSocket(nc net.Conn, r *rawIO) {
	if s.holder != nil && r != nil && r.rc != nil {
		r.rc.Control(func(fd uintptr) { unix.Shutdown(int(fd), unix.SHUT_RDWR) })
	}
	nc.Close()
}

// HandOver ends serving in this process without the clients noticing: it
// stops accepting, lets every connection finish answering what it has read
// and stop before its next read, and returns each connection's state. The
// sockets stay open in the holder, and this process closes only its own
// descriptors; without a holder they stay open (HandedSockets).
// Connections that cannot be held (TLS) get the shutdown notice and are
// closed. If ctx ends first, what is still busy is closed
// and left out.
func (s *Server) HandOver(ctx context.Context) ([]handover.Conn, error) {
	conns := s.stopAccepting(true)
	for _, c := range conns {
		if _, ok := holdable(c.nc); ok {
			c.requestStop(ReasonHandover, "")
		} else {
			c.requestStop(ReasonShutdown, "")
		}
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		s.mu.Lock()
		for c := range s.conns {
			c.nc.Close()
		}
		s.mu.Unlock()
		<-done
	}
	s.mu.Lock()
	handed := s.handed
	s.handed = nil
	s.mu.Unlock()
	return handed, err
}

// HandedSockets returns, after HandOver, the sockets of the handed-over
// connections by ID when no holder keeps them: they are still open, for
// the caller to pass on (a re-exec) and then close.
func (s *Server) HandedSockets() map[uint64]net.Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.handedSockets
}

// handOff records a connection that stopped for a hand-over and closes
// this process's descriptor of it, leaving the socket to the holder.
func (c *conn) handOff() {
	s := c.srv
	proto, _ := c.proto.MarshalBinary()
	var flags byte
	if c.midLine {
		flags |= flagMidLine
	}
	h := handover.Conn{
		ID:          c.client.ID,
		Remote:      addrText(c.nc.RemoteAddr()),
		Local:       addrText(c.nc.LocalAddr()),
		ConnectedAt: c.client.ConnectedAt,
		LastActive:  c.client.LastActive(),
		BytesIn:     c.client.BytesIn(),
		BytesOut:    c.client.BytesOut(),
		Protocol:    append([]byte{flags}, proto...),
	}
	// Behind a PROXY-protocol balancer the socket's peer is the balancer
	// and the client's address came in a header that is not sent again.
	if p, ok := c.nc.(interface{ PeerAddr() net.Addr }); ok {
		h.Client, h.Remote = h.Remote, addrText(p.PeerAddr())
	}
	s.mu.Lock()
	s.handed = append(s.handed, h)
	if s.holder == nil {
		// Nobody else holds the socket: it stays open for a re-exec.
		if s.handedSockets == nil {
			s.handedSockets = map[uint64]net.Conn{}
		}
		s.handedSockets[c.client.ID] = c.nc
	}
	s.mu.Unlock()
	c.io.release()
	if s.holder != nil {
		c.nc.Close() // the holder keeps its duplicate
	}
	s.reg.Remove(c.client.ID)
	s.active.Add(-1)
}

// flagMidLine in the first byte of a handed-over protocol state: the last
// byte sent was not a newline (see conn.midLine).
const flagMidLine = 1 << 0

func addrText(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

// ErrIDTaken is returned by Restore for a connection whose ID is in use.
var ErrIDTaken = errors.New("client ID already in use")

// Restore serves a connection taken over from an earlier chatd process,
// under its old ID and with what that process knew of it (st.ID at least;
// a crash leaves only that). It registers and holds the connection before
// its first read, and counts it against its source (nc.RemoteAddr: the
// client's address, restored from the hand-over behind a PROXY-protocol
// balancer), beyond the limit too: the client stays, and the next one
// from its source is refused while it is there. On error nothing was
// registered or counted and nc is the caller's to close (CloseLost).
func (s *Server) Restore(nc net.Conn, st handover.Conn) error {
	return s.restore(nc, st, true)
}

// RestoreSourceUnknown is Restore for a connection whose source is not
// known: after a crash behind a PROXY-protocol balancer only the socket is
// left, its peer is the balancer, and counting the balancer's clients
// against the balancer would refuse its own health checks.
func (s *Server) RestoreSourceUnknown(nc net.Conn, st handover.Conn) error {
	return s.restore(nc, st, false)
}

func (s *Server) restore(nc net.Conn, st handover.Conn, countSource bool) error {
	if st.ID == 0 {
		return errors.New("restore: connection without an ID")
	}
	if nc.RemoteAddr() == nil || nc.LocalAddr() == nil {
		return fmt.Errorf("restore client %d: the connection has no peer any more", st.ID)
	}
	c, err := newConn(s, nc)
	if err != nil {
		return fmt.Errorf("restore client %d: %w", st.ID, err)
	}
	if len(st.Protocol) > 0 {
		if err := c.proto.UnmarshalBinary(st.Protocol[1:]); err != nil {
			return fmt.Errorf("restore client %d: %w", st.ID, err)
		}
		c.midLine = st.Protocol[0]&flagMidLine != 0
	}
	connected := st.ConnectedAt
	if connected.IsZero() {
		connected = time.Now()
	}
	c.client.Init(c, nc.RemoteAddr(), nc.LocalAddr(), connected)
	c.client.ID = st.ID
	c.client.Restore(st.BytesIn, st.BytesOut, st.LastActive)
	if !s.reg.AddRestored(&c.client) {
		return fmt.Errorf("restore client %d: %w", st.ID, ErrIDTaken)
	}
	if countSource {
		s.sources.Add(c.client.RemoteAddr)
	} else {
		c.uncounted = true
	}
	s.wg.Add(1)
	s.active.Add(1)
	if r := s.trackConn(c); r != "" {
		c.requestStop(r, "")
	}
	s.hold(c)
	s.stats.Restored.Add(1)
	go c.serve()
	return nil
}

// CloseLost tells a connection taken over without a usable record that
// chatd cannot go on with it (the shutdown notice) and closes it.
func (s *Server) CloseLost(nc net.Conn) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.reject(nc, expand(s.settings.Load().ShutdownNote, 0, ""))
	}()
}

// Stopped reports whether Shutdown or HandOver has begun.
func (s *Server) Stopped() bool { return s.closing.Load() }
