// Package baseline is the yardstick chatd is measured against: a bare echo
// server that answers each read with its ASCII uppercase form. It has no
// registry, no logging and no admin interface, so whatever chatd costs on
// top of it is chatd's own overhead.
package baseline

import (
	"errors"
	"net"
	"time"

	"github.com/chatd/chatd/internal/protocol"
)

// BufSize is the per-connection read buffer.
const BufSize = 32 << 10

// Serve accepts connections on ln until ln is closed, serving each in its
// own goroutine. It returns nil once ln is closed.
func Serve(ln net.Listener) error {
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			// Out of file descriptors and the like: wait a little and go
			// on rather than die, as net/http does.
			var ne net.Error
			if errors.As(err, &ne) || isTemporary(err) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		go handle(c)
	}
}

func isTemporary(err error) bool {
	t, ok := err.(interface{ Temporary() bool })
	return ok && t.Temporary()
}

func handle(c net.Conn) {
	defer c.Close()
	buf := make([]byte, BufSize)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			Upper(buf[:n])
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// Upper turns a–z into A–Z in place and leaves every other byte alone.
//
// It is chatd's own ASCII routine (eight bytes at a time): a yardstick that
// uppercased byte by byte would be slower than chatd on large messages and
// flatter it, and one that had its own copy could drift from it.
func Upper(b []byte) {
	for len(b) > 0 {
		_, n := protocol.AppendUpperASCII(b[:0], b) // in place, up to a non-ASCII byte
		b = b[min(n+1, len(b)):]                    // which is left alone
	}
}
