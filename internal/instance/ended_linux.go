package instance

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// endedHere reports whether the connection behind nc was already ended by
// a chatd process: its write side is shut down (our FIN has gone) while the
// peer has not closed yet. That is a client chatd kicked, timed out or
// told it was shutting down, or one that sent the close phrase, which
// keeps its socket open: the holder in the descriptor store still
// references such a socket (a descriptor in flight cannot be taken out),
// so the next process gets it back, with a peer, and must not serve it,
// nor count it as lost.
func endedHere(nc net.Conn) bool {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	var state uint8
	var infoErr error
	if err := rc.Control(func(fd uintptr) {
		var info *unix.TCPInfo
		info, infoErr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
		if infoErr == nil {
			state = info.State
		}
	}); err != nil || infoErr != nil {
		return false
	}
	switch state {
	case unix.BPF_TCP_FIN_WAIT1, unix.BPF_TCP_FIN_WAIT2, unix.BPF_TCP_CLOSING,
		unix.BPF_TCP_LAST_ACK, unix.BPF_TCP_TIME_WAIT, unix.BPF_TCP_CLOSE:
		return true
	}
	return false
}
