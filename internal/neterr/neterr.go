// Package neterr turns the errors of Go's net, os and net/http packages
// into the few words a person needs. Go wraps an errno in layers that each
// repeat what the caller's message already says ("dial unix /run/x:
// connect: connection refused"); a command's one-line message wants only
// the cause ("connection refused") after its own context.
package neterr

import (
	"errors"
	"io/fs"
	"net"
	"net/url"
	"os"
	"strings"
)

// Cause strips the *url.Error, *net.OpError, *os.SyscallError and
// *fs.PathError layers around err and returns what they wrap: for a failed
// dial, connect's errno. Errors of other types, and errors wrapped by
// fmt.Errorf around those layers, are returned as they are.
func Cause(err error) error {
	for {
		switch e := err.(type) {
		case *url.Error:
			err = e.Err
		case *net.OpError:
			if e.Err == nil {
				return err
			}
			err = e.Err
		case *os.SyscallError:
			err = e.Err
		case *fs.PathError:
			err = e.Err
		default:
			return err
		}
	}
}

// Text is the text of the innermost error err wraps, by any means: for a
// *net.OpError around an *os.SyscallError it is the errno text alone
// ("network is unreachable"). Some errors carry Go's "dial tcp ADDR: "
// prefix in their text rather than as a wrapper; Text drops it as well.
func Text(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			break
		}
		err = next
	}
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 && strings.HasPrefix(s, "dial ") {
		s = s[i+2:]
	}
	return s
}

// IsTimeout reports whether err, or an error it wraps, is a timeout: a
// deadline on a connection or a dial that ran out.
func IsTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
