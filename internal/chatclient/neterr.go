package chatclient

import (
	"context"
	"errors"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/chatd/chatd/internal/neterr"
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
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || neterr.IsTimeout(err):
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
	return neterr.Text(err)
}

// connErrorText describes an error on an established connection.
func connErrorText(err error) string {
	switch {
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset by server"
	case errors.Is(err, syscall.EPIPE):
		return "connection closed by server"
	case errors.Is(err, syscall.ETIMEDOUT) || neterr.IsTimeout(err):
		return "connection timed out"
	}
	return "connection lost: " + neterr.Text(err)
}

func quote(s string) string { return `"` + s + `"` }
