package adminclient

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/chatd/chatd/internal/neterr"
)

// transportError turns a failure to talk to the socket into one line that
// says what is wrong and what to do.
func (c *Client) transportError(err error) error {
	switch {
	case errors.Is(err, syscall.ENOENT):
		return fmt.Errorf("cannot reach chatd at %s: no such file (is chatd running?)", c.socket)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("cannot reach chatd at %s: connection refused (chatd is not running; the socket is left over)", c.socket)
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return &PermissionError{Message: "permission denied: run as root or as a member of group " + c.socketGroup()}
	case errors.Is(err, syscall.ENOTSOCK):
		return fmt.Errorf("cannot reach chatd at %s: not a socket", c.socket)
	case errors.Is(err, context.DeadlineExceeded), neterr.IsTimeout(err):
		return fmt.Errorf("chatd at %s did not answer in time", c.socket)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("cancelled")
	}
	return fmt.Errorf("cannot reach chatd at %s: %v", c.socket, neterr.Cause(err))
}

// socketGroup names the group whose members may use the socket: the
// configured one if known, else the socket's own group (chatd sets it to
// admin.group), else its directory's. It says "chatd", the service's
// group, when none of those can be read or the group is root's.
func (c *Client) socketGroup() string {
	if c.Group != "" {
		return c.Group
	}
	for _, p := range []string{c.socket, filepath.Dir(c.socket)} {
		fi, err := os.Stat(p)
		if err != nil {
			continue
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok || st.Gid == 0 {
			break
		}
		if g, err := user.LookupGroupId(strconv.FormatUint(uint64(st.Gid), 10)); err == nil {
			return g.Name
		}
		break
	}
	return "chatd"
}
