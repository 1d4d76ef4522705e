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

	"github.com/chatd/chatd/internal/phrase"
	"github.com/chatd/chatd/internal/registry"
	"github.com/chatd/chatd/internal/upcase"
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
type conn struct {
	srv    *Server
	nc     net.Conn
	client registry.Client
	stop   atomic.Pointer[stopRequest]
	up     *upcase.Stream
	scan   *phrase.Scanner
	wait   readWaiter
}

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{srv: s, nc: nc, up: upcase.New(), scan: phrase.New(phrase.Close)}
	c.wait.init(nc)
	return c
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

// serve answers the connection until it ends, then unregisters it.
func (c *conn) serve() {
	s := c.srv
	now := time.Now()
	c.client.Init(c, c.nc.RemoteAddr(), c.nc.LocalAddr(), now)
	id := s.reg.Add(&c.client)
	if s.closing.Load() {
		c.requestStop(ReasonShutdown, "")
	}
	s.log.Info("client connected", "id", id, "remote", c.client.RemoteAddr.String())

	reason, err := c.safeLoop()
	c.finish(reason)

	// Count and log before unregistering: whoever sees the client gone
	// from the registry also sees its final figures.
	s.stats.addClosed(reason, c.client.BytesIn(), c.client.BytesOut())
	attrs := []any{"id", id, "remote", c.client.RemoteAddr.String(),
		"duration", time.Since(now).Round(time.Millisecond).String(),
		"bytes_in", c.client.BytesIn(), "bytes_out", c.client.BytesOut(), "reason", string(reason)}
	if err != nil {
		attrs = append(attrs, "err", err.Error())
	}
	s.log.Info("client disconnected", attrs...)
	s.reg.Remove(id)
	if reason == ReasonClosePhrase || reason == ReasonKicked || reason == ReasonShutdown {
		c.linger()
	}
}

// safeLoop runs loop and turns a panic into a disconnect of this client
// alone.
func (c *conn) safeLoop() (reason Reason, err error) {
	defer func() {
		if p := recover(); p != nil {
			c.srv.log.Error("panic while serving client; dropping it", "id", c.client.ID,
				"panic", fmtPanic(p), "stack", string(debug.Stack()))
			reason, err = ReasonPanic, nil
		}
	}()
	return c.loop()
}

// loop reads and answers until the connection ends and says why.
func (c *conn) loop() (Reason, error) {
	st := c.srv.settings.Load()
	if st.Greeting != "" {
		if err := c.write([]byte(expand(st.Greeting, c.client.ID, "") + "\n")); err != nil {
			return c.writeFailure(err)
		}
	}
	for {
		st = c.srv.settings.Load()
		if st.IdleTimeout > 0 {
			c.nc.SetReadDeadline(time.Now().Add(st.IdleTimeout))
		}
		if c.stop.Load() != nil {
			return c.stopReason(), nil
		}
		// Wait without holding a buffer: an idle client costs no read
		// buffer at all.
		if err := c.wait.wait(); err != nil {
			return c.readFailure(err)
		}
		reason, err, done := c.readAndAnswer()
		if done {
			return reason, err
		}
	}
}

// readAndAnswer reads what is available and answers it. done reports that
// the connection has ended, for the reason given.
func (c *conn) readAndAnswer() (reason Reason, err error, done bool) {
	bp := readBufs.Get().(*[]byte)
	defer readBufs.Put(bp)
	buf := *bp
	for {
		n, rerr := c.nc.Read(buf)
		if n > 0 {
			c.client.AddIn(n, time.Now())
			if onRead != nil {
				onRead(buf[:n])
			}
			earlier, now, found := c.scan.Feed(buf[:n])
			if werr := c.answer(earlier, now, found); werr != nil {
				r, e := c.writeFailure(werr)
				return r, e, true
			}
			if found {
				return ReasonClosePhrase, nil, true
			}
		}
		if rerr != nil {
			if errors.Is(rerr, io.EOF) {
				if werr := c.answer(c.scan.Flush(), nil, true); werr != nil {
					r, e := c.writeFailure(werr)
					return r, e, true
				}
				return ReasonEOF, nil, true
			}
			r, e := c.readFailure(rerr)
			return r, e, true
		}
		if n < len(buf) {
			// Drained what was there; go back to waiting without a buffer.
			return "", nil, false
		}
	}
}

// answer writes the uppercase form of earlier followed by now. final means
// the stream ends here: a cut UTF-8 character is passed through as is.
func (c *conn) answer(earlier, now []byte, final bool) error {
	if len(earlier) == 0 && c.up.Pending() == 0 && upcase.IsASCII(now) {
		// The common case: answer in place, no copy.
		upcase.UpperASCIIInPlace(now)
		if len(now) == 0 {
			return nil
		}
		return c.write(now)
	}
	op := outBufs.Get().(*[]byte)
	out := c.up.Append((*op)[:0], earlier)
	out = c.up.Append(out, now)
	if final {
		out = c.up.Flush(out)
	}
	var err error
	if len(out) > 0 {
		err = c.write(out)
	}
	if cap(out) <= 4*readBufSize {
		*op = out[:0]
		outBufs.Put(op)
	}
	return err
}

// write sends b within the write timeout.
func (c *conn) write(b []byte) error {
	st := c.srv.settings.Load()
	if st.WriteTimeout > 0 {
		c.nc.SetWriteDeadline(time.Now().Add(st.WriteTimeout))
	}
	n, err := c.nc.Write(b)
	c.client.AddOut(n)
	return err
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

// finish sends the notice that goes with the reason, if any, and closes the
// connection: gracefully (FIN) when the client is still there to read,
// at once when it is not.
func (c *conn) finish(reason Reason) {
	st := c.srv.settings.Load()
	var notice string
	switch reason {
	case ReasonKicked:
		note := ""
		if r := c.stop.Load(); r != nil {
			note = r.note
		}
		notice = expand(st.KickNotice, c.client.ID, note)
	case ReasonShutdown:
		notice = expand(st.ShutdownNote, c.client.ID, "")
	}
	if notice != "" {
		c.nc.SetWriteDeadline(time.Now().Add(noticeTimeout))
		n, _ := c.nc.Write([]byte(notice + "\n"))
		c.client.AddOut(n)
	}
	switch reason {
	case ReasonClosePhrase, ReasonKicked, ReasonShutdown:
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

// linger reads and discards until the client closes its side or a short
// timeout passes, then closes the connection.
func (c *conn) linger() {
	defer c.nc.Close()
	c.nc.SetReadDeadline(time.Now().Add(lingerTimeout))
	discardUntilEOF(c.nc)
}

// closeGracefully half-closes nc, waits briefly for the peer's FIN, and
// closes it.
func closeGracefully(nc net.Conn) {
	defer nc.Close()
	if cw, ok := nc.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	nc.SetReadDeadline(time.Now().Add(lingerTimeout))
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
