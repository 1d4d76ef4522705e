package admin

import (
	"context"
	"fmt"
	"os/user"
	"strconv"

	"github.com/chatd/chatd/internal/peercred"
)

// policy says who may use the admin API: root, the daemon's own user, and
// the members of the admin group, if one is configured.
type policy struct {
	selfUID   uint32
	group     string // "" when admin.group is not set
	gid       uint32
	denyUsage string // what the 403 tells the caller to do instead
}

func newPolicy(selfUID uint32, group string) (policy, error) {
	p := policy{selfUID: selfUID, group: group}
	if group != "" {
		gid, err := lookupGroup(group)
		if err != nil {
			return policy{}, err
		}
		p.gid = gid
		p.denyUsage = "permission denied: run as root or as a member of group " + group
	} else {
		p.denyUsage = "permission denied: run as root"
		if selfUID != 0 {
			p.denyUsage += " or as " + userName(selfUID) + " (the user chatd runs as)"
		}
		// Say what is configured: a hint naming a group would send the
		// caller to join one that lets nobody in.
		p.denyUsage += " (admin.group is not set)"
	}
	return p, nil
}

// lookupGroup resolves a group name (or a numeric gid) to its gid.
func lookupGroup(name string) (uint32, error) {
	g, err := user.LookupGroup(name)
	if err != nil {
		if _, numeric := strconv.ParseUint(name, 10, 32); numeric == nil {
			g, err = user.LookupGroupId(name)
		}
	}
	if err != nil {
		return 0, fmt.Errorf("admin.group %q: no such group", name)
	}
	gid, err := strconv.ParseUint(g.Gid, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("admin.group %q: unusable gid %q", name, g.Gid)
	}
	return uint32(gid), nil
}

func userName(uid uint32) string {
	if u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10)); err == nil {
		return "user " + u.Username
	}
	return "uid " + strconv.FormatUint(uint64(uid), 10)
}

// allows reports whether the peer may use the API.
func (p policy) allows(c *peercred.Cred) (bool, error) {
	if c.UID == 0 || c.UID == p.selfUID {
		return true, nil
	}
	if p.group == "" {
		return false, nil
	}
	return c.InGroup(p.gid)
}

// credKey is the context key of a connection's peer credentials.
type credKey struct{}

type peer struct {
	cred *peercred.Cred
	err  error
}

func withPeer(ctx context.Context, p peer) context.Context {
	return context.WithValue(ctx, credKey{}, p)
}

func peerOf(ctx context.Context) peer {
	p, ok := ctx.Value(credKey{}).(peer)
	if !ok {
		return peer{err: fmt.Errorf("no peer credentials on this connection")}
	}
	return p
}

// sameProcess tells whether two peers are one process (PID 0 where the
// platform does not say: then one user's connections count as one
// process; peers chatd cannot identify count as one too).
func (p peer) sameProcess(q peer) bool {
	if p.cred == nil || q.cred == nil {
		return p.cred == nil && q.cred == nil
	}
	return p.cred.UID == q.cred.UID && p.cred.PID == q.cred.PID
}
