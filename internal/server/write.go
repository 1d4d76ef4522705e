package server

import "time"

// Writing answers, with the write timeout armed only when the socket's
// buffer is full.

// write sends b. A client that does not read must not hold the server up
// for more than write_timeout, but a deadline costs a timer update, so it
// is only set once a write would block: most writes go straight into the
// socket's buffer and need none. A client that never reads is dropped
// write_timeout after its buffers filled up.
func (c *conn) write(b []byte) error {
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
