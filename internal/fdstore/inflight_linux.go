package fdstore

import "golang.org/x/sys/unix"

// InflightLimited reports whether the kernel limits the descriptors this
// process keeps in flight in a holder: to RLIMIT_NOFILE, counted per user
// apart from the descriptors it has open (too_many_unix_fds in
// net/unix). Only CAP_SYS_RESOURCE or CAP_SYS_ADMIN in the effective set
// lifts that, not the user ID: root in chatd's unit, which grants no
// capabilities, is limited like anyone else.
func InflightLimited() bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData // version 3 fills two 32-bit halves
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return true
	}
	effective := uint64(data[1].Effective)<<32 | uint64(data[0].Effective)
	return !hasCapability(effective, unix.CAP_SYS_RESOURCE) && !hasCapability(effective, unix.CAP_SYS_ADMIN)
}

func hasCapability(set uint64, c int) bool { return set&(1<<uint(c)) != 0 }
