package server

import (
	"crypto/tls"
	"net"
	"sync"
)

// The stream path: connections with no socket of their own to read and
// write, such as a *tls.Conn (its bytes must go through the TLS record
// layer), are served through net.Conn's Read and Write instead of the raw
// descriptor. The wire behaviour is the same; the differences are inside:
//
//   - A read waits with a buffer in hand (Read needs one to wait), so an
//     idle connection holds a streamBufSize buffer, not nothing. It is
//     the size of one TLS record's plaintext, the most one Read returns.
//   - Whether a write would block cannot be seen before it is made, so
//     every write runs under write_timeout's deadline.
//
// A rawIO is on this path when its rc is nil.

// streamBufSize is a TLS record's largest plaintext.
const streamBufSize = 16 << 10

var streamBufs = sync.Pool{New: func() any { b := make([]byte, streamBufSize); return &b }}

// stream reports whether r reads and writes through net.Conn.
func (r *rawIO) stream() bool { return r.rc == nil }

// streamRead waits for data and reads it, like read on the raw path.
func (r *rawIO) streamRead(nc net.Conn) ([]byte, error) {
	r.out = nil
	if r.buf == nil {
		r.buf = streamBufs.Get().(*[]byte)
	}
	n, err := nc.Read(*r.buf)
	if n > 0 {
		// Data with an error: the data now, the error again on the
		// next Read (Read's errors past the data are sticky).
		return (*r.buf)[:n], nil
	}
	r.releaseStream()
	return nil, err
}

// releaseStream gives a stream read buffer back to its pool.
func (r *rawIO) releaseStream() {
	if r.buf != nil {
		streamBufs.Put(r.buf)
		r.buf = nil
	}
}

// streamWrite is write on the stream path. Without wait it sends nothing
// and leaves all of b in out, as a raw write into a full socket buffer
// would: the caller then arms the write deadline and writes with wait.
func (r *rawIO) streamWrite(nc net.Conn, b []byte, wait bool) (int, error) {
	if !wait {
		r.out = b
		return 0, nil
	}
	r.out = nil
	return nc.Write(b)
}

// closeWrite sends the connection's end of stream and reports whether it
// could (false: the connection must simply be closed). On a TLS
// connection that is the close_notify alert and then the TCP FIN under
// it: the alert alone leaves a client that waits for the FIN hanging.
func closeWrite(nc net.Conn) bool {
	cw, ok := nc.(interface{ CloseWrite() error })
	if !ok {
		return false
	}
	cw.CloseWrite()
	if tc, ok := nc.(*tls.Conn); ok {
		if inner, ok := tc.NetConn().(interface{ CloseWrite() error }); ok {
			inner.CloseWrite()
		}
	}
	return true
}
