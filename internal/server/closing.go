package server

import (
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// Closing: why a connection ended, what the client is still owed, and
// the graceful close that keeps the last answers from being reset.

// stopReason is why the server asked the connection to stop, or "".
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

// end closes the connection for reason, counts and logs it, and
// unregisters it.
func (c *conn) end(reason Reason, err error) {
	s := c.srv
	defer s.forgetConn(c)
	if reason == ReasonHandover {
		c.handOff()
		return
	}
	if s.holder != nil {
		s.holder.Forget(c.client.ID)
	}
	c.finish(reason)
	// A stop requested from now on (by Shutdown, which sees the conn until
	// it is closed) must not cut short the wait for the client's FIN.
	c.stop.CompareAndSwap(nil, &stopRequest{reason: reason})

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
	if !c.uncounted {
		s.releaseSource(c.client.RemoteAddr)
	}
	if reason == ReasonClosePhrase || serverEnded(reason) {
		s.lingerThenClose(c.nc, &c.io)
	}
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
			n, _ := c.io.write(c.nc, msg, true)
			c.sent(msg[:n])
		}
	}
	if reason == ReasonClosePhrase || serverEnded(reason) {
		// Our FIN goes now; linger (after unregistering) waits for the
		// client's, so that its unread bytes cannot turn our close into a
		// reset that would destroy the replies still in flight.
		if closeWrite(c.nc) {
			return
		}
	}
	c.srv.closeSocket(c.nc, &c.io)
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
	var r rawIO
	if err := r.init(nc); err != nil {
		nc.Close()
		return
	}
	closeWrite(nc)
	s.lingerThenClose(nc, &r)
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
func (s *Server) lingerThenClose(nc net.Conn, r *rawIO) {
	defer s.closeSocket(nc, r)
	limit := max(int64(s.settings.Load().MaxClients), s.minLingering)
	if s.lingering.Add(1) > limit {
		s.lingering.Add(-1)
		s.stats.LingerSkipped.Add(1)
		return
	}
	defer s.lingering.Add(-1)
	nc.SetReadDeadline(time.Now().Add(s.lingerFor))
	for total := 0; total < lingerMaxBytes; {
		data, err := r.read(nc)
		total += len(data)
		r.release()
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
