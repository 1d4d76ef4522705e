package server

import (
	"errors"
	"os"
	"time"
)

// Deadlines: the idle timeout, the write timeout and the stop request
// that wakes a connection's goroutine all work through the socket's read
// and write deadlines, which the goroutine and a stopper set concurrently.

// stopRequest is why the server itself is ending a connection.
type stopRequest struct {
	reason Reason
	note   string // kick reason from the operator
}

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

// keepStopDeadline puts back the short write deadline of a stop request
// that came while the deadline was being moved (see requestStop).
func (c *conn) keepStopDeadline() {
	if c.stop.Load() != nil {
		c.nc.SetWriteDeadline(time.Now().Add(noticeTimeout))
	}
}
