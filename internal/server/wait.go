package server

import (
	"net"
	"syscall"
)

// readWaiter blocks until a connection has something to read (data, EOF or
// an error) without holding a read buffer, using the runtime's poller
// through the connection's RawConn. This is what keeps an idle client down
// to a goroutine and a few hundred bytes.
type readWaiter struct {
	rc    syscall.RawConn
	ready func(fd uintptr) bool // allocated once, not per wait
	// err is the socket error the peek found. The kernel reports a
	// pending error (ECONNRESET) once and clears it, so the peek must
	// pass it on: the Read after it would only see EOF.
	err error
}

func (w *readWaiter) init(nc net.Conn) {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	w.rc = rc
	// Peek at one byte without consuming it. "Would block" means nothing
	// is there yet: return false and the poller parks us until the socket
	// becomes readable. Anything else (data, EOF, an error) is for the
	// real Read to report.
	w.ready = func(fd uintptr) bool {
		var ok bool
		ok, w.err = peekReadable(int(fd))
		return ok
	}
}

// wait returns when a Read would not block, or with the error (a deadline,
// a closed connection) that ended the wait. Connections without a RawConn
// return at once and block in Read instead.
func (w *readWaiter) wait() error {
	if w.rc == nil {
		return nil
	}
	if err := w.rc.Read(w.ready); err != nil {
		return err
	}
	err := w.err
	w.err = nil
	return err
}
