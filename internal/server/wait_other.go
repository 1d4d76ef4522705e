//go:build !linux

package server

import "golang.org/x/sys/unix"

// peekReadable reports whether fd has data, EOF or a pending error, without
// consuming anything: errors other than "would block" count as readable,
// for Read to report.
func peekReadable(fd int) bool {
	var b [1]byte
	_, _, err := unix.Recvfrom(fd, b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
	switch err {
	case nil:
		return true
	case unix.EAGAIN:
		return false
	}
	return true
}
