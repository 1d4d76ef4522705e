package proxyheader

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"

	proxyproto "github.com/pires/go-proxyproto"
	"golang.org/x/sys/unix"
)

// Sizes from the PROXY protocol specification.
const (
	maxV1Len   = 107 // "PROXY UNKNOWN ffff:…:ffff ffff:…:ffff 65535 65535\r\n"
	v2FixedLen = 16  // signature, version/command, family, length
	peekLen    = maxV1Len + 1
)

// maxV2Body is the longest v2 address block plus TLVs chatd takes: the
// parser's own bound (4 KiB: room for the addresses and a client
// certificate TLV), checked here from the length field so that a larger
// header is refused at its 16th byte instead of being waited for and
// read. The specification allows up to 64 KiB.
var maxV2Body = int(proxyproto.MaxV2HeaderSize)

// The v2 header's 13th and 14th bytes.
const (
	v2Version  = 0x20 // high nibble of the 13th byte
	v2CmdLocal = 0x0
	v2CmdProxy = 0x1
	v2Unspec   = 0x00 // the 14th byte: address family and transport both unspecified
)

var (
	sigV1 = []byte("PROXY")
	sigV2 = []byte("\r\n\r\n\x00\r\nQUIT\n")
)

// Errors a trusted peer's connection is closed with (wrapped).
var (
	ErrNoHeader      = errors.New("no PROXY header from a trusted peer")
	ErrBadHeader     = errors.New("malformed PROXY header")
	ErrHeaderTooLong = fmt.Errorf("%w: longer than chatd accepts", ErrBadHeader)
	ErrUntrusted     = errors.New("peer is not a trusted proxy")
	ErrClosedEarly   = errors.New("peer closed before its PROXY header was complete")
	ErrHeaderTimeout = errors.New("PROXY header not complete in time")
)

// ReadHeader reads the PROXY header at the start of c, taking exactly the
// header's bytes off the socket, and returns the client's address (the
// peer's own for a LOCAL or UNKNOWN header). It gives up when ctx ends or
// c's read deadline passes.
func ReadHeader(ctx context.Context, c *net.TCPConn) (net.Addr, error) {
	raw, err := readRaw(ctx, c)
	if err != nil {
		return nil, err
	}
	return parseHeader(raw, c.RemoteAddr())
}

// parseHeader parses one whole header, raw, from peer.
func parseHeader(raw []byte, peer net.Addr) (net.Addr, error) {
	if isV2ProxyUnspec(raw) {
		// A PROXY command for a connection the balancer cannot describe
		// (the specification leaves it to the receiver to serve it at the
		// balancer's address or refuse it). The library refuses it; chatd
		// serves it as it serves LOCAL, and skips the address block and
		// TLVs, which the specification says carry nothing to trust.
		return peer, nil
	}
	// bufio's smallest buffer is 16 bytes; the header is in it whole, as
	// the library's v1 parser requires.
	br := bufio.NewReaderSize(bytes.NewReader(raw), max(len(raw), 16))
	h, err := proxyproto.Read(br)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadHeader, err)
	}
	if br.Buffered() != 0 {
		return nil, fmt.Errorf("%w: %d bytes left after the header", ErrBadHeader, br.Buffered())
	}
	return clientAddr(h, peer)
}

// readRaw takes the header's bytes, and no more, off the socket. It peeks
// until it can tell the header's length; the bytes of a header that is not
// complete yet are all header, so they are taken off the socket before
// waiting for more (a peek at data already there would not wait, and
// could not see the peer close).
func readRaw(ctx context.Context, c *net.TCPConn) ([]byte, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("read PROXY header: %w", err)
	}
	var acc []byte // header bytes already taken off the socket
	buf := make([]byte, peekLen)
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrHeaderTimeout, err)
		}
		n, err := peek(rc, buf[:peekLen-len(acc)])
		if err != nil {
			return nil, readErr(err)
		}
		if n == 0 {
			return nil, ErrClosedEarly
		}
		got := append(acc[:len(acc):len(acc)], buf[:n]...)
		need, complete, err := parseLen(got)
		if err != nil {
			return nil, err
		}
		if complete {
			raw := make([]byte, need)
			copy(raw, acc)
			if _, err := io.ReadFull(c, raw[len(acc):]); err != nil {
				return nil, readErr(err)
			}
			return raw, nil
		}
		if _, err := io.ReadFull(c, buf[:n]); err != nil {
			return nil, readErr(err)
		}
		acc = got
	}
}

