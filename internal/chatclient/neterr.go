package chatclient

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"syscall"
	"time"
)

// dialErrorText turns an error from dialing addr into the part of the
// one-line message after "cannot connect to ADDR: ", without Go's
// "dial tcp 1.2.3.4:5:" prefixes.
func dialErrorText(err error, timeout time.Duration) string {
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused (is chatd running?)"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset by server"
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || isTimeout(err):
		if timeout > 0 {
			return "timed out after " + timeout.String()
		}
		return "timed out"
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return "unknown host " + quote(dnsErr.Name)
		}
		return "cannot look up host " + quote(dnsErr.Name) + ": " + dnsErr.Err
	}
	return innermost(err)
}

// connErrorText describes an error on an established connection.
func connErrorText(err error) string {
	switch {
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset by server"
	case errors.Is(err, syscall.EPIPE):
		return "connection closed by server"
	case errors.Is(err, syscall.ETIMEDOUT) || isTimeout(err):
		return "connection timed out"
	}
	return "connection lost: " + innermost(err)
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// innermost returns the text of the deepest wrapped error: for a
// *net.OpError around an *os.SyscallError that is the errno text alone
// ("network is unreachable").
func innermost(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			break
		}
		err = next
	}
	s := err.Error()
	// Some errors are not wrapped but still carry the prefix in their text.
	if i := strings.LastIndex(s, ": "); i >= 0 && strings.HasPrefix(s, "dial ") {
		s = s[i+2:]
	}
	return s
}

func quote(s string) string { return `"` + s + `"` }
