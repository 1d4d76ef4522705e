package server

import (
	"io"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/chatd/chatd/internal/protocol"
	"github.com/chatd/chatd/internal/registry"
)

// A conn's life: registered on the accept loop, served by its own
// goroutine (read, answer, repeat), ended by closing.go.

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
	// uncounted: not counted against its source (see RestoreSourceUnknown).
	uncounted bool
	extra     *connExtra // nil until needed
}

// connExtra is the state only some connections need.
type connExtra struct {
	greeting []byte // sent first, then dropped
	// When the idle_timeout read deadline was last moved, and for which
	// timeout; see armIdleDeadline.
	idleAt  time.Time
	idleFor time.Duration
}

func newConn(s *Server, nc net.Conn) (*conn, error) {
	c := &conn{srv: s, nc: nc}
	if err := c.io.init(nc); err != nil {
		return nil, err
	}
	return c, nil
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

// start registers the connection and logs it; it runs on the accept loop's
// goroutine, before the connection's own starts (see conn).
func (c *conn) start() {
	s := c.srv
	c.client.Init(c, c.nc.RemoteAddr(), c.nc.LocalAddr(), time.Now())
	id := s.reg.Add(&c.client)
	if r := s.trackConn(c); r != "" {
		c.requestStop(r, "")
	}
	s.hold(c)
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

// panicked logs a panic that ended the connection's loop.
//
//go:noinline
func (c *conn) panicked(p any) (Reason, error) {
	c.srv.log.Error("panic while serving client; dropping it", "id", c.client.ID,
		"panic", fmtPanic(p), "stack", string(debug.Stack()))
	return ReasonPanic, nil
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
