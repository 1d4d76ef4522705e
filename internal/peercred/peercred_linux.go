package peercred

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/user"
	"strconv"

	"golang.org/x/sys/unix"
)

func fromFD(fd int) (*Cred, error) {
	u, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil {
		return nil, fmt.Errorf("SO_PEERCRED: %w", err)
	}
	return &Cred{UID: u.Uid, GID: u.Gid, PID: int(u.Pid)}, nil
}

// supplementaryGroups reads the peer process's own groups from
// /proc/PID/status: exactly what the kernel checks that process's file
// access with, including groups it dropped or gained since login. The
// status must name the same effective uid as the socket credentials, so a
// process that exited and whose PID was reused is not mistaken for the
// peer. Without a PID (a peer in another PID namespace) or a readable /proc,
// it falls back to the user's groups in the system's user database.
func supplementaryGroups(c *Cred) ([]uint32, error) {
	if c.PID > 0 {
		status, err := os.ReadFile("/proc/" + strconv.Itoa(c.PID) + "/status")
		if err == nil {
			return groupsFromStatus(status, c.UID)
		}
	}
	return groupsOfUser(c.UID)
}

// groupsFromStatus parses the Uid: and Groups: lines of a /proc/PID/status
// file, checking that the effective uid (the second Uid: field) is uid.
func groupsFromStatus(status []byte, uid uint32) ([]uint32, error) {
	var groups []uint32
	uidSeen := false
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		key, rest, ok := bytes.Cut(sc.Bytes(), []byte(":"))
		if !ok {
			continue
		}
		fields := bytes.Fields(rest)
		switch string(key) {
		case "Uid":
			if len(fields) < 2 {
				return nil, fmt.Errorf("malformed Uid line in /proc status")
			}
			euid, err := strconv.ParseUint(string(fields[1]), 10, 32)
			if err != nil || uint32(euid) != uid {
				return nil, fmt.Errorf("peer process is gone (its PID now belongs to another user)")
			}
			uidSeen = true
		case "Groups":
			groups = make([]uint32, 0, len(fields))
			for _, f := range fields {
				g, err := strconv.ParseUint(string(f), 10, 32)
				if err != nil {
					return nil, fmt.Errorf("malformed Groups line in /proc status: %q", f)
				}
				groups = append(groups, uint32(g))
			}
		}
	}
	if !uidSeen {
		return nil, fmt.Errorf("no Uid line in /proc status")
	}
	if groups == nil {
		groups = []uint32{}
	}
	return groups, nil
}

// groupsOfUser lists the groups the user database gives uid.
func groupsOfUser(uid uint32) ([]uint32, error) {
	u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10))
	if err != nil {
		return nil, fmt.Errorf("groups of uid %d: %w", uid, err)
	}
	ids, err := u.GroupIds()
	if err != nil {
		return nil, fmt.Errorf("groups of user %s: %w", u.Username, err)
	}
	groups := make([]uint32, 0, len(ids))
	for _, id := range ids {
		if g, err := strconv.ParseUint(id, 10, 32); err == nil {
			groups = append(groups, uint32(g))
		}
	}
	return groups, nil
}
