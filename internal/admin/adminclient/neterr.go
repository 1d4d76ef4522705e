package adminclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/chatd/chatd/internal/neterr"
	"github.com/chatd/chatd/internal/sockettrust"
)

// transportError turns a failure to talk to the socket into one line that
// says what is wrong and what to do.
func (c *Client) transportError(err error) error {
	// The command that leads to the socket said why it failed: that is
	// the reason, whatever net/http made of the connection's end.
	var ce *CommandError
	if errors.As(err, &ce) {
		return ce
	}
	var ue *sockettrust.UntrustedError
	if errors.As(err, &ue) {
		return ue
	}
	switch {
	case errors.Is(err, syscall.ENOENT):
		return fmt.Errorf("cannot reach chatd at %s: no such file (is chatd running?)", c.socket)
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ENOTSOCK):
		// Connecting to a path that is not a socket is refused too: say
		// what is there instead of blaming a chatd that is not running.
		if what := c.notSocket(); what != "" {
			return fmt.Errorf("cannot reach chatd: %s is not a socket (it is %s)", c.socket, what)
		}
		if errors.Is(err, syscall.ENOTSOCK) {
			return fmt.Errorf("cannot reach chatd: %s is not a socket", c.socket)
		}
		return fmt.Errorf("cannot reach chatd at %s: connection refused (chatd is not running; the socket is left over)", c.socket)
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return &PermissionError{Message: c.permissionDenied()}
	case errors.Is(err, syscall.EAGAIN):
		// A Unix socket whose queue of connections not yet accepted is
		// full refuses more at once with EAGAIN. (Go counts EAGAIN as a
		// timeout, hence before the timeout case.)
		return fmt.Errorf("chatd at %s is busy: too many connections are waiting on its admin socket; try again", c.socket)
	case errors.Is(err, context.DeadlineExceeded), neterr.IsTimeout(err):
		return fmt.Errorf("chatd%s did not answer in time", c.at())
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("cancelled")
	case strings.Contains(err.Error(), "malformed HTTP"):
		// net/http has no type for this: the peer answered, but not in HTTP.
		return &NotAdminAPIError{Socket: c.socket, What: "it did not answer in HTTP"}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNRESET),
		// net/http's name (no exported type) for a peer that closed
		// before its first answer byte, when it saw the close before
		// the request went out: the same end, seen a moment earlier.
		strings.Contains(err.Error(), "server closed idle connection"):
		return fmt.Errorf("cannot reach chatd%s: the connection was closed without an answer (is it chatd's admin socket?)", c.at())
	}
	return fmt.Errorf("cannot reach chatd%s: %v", c.at(), neterr.Cause(err))
}

// at is " at SOCKET" for messages; "" for a client made by NewCommand,
// whose caller names the host the command leads to.
func (c *Client) at() string {
	if c.viaCommand {
		return ""
	}
	return " at " + c.socket
}

// notSocket says what is at the socket's path when it is there and not a
// socket ("a directory", "a regular file"), else "".
func (c *Client) notSocket() string {
	fi, err := os.Stat(c.socket)
	if err != nil {
		return ""
	}
	switch m := fi.Mode(); {
	case m&fs.ModeSocket != 0:
		return ""
	case m.IsDir():
		return "a directory"
	case m.IsRegular():
		return "a regular file"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "not a socket"
}

// permissionDenied says who may use the socket, as far as chatctl can
// tell: the configured admin.group when it knows the configuration, else
// the group chatd gave the socket (or its directory), else the user who
// owns it. It never names a group that nothing configured.
func (c *Client) permissionDenied() string {
	if c.Group != "" {
		return "permission denied: run as root or as a member of group " + c.Group
	}
	var owner uint32
	var owned string // the path owner owns
	ownerKnown := false
	for _, p := range []string{c.socket, filepath.Dir(c.socket)} {
		fi, err := os.Stat(p)
		if err != nil {
			continue
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			break
		}
		if !ownerKnown {
			owner, owned, ownerKnown = st.Uid, p, true
		}
		// chatd gives its socket (and a directory it makes) admin.group:
		// without the configuration, that group is the best witness.
		if !c.GroupKnown && st.Gid != 0 && fi.Mode()&0o070 != 0 {
			if g, err := user.LookupGroupId(strconv.FormatUint(uint64(st.Gid), 10)); err == nil {
				return "permission denied: run as root or as a member of group " + g.Name
			}
		}
	}
	msg := "permission denied: run as root"
	switch {
	case ownerKnown && owner != 0:
		msg += " or as " + sockettrust.Describe(owner) + ", who owns " + owned
	case !ownerKnown:
		msg += " or as the user chatd runs as"
	}
	if c.GroupKnown {
		msg += " (admin.group is not set)"
	}
	return msg
}

// isTransportError reports whether an error met while reading an answer
// came from the connection (or the caller's context) rather than from
// the answer's content.
func isTransportError(err error) bool {
	var ne net.Error
	var errno syscall.Errno
	return errors.As(err, &ne) || errors.As(err, &errno) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
