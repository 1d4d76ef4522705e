package admin

import (
	"os/user"
	"strconv"
	"testing"
)

// someGroup returns an existing group of this system, other than root's.
func someGroup(t *testing.T) (string, uint32) {
	t.Helper()
	for _, name := range []string{"daemon", "bin", "sys", "adm", "users", "staff", "nogroup", "nobody"} {
		g, err := user.LookupGroup(name)
		if err != nil {
			continue
		}
		gid, err := strconv.ParseUint(g.Gid, 10, 32)
		if err == nil && gid != 0 {
			return name, uint32(gid)
		}
	}
	t.Skip("no usable group on this system")
	return "", 0
}
