//go:build !linux

package server

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// sysRead is read(2) on fd into b.
func sysRead(fd uintptr, b []byte) (int, syscall.Errno) {
	n, err := unix.Read(int(fd), b)
	return n, errnoOf(err)
}

// sysWrite is write(2) of b on fd.
func sysWrite(fd uintptr, b []byte) (int, syscall.Errno) {
	n, err := unix.Write(int(fd), b)
	return n, errnoOf(err)
}

func errnoOf(err error) syscall.Errno {
	if err == nil {
		return 0
	}
	if e, ok := err.(syscall.Errno); ok {
		return e
	}
	return unix.EIO
}
