package load

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// bindAddressNoPort lets connect(), not bind(), pick the local port, so a
// port is unique per 4-tuple rather than per local address.
func bindAddressNoPort(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
	})
	if err != nil {
		return err
	}
	return serr
}
