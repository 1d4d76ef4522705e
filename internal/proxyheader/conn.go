package proxyheader

import (
	"net"
)

// Conn is a connection that came through a trusted load balancer: the
// socket itself, with RemoteAddr the client the PROXY header named.
// Everything else (reads, writes, deadlines, CloseWrite, SyscallConn) is
// the socket's, with nothing buffered in between.
type Conn struct {
	*net.TCPConn
	client net.Addr
}

// Restore rebuilds a Conn for a socket whose header was read before (by
// an earlier process, before a restart handed the socket over).
func Restore(socket *net.TCPConn, client net.Addr) *Conn {
	return &Conn{TCPConn: socket, client: client}
}

// RemoteAddr is the client's address as the PROXY header gave it.
func (c *Conn) RemoteAddr() net.Addr { return c.client }

// PeerAddr is the socket's own peer: the load balancer.
func (c *Conn) PeerAddr() net.Addr { return c.TCPConn.RemoteAddr() }

// NetConn is the socket, as *tls.Conn's NetConn is.
func (c *Conn) NetConn() net.Conn { return c.TCPConn }
