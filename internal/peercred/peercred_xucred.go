//go:build darwin || freebsd

package peercred

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// fromFD reads LOCAL_PEERCRED, whose xucred carries the peer's effective
// uid and its groups (the effective gid first), exactly as they were when
// the peer connected.
func fromFD(fd int) (*Cred, error) {
	x, err := unix.GetsockoptXucred(fd, unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
	if err != nil {
		return nil, fmt.Errorf("LOCAL_PEERCRED: %w", err)
	}
	n := max(0, min(int(x.Ngroups), len(x.Groups)))
	c := &Cred{UID: x.Uid, groups: append([]uint32{}, x.Groups[:n]...)}
	if n > 0 {
		c.GID = x.Groups[0]
	}
	c.PID = peerPID(fd)
	return c, nil
}

func supplementaryGroups(c *Cred) ([]uint32, error) { return c.groups, nil }
