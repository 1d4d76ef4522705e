package server

import (
	"errors"
	"io"
	"net"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/chatd/chatd/internal/protocol"
	"github.com/chatd/chatd/internal/registry"
)

const (
	// readBufSize is the most read in one go; it is borrowed from a pool
	// only while data is being answered, never while a client is idle.
	readBufSize = 32 << 10
	// noticeTimeout bounds the write of a notice to a closing connection.
	noticeTimeout = 2 * time.Second
	// lingerTimeout bounds how long a closing connection waits for the
	// client's own FIN after ours.
	lingerTimeout = 2 * time.Second
	// minLingering is the fewest closing connections that may wait for
	// their client's FIN at once (see lingerThenClose).
	minLingering = 1024
	// lingerMaxBytes bounds what a closing connection reads and discards.
	lingerMaxBytes = 1 << 20
)

var (
	readBufs = sync.Pool{New: func() any { b := make([]byte, readBufSize); return &b }}
	outBufs  = sync.Pool{New: func() any { b := make([]byte, 0, readBufSize+readBufSize/2); return &b }}
)

// stopRequest is why the server itself is ending a connection.
type stopRequest struct {
	reason Reason
	note   string // kick reason from the operator
}

// conn is one client connection.
//
// Its goroutine must stay shallow: an idle connection costs little more
// than its goroutine's stack, and that stack stays at the runtime's
// minimum (2 KiB) only if everything the goroutine runs while the client
// is connected — waiting, reading, answering — fits in it, and if it parks
// at a small depth (the runtime sizes new stacks from the average depth of
// the parked ones). So the connect-time work (registration, the connect
// log line) runs on the accept loop's goroutine, and the end-of-life work
// (the disconnect log line, linger) only once the loop has returned.
// TestIdleConnectionStackStaysSmall guards this.
//
// Every idle connection holds one, so it is kept small (224 bytes, a size
// class of its own); what most connections never need is in connExtra.
type conn struct {
	srv    *Server
	nc     net.Conn
	client registry.Client
	stop   atomic.Pointer[stopRequest]
	io     rawIO
	proto  protocol.Stream // close-phrase progress and held bytes, inline
	// midLine: the last byte sent was not a newline, so a notice needs one
	// first.
	midLine bool
	extra   *connExtra // nil until needed
}

// connExtra is the state only some connections need.
type connExtra struct {
	greeting []byte // sent first, then dropped
	// When the idle_timeout read deadline was last moved, and for which
	// timeout; see armIdleDeadline.
	idleAt  time.Time
	idleFor time.Duration
}

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{srv: s, nc: nc}
	c.io.init(nc)
	return c
}

// more returns the connection's connExtra, creating it if need be.
func (c *conn) more() *connExtra {
	if c.extra == nil {
		c.extra = &connExtra{}
	}
	return c.extra
}

// Kick implements registry.Kicker.
func (c *conn) Kick(reason string) { c.requestStop(ReasonKicked, reason) }

// requestStop asks the connection's goroutine to end the connection. It
// wakes the goroutine from a wait for data and shortens a pending write to
// a non-reading client, so that the stop takes effect promptly. The first
// request wins.
func (c *conn) requestStop(reason Reason, note string) {
	if !c.stop.CompareAndSwap(nil, &stopRequest{reason: reason, note: note}) {
		return
	}
	// The flag is set before the deadlines move, and serve sets its own
	// deadlines before it checks the flag: whichever runs second, the
	// short deadline below is the one in force.
	c.nc.SetReadDeadline(aLongTimeAgo)
	c.nc.SetWriteDeadline(time.Now().Add(noticeTimeout))
}

var aLongTimeAgo = time.Unix(1, 0)

// start registers the connection and logs it; it runs on the accept loop's
// goroutine, before the connection's own starts (see conn).
func (c *conn) start() {
	s := c.srv
	c.client.Init(c, c.nc.RemoteAddr(), c.nc.LocalAddr(), time.Now())
	id := s.reg.Add(&c.client)
	if s.closing.Load() {
		c.requestStop(ReasonShutdown, "")
	}
	if st := s.settings.Load(); st.Greeting != "" {
		c.more().greeting = []byte(expand(st.Greeting, id, "") + "\n")
	}
	s.log.Info("client connected", "id", id, "remote", c.client.RemoteAddr.String())
}

