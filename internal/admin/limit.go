package admin

import (
	"net"
	"sync"
)

// maxConns bounds the admin connections served at once, so that a local
// client opening connections in a loop costs the daemon a bounded number
// of descriptors and goroutines. Beyond it, new connections wait in the
// listen backlog until one ends (ReadHeaderTimeout and IdleTimeout make
// sure one does).
const maxConns = 32

// limitListener is a Unix listener that has at most n connections open.
// Its connections stay *net.UnixConn underneath, so that their peer
// credentials can be read.
type limitListener struct {
	*net.UnixListener
	slots     chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

func newLimitListener(ln *net.UnixListener, n int) *limitListener {
	return &limitListener{UnixListener: ln, slots: make(chan struct{}, n), done: make(chan struct{})}
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.AcceptUnix()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &limitedConn{UnixConn: c, release: sync.OnceFunc(func() { <-l.slots })}, nil
}

func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.UnixListener.Close()
}

type limitedConn struct {
	*net.UnixConn
	release func()
}

func (c *limitedConn) Close() error {
	err := c.UnixConn.Close()
	c.release()
	return err
}
