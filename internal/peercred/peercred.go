// Package peercred tells who is at the other end of a Unix domain socket
// connection, as the kernel recorded it when the peer connected: its user,
// group, process and supplementary groups. The admin API authorizes every
// request with it. Linux uses SO_PEERCRED; macOS and FreeBSD use
// LOCAL_PEERCRED.
package peercred

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"syscall"
)

// ErrUnsupported is returned on platforms without a peer credentials API.
var ErrUnsupported = errors.New("peer credentials are not supported on this platform")

// Cred is the identity of a Unix socket peer.
type Cred struct {
	UID uint32
	GID uint32 // primary (effective) group
	PID int    // 0 when the platform does not say

	// groups are the peer's supplementary groups when the kernel reports
	// them with the credentials (BSD, macOS); nil means "look them up".
	groups []uint32
}

// Get returns the credentials of c's peer. c must be a Unix socket
// connection (anything with a SyscallConn, like *net.UnixConn).
func Get(c net.Conn) (*Cred, error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil, fmt.Errorf("peer credentials: %T is not a socket", c)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("peer credentials: %w", err)
	}
	var cred *Cred
	var credErr error
	if err := rc.Control(func(fd uintptr) { cred, credErr = fromFD(int(fd)) }); err != nil {
		return nil, fmt.Errorf("peer credentials: %w", err)
	}
	if credErr != nil {
		return nil, fmt.Errorf("peer credentials: %w", credErr)
	}
	return cred, nil
}

// InGroup reports whether the peer is a member of group gid, as its
// primary group or a supplementary one.
func (c *Cred) InGroup(gid uint32) (bool, error) {
	if c.GID == gid {
		return true, nil
	}
	groups := c.groups
	if groups == nil {
		var err error
		if groups, err = supplementaryGroups(c); err != nil {
			return false, err
		}
	}
	return slices.Contains(groups, gid), nil
}