// serve is the connection's goroutine: it answers until the connection
// ends, then unregisters it.
func (c *conn) serve() {
	reason, err := c.loop()
	c.end(reason, err)
}

// end closes the connection for reason, counts and logs it, and
// unregisters it.
func (c *conn) end(reason Reason, err error) {
	s := c.srv
	defer s.conns.Done()
	c.finish(reason)

	// Count and log before unregistering: whoever sees the client gone
	// from the registry also sees its final figures.
	s.stats.addClosed(reason, c.client.BytesIn(), c.client.BytesOut())
	attrs := []any{"id", c.client.ID, "remote", c.client.RemoteAddr.String(),
		"duration", time.Since(c.client.ConnectedAt).Round(time.Millisecond).String(),
		"bytes_in", c.client.BytesIn(), "bytes_out", c.client.BytesOut(), "reason", string(reason)}
	if err != nil {
		attrs = append(attrs, "err", err.Error())
	}
	s.log.Info("client disconnected", attrs...)
	s.reg.Remove(c.client.ID)
	// From here on the connection is only closing: it no longer holds a
	// max_clients place, or a client that sends the close phrase and keeps
	// its socket open could fill the server with connections nobody sees.
	// Closing connections are bounded on their own (see lingerThenClose).
	s.active.Add(-1)
	if reason == ReasonClosePhrase || serverEnded(reason) {
		s.lingerThenClose(c.nc)
	}
}

// loop reads and answers until the connection ends and says why. A panic
// while serving turns into a disconnect of this client alone.
func (c *conn) loop() (reason Reason, err error) {
	defer func() {
		if p := recover(); p != nil {
			reason, err = c.panicked(p)
		}
	}()
	if c.extra != nil && c.extra.greeting != nil {
		err := c.write(c.extra.greeting)
		c.extra.greeting = nil
		if err != nil {
			return c.writeFailure(err)
		}
	}
	for {
		if c.stop.Load() != nil {
			return c.stopReason(), nil
		}
		if st := c.srv.settings.Load(); st.IdleTimeout > 0 || c.extra != nil && c.extra.idleFor != 0 {
			c.armIdleDeadline(st.IdleTimeout)
		}
		// Wait for data without holding a buffer: an idle client costs
		// no read buffer at all.
		data, rerr := c.io.read(c.nc)
		if len(data) > 0 {
			c.client.AddIn(len(data), time.Now())
			if onRead != nil {
				onRead(data)
			}
			closed, werr := c.answer(data)
			c.io.release()
			if werr != nil {
				return c.writeFailure(werr)
			}
			if closed {
				return ReasonClosePhrase, nil
			}
			continue
		}
		c.io.release()
		switch {
		case rerr == io.EOF:
			if werr := c.flushHeld(); werr != nil {
				return c.writeFailure(werr)
			}
			return ReasonEOF, nil
		case rerr == nil:
			continue
		case c.idleExtended(rerr):
			continue
		}
		return c.readFailure(rerr)
	}
}

// panicked logs a panic that ended the connection's loop.
//
//go:noinline
func (c *conn) panicked(p any) (Reason, error) {
	c.srv.log.Error("panic while serving client; dropping it", "id", c.client.ID,
		"panic", fmtPanic(p), "stack", string(debug.Stack()))
	return ReasonPanic, nil
}

// armIdleDeadline keeps a read deadline of idle_timeout after the last data
// read. Moving a deadline costs a timer update, so it is moved only when it
// was set more than idle/8 ago; one that then fires early is extended by
// idleExtended rather than ending the connection. idle 0 clears it.
func (c *conn) armIdleDeadline(idle time.Duration) {
	x := c.more()
	if idle <= 0 {
		if x.idleFor != 0 {
			x.idleFor = 0
			c.nc.SetReadDeadline(time.Time{})
			c.keepStopReadDeadline()
		}
		return
	}
	now := time.Now()
	if idle == x.idleFor && now.Sub(x.idleAt) < idle/8 {
		return
	}
	x.idleAt, x.idleFor = now, idle
	c.nc.SetReadDeadline(now.Add(idle))
	c.keepStopReadDeadline()
}

