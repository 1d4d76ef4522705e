package server

import (
	"io"
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// rawIO reads and writes a connection's socket through its RawConn, with
// the runtime's poller doing the waiting. It is the connection's one way
// to its socket.
//
// Reading this way is what lets an idle client hold no read buffer: a
// buffer is taken from the pool for each read attempt and given back at
// once when there is nothing to read, before the goroutine parks; a read
// that got data keeps it until release. It also makes a read one read(2)
// call, as in a plain Read, instead of a readiness peek followed by the
// read. Both directions skip net.Conn's deeper call chain, which keeps the
// connection's goroutine on its minimal stack (see conn).
type rawIO struct {
	rc syscall.RawConn
	// fn is the RawConn callback: a write while out is not nil, else a
	// read. One closure serves both, allocated once.
	fn func(fd uintptr) bool

	buf *[]byte // the pooled read buffer, held from a read with data until release
	out []byte  // what the write in progress still has to send
	n   int32   // bytes the last read got
	// errno is the error of the last read(2) or write(2) call, kept as a
	// number: an error interface would make every idle conn 8 bytes larger.
	errno uint32
	// wait says whether a write waits for room in the socket's buffer
	// or returns with out not empty.
	wait bool
}

// init prepares r for nc. A connection without a descriptor of its own
// (TLS) is served on the stream path (see streamio.go).
func (r *rawIO) init(nc net.Conn) error {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	r.rc = rc
	r.fn = r.do
	return nil
}

func (r *rawIO) do(fd uintptr) bool {
	if r.out != nil {
		return r.writeSome(fd)
	}
	return r.readOnce(fd)
}

// read waits until the client sends something and reads it. It returns the
// data (valid until release), or io.EOF once the client has closed its
// side, or the error that ended the wait (a deadline, a closed
// connection) or the read.
func (r *rawIO) read(nc net.Conn) ([]byte, error) {
	if r.stream() {
		return r.streamRead(nc)
	}
	r.n, r.errno, r.out = 0, 0, nil
	if err := r.rc.Read(r.fn); err != nil {
		return nil, err
	}
	switch {
	case r.errno != 0:
		return nil, opError("read", nc, syscall.Errno(r.errno))
	case r.n == 0:
		return nil, io.EOF
	}
	return (*r.buf)[:r.n], nil
}

// readOnce is the RawConn read callback: false means "nothing to read yet,
// wait", and then the buffer goes back to the pool first.
func (r *rawIO) readOnce(fd uintptr) bool {
	if r.buf == nil {
		r.buf = readBufs.Get().(*[]byte)
	}
	for {
		n, err := unix.Read(int(fd), *r.buf)
		switch err {
		case nil:
			r.n = int32(n)
			return true
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			readBufs.Put(r.buf)
			r.buf = nil
			return false
		}
		r.errno = errnoOf(err)
		return true
	}
}

// release gives the read buffer back to the pool.
func (r *rawIO) release() {
	if r.stream() {
		r.releaseStream()
		return
	}
	if r.buf != nil {
		readBufs.Put(r.buf)
		r.buf = nil
	}
}

// write sends b. With wait it waits (within the write deadline) while the
// socket's buffer is full, until all is sent or the write fails; without,
// it returns as soon as the buffer is full, with out holding the rest. It
// returns how much it sent.
func (r *rawIO) write(nc net.Conn, b []byte, wait bool) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if r.stream() {
		return r.streamWrite(nc, b, wait)
	}
	r.out, r.errno, r.wait = b, 0, wait
	err := r.rc.Write(r.fn)
	n := len(b) - len(r.out)
	if err == nil && r.errno != 0 {
		err = opError("write", nc, syscall.Errno(r.errno))
	}
	if err != nil || wait || len(r.out) == 0 {
		r.out = nil // nil out is what makes fn read
	}
	return n, err
}

// writeSome is the RawConn write callback: false means "the socket's
// buffer is full, wait".
func (r *rawIO) writeSome(fd uintptr) bool {
	for len(r.out) > 0 {
		n, err := unix.Write(int(fd), r.out)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return !r.wait
		case err != nil:
			r.errno = errnoOf(err)
			return true
		case n == 0:
			r.errno = uint32(unix.EIO) // write(2) on a socket sends something or fails
			return true
		}
		r.out = r.out[n:]
	}
	return true
}

// errnoOf is the errno behind a failed read(2) or write(2).
func errnoOf(err error) uint32 {
	if e, ok := err.(syscall.Errno); ok {
		return uint32(e)
	}
	return uint32(unix.EIO)
}

// opError describes a failed read(2) or write(2) the way net.Conn does.
func opError(op string, nc net.Conn, errno syscall.Errno) error {
	return &net.OpError{Op: op, Net: nc.LocalAddr().Network(), Source: nc.LocalAddr(), Addr: nc.RemoteAddr(),
		Err: os.NewSyscallError(op, errno)}
}