func clientAddr(h *proxyproto.Header, peer net.Addr) (net.Addr, error) {
	if h.Command.IsLocal() || h.TransportProtocol == proxyproto.UNSPEC {
		return peer, nil
	}
	src, _, ok := h.TCPAddrs()
	if !ok {
		return nil, fmt.Errorf("%w: not a TCP connection (%v)", ErrBadHeader, h.TransportProtocol)
	}
	return src, nil
}

// isV2ProxyUnspec reports a v2 header with the PROXY command and the
// UNSPEC family.
func isV2ProxyUnspec(raw []byte) bool {
	return len(raw) >= v2FixedLen && bytes.HasPrefix(raw, sigV2) &&
		raw[12] == v2Version|v2CmdProxy && raw[13] == v2Unspec
}

// parseLen says how long the header starting in got is, once it can tell.
// A v2 header is judged by its 16 fixed bytes alone: a version or command
// that does not exist, or a length beyond maxV2Body, is refused before
// anything after them is read.
func parseLen(got []byte) (need int, complete bool, err error) {
	switch {
	case bytes.HasPrefix(got, sigV2):
		if len(got) < v2FixedLen {
			return 0, false, nil
		}
		if got[12]&0xf0 != v2Version {
			return 0, false, fmt.Errorf("%w: version %d, want 2", ErrBadHeader, got[12]>>4)
		}
		if cmd := got[12] & 0x0f; cmd != v2CmdLocal && cmd != v2CmdProxy {
			return 0, false, fmt.Errorf("%w: command %#x, want LOCAL or PROXY", ErrBadHeader, cmd)
		}
		body := int(got[14])<<8 | int(got[15])
		if body > maxV2Body {
			return 0, false, fmt.Errorf("%w: declares %d bytes after the fixed 16, at most %d taken", ErrHeaderTooLong, body, maxV2Body)
		}
		return v2FixedLen + body, true, nil
	case bytes.HasPrefix(got, sigV1):
		// Only a newline within the longest line the spec allows ends
		// a header: one further on is past a line already too long.
		if i := bytes.IndexByte(got[:min(len(got), maxV1Len)], '\n'); i >= 0 {
			return i + 1, true, nil
		}
		if len(got) >= maxV1Len {
			return 0, false, fmt.Errorf("%w: v1 line longer than %d bytes", ErrBadHeader, maxV1Len)
		}
		return 0, false, nil
	case bytes.HasPrefix(sigV2, got) || bytes.HasPrefix(sigV1, got):
		return 0, false, nil // a signature's start: wait for the rest
	}
	return 0, false, ErrNoHeader
}

// peek waits (with the runtime's poller, under the socket's deadline) for
// data and copies what has arrived into buf without taking it.
func peek(rc syscall.RawConn, buf []byte) (int, error) {
	var n int
	var serr error
	err := rc.Read(func(fd uintptr) bool {
		for {
			n, _, serr = unix.Recvfrom(int(fd), buf, unix.MSG_PEEK)
			if serr != unix.EINTR {
				break
			}
		}
		return serr != unix.EAGAIN
	})
	if err != nil {
		return 0, err
	}
	if serr != nil {
		return 0, os.NewSyscallError("recvfrom", serr)
	}
	return n, nil
}

func readErr(err error) error {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return ErrHeaderTimeout
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return ErrClosedEarly
	}
	return fmt.Errorf("read PROXY header: %w", err)
}
