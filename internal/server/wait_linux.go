package server

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// peekReadable reports whether fd has data, EOF or a pending error, without
// consuming anything. A socket error (a reset) counts as readable and is
// returned. It makes the recvfrom call directly so that no
// sockaddr buffer is allocated per wait.
func peekReadable(fd int) (bool, error) {
	var b [1]byte
	_, _, errno := unix.Syscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), 1,
		unix.MSG_PEEK|unix.MSG_DONTWAIT, 0, 0)
	switch errno {
	case 0:
		return true, nil
	case unix.EAGAIN:
		return false, nil
	}
	return true, errno
}
