package server

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sysRead is read(2) on fd into a non-empty b, returning the errno as is
// (no error interface to box and compare on every message).
func sysRead(fd uintptr, b []byte) (int, syscall.Errno) {
	n, _, errno := unix.Syscall(unix.SYS_READ, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	return int(n), errno
}

// sysWrite is write(2) of a non-empty b on fd.
func sysWrite(fd uintptr, b []byte) (int, syscall.Errno) {
	n, _, errno := unix.Syscall(unix.SYS_WRITE, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	return int(n), errno
}
