package listen

import (
	"net"
)

// PeerAddr is the address of the socket's own peer under c: for a
// connection that came through a load balancer, the balancer, while
// c.RemoteAddr() is the client the PROXY header named. It looks through
// wrappers that expose PeerAddr or NetConn (as *tls.Conn and PROXY
// connections do).
func PeerAddr(c net.Conn) net.Addr {
	for {
		if p, ok := c.(interface{ PeerAddr() net.Addr }); ok {
			return p.PeerAddr()
		}
		n, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			return c.RemoteAddr()
		}
		c = n.NetConn()
	}
}

// TCPConn is the socket under c, through the same wrappers, for what
// needs the descriptor itself (handing it to a restarted process).
func TCPConn(c net.Conn) (*net.TCPConn, bool) {
	for {
		if tc, ok := c.(*net.TCPConn); ok {
			return tc, true
		}
		n, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			return nil, false
		}
		c = n.NetConn()
	}
}
