//go:build !linux

package server

import "golang.org/x/sys/unix"

// peekReadable reports whether fd has data, EOF or a pending error, without
// consuming anything. A socket error (a reset) counts as readable and is
// returned.
func peekReadable(fd int) (bool, error) {
	var b [1]byte
	_, _, err := unix.Recvfrom(fd, b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
	switch err {
	case nil:
		return true, nil
	case unix.EAGAIN:
		return false, nil
	}
	return true, err
}
