//go:build unix

package fdstore

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// CloseHeld ends a connection that may also be referenced elsewhere (by a
// holder, or by the store): it shuts the socket down first, so that the peer
// sees the end even though a duplicate lives on, then closes it.
func CloseHeld(c net.Conn) error {
	if sc, ok := c.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			_ = rc.Control(func(fd uintptr) { _ = unix.Shutdown(int(fd), unix.SHUT_RDWR) })
		}
	}
	return c.Close()
}