// idleExtended reports whether err is an idle deadline that fired before
// idle_timeout had passed since the last data, and if so moves the
// deadline to where it belongs.
func (c *conn) idleExtended(err error) bool {
	x := c.extra
	if x == nil || x.idleFor <= 0 || c.stop.Load() != nil || !errors.Is(err, os.ErrDeadlineExceeded) {
		return false
	}
	now := time.Now()
	due := c.client.LastActive().Add(x.idleFor)
	if !now.Before(due) {
		return false
	}
	x.idleAt = now
	c.nc.SetReadDeadline(due)
	c.keepStopReadDeadline()
	return true
}

// keepStopReadDeadline puts back the past read deadline of a stop request
// that came while the deadline was being moved (see requestStop).
func (c *conn) keepStopReadDeadline() {
	if c.stop.Load() != nil {
		c.nc.SetReadDeadline(aLongTimeAgo)
	}
}

// answer writes the answer to data (see protocol.Stream.Reply); closed
// means data completed the close phrase.
func (c *conn) answer(data []byte) (closed bool, err error) {
	op := outBufs.Get().(*[]byte)
	out, closed := c.proto.Reply((*op)[:0], data)
	if len(out) > 0 {
		err = c.write(out)
	}
	if cap(out) <= 4*readBufSize {
		*op = out[:0]
		outBufs.Put(op)
	}
	return closed, err
}

// flushHeld sends the bytes of a cut UTF-8 character that were held for
// their continuation, unchanged: the stream ends without it.
func (c *conn) flushHeld() error {
	if c.proto.Held() == 0 {
		return nil
	}
	var buf [utf8.UTFMax]byte
	return c.write(c.proto.End(buf[:0]))
}

// write sends b. A client that does not read must not hold the server up
// for more than write_timeout, but a deadline costs a timer update, so it
// is only set once a write would block: most writes go straight into the
// socket's buffer and need none. A client that never reads is dropped
// write_timeout after its buffers filled up.
func (c *conn) write(b []byte) error {
	if c.io.rc == nil {
		if wt := c.srv.settings.Load().WriteTimeout; wt > 0 {
			c.nc.SetWriteDeadline(time.Now().Add(wt))
			c.keepStopDeadline()
		}
		n, err := c.nc.Write(b)
		c.sent(b[:n])
		return err
	}
	n, err := c.io.write(c.nc, b, false)
	if err == nil && len(c.io.out) > 0 {
		// The socket's buffer is full: wait, within the deadline.
		wt := c.srv.settings.Load().WriteTimeout
		if wt > 0 {
			c.nc.SetWriteDeadline(time.Now().Add(wt))
			c.keepStopDeadline()
		}
		var m int
		m, err = c.io.write(c.nc, c.io.out, true)
		n += m
		if wt > 0 && err == nil {
			c.nc.SetWriteDeadline(time.Time{})
			c.keepStopDeadline()
		}
	}
	c.io.out = nil
	c.sent(b[:n])
	return err
}

// sent counts bytes that went out and remembers how the last one ended.
func (c *conn) sent(b []byte) {
	if len(b) > 0 {
		c.client.AddOut(len(b))
		c.midLine = b[len(b)-1] != '\n'
	}
}

// keepStopDeadline puts back the short write deadline of a stop request
// that came while the deadline was being moved (see requestStop).
func (c *conn) keepStopDeadline() {
	if c.stop.Load() != nil {
		c.nc.SetWriteDeadline(time.Now().Add(noticeTimeout))
	}
}

func (c *conn) stopReason() Reason {
	if r := c.stop.Load(); r != nil {
		return r.reason
	}
	return ""
}

// readFailure classifies a failed wait or read.
func (c *conn) readFailure(err error) (Reason, error) {
	if r := c.stop.Load(); r != nil {
		return r.reason, nil
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return ReasonIdleTimeout, nil
	}
	if errors.Is(err, io.EOF) {
		return ReasonEOF, nil
	}
	return ReasonReset, err
}

// writeFailure classifies a failed write.
func (c *conn) writeFailure(err error) (Reason, error) {
	if r := c.stop.Load(); r != nil {
		return r.reason, nil
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return ReasonWriteTimeout, nil
	}
	return ReasonReset, err
}

// finish sends what the client is still owed and closes the connection:
// gracefully (FIN) when the client is still there to read, at once when it
// is not. When the server ends the connection itself, the client is owed
// the held bytes of a cut character (unchanged: no continuation will come)
// and the notice that goes with the reason, on a line of its own so that a
// client can tell it from its own answers.
func (c *conn) finish(reason Reason) {
	if serverEnded(reason) {
		var msg []byte
		msg = c.proto.End(msg)
		midLine := c.midLine || len(msg) > 0 // held bytes are never a newline
		if notice := c.notice(reason); notice != "" {
			if midLine {
				msg = append(msg, '\n')
			}
			msg = append(append(msg, notice...), '\n')
		}
		if len(msg) > 0 {
			c.nc.SetWriteDeadline(time.Now().Add(noticeTimeout))
			n, _ := c.nc.Write(msg)
			c.client.AddOut(n)
		}
	}
	if reason == ReasonClosePhrase || serverEnded(reason) {
		// Our FIN goes now; linger (after unregistering) waits for the
		// client's, so that its unread bytes cannot turn our close into a
		// reset that would destroy the replies still in flight.
		if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
			return
		}
	}
	c.nc.Close()
}

// serverEnded reports whether the server ends connections for reason of
// its own accord while the client is still there to read.
func serverEnded(reason Reason) bool {
	return reason == ReasonKicked || reason == ReasonShutdown || reason == ReasonIdleTimeout
}

// notice is the line that tells the client why the server ends its
// connection, or "" for none.
func (c *conn) notice(reason Reason) string {
	st := c.srv.settings.Load()
	switch reason {
	case ReasonKicked:
		note := ""
		if r := c.stop.Load(); r != nil {
			note = r.note
		}
		return expand(st.KickNotice, c.client.ID, note)
	case ReasonShutdown:
		return expand(st.ShutdownNote, c.client.ID, "")
	case ReasonIdleTimeout:
		return expand(st.IdleNotice, c.client.ID, "")
	}
	return ""
}

// closeGracefully half-closes nc, waits briefly for the peer's FIN, and
// closes it.
func (s *Server) closeGracefully(nc net.Conn) {
	if cw, ok := nc.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	s.lingerThenClose(nc)
}

// lingerThenClose reads and discards until the client closes its side or
// a short timeout passes, then closes nc; our FIN has gone already. The
// wait is what keeps the client's unread bytes from turning our close into
// a reset that would destroy the last answers or the notice in flight.
//
// Lingering connections do not count against max_clients; they are bounded
// on their own, to max_clients or minLingering, whichever is more. Beyond
// that a connection is closed at once: a flood of clients that close and
// keep their sockets open can cost itself its last answers, but cannot
// hold descriptors and goroutines without limit.
func (s *Server) lingerThenClose(nc net.Conn) {
	defer nc.Close()
	limit := max(int64(s.settings.Load().MaxClients), s.minLingering)
	if s.lingering.Add(1) > limit {
		s.lingering.Add(-1)
		s.stats.LingerSkipped.Add(1)
		return
	}
	defer s.lingering.Add(-1)
	nc.SetReadDeadline(time.Now().Add(s.lingerFor))
	discardUntilEOF(nc)
}

func discardUntilEOF(nc net.Conn) {
	bp := readBufs.Get().(*[]byte)
	defer readBufs.Put(bp)
	total := 0
	for total < lingerMaxBytes {
		n, err := nc.Read(*bp)
		total += n
		if err != nil {
			return
		}
	}
}

// expand fills {id} and {reason} in a notice.
func expand(tmpl string, id uint64, reason string) string {
	if !strings.Contains(tmpl, "{") {
		return tmpl
	}
	if reason == "" {
		reason = "no reason given"
	}
	return strings.NewReplacer("{id}", strconv.FormatUint(id, 10), "{reason}", reason).Replace(tmpl)
}

func fmtPanic(p any) string {
	if e, ok := p.(error); ok {
		return e.Error()
	}
	if s, ok := p.(string); ok {
		return s
	}
	return "non-error panic value"
}

// isFDExhaustion reports whether an accept failed for lack of descriptors.
func isFDExhaustion(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)
}
