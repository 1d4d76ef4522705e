// Package sysunit tells which system service (systemd unit) a process
// runs in, from its cgroup: chatd names the service when the service is
// what holds something another chatd wants, and knows whether it is the
// service itself.
package sysunit

import (
	"os"
	"strconv"
	"strings"
)

// Of is the system service the process pid runs in ("chatd.service"), or
// "" when it runs in none or this system cannot tell (no /proc).
func Of(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return ""
	}
	return ofCgroup(string(b))
}

// Self is the system service this process runs in, or "".
func Self() string { return Of(os.Getpid()) }

// ofCgroup reads the system service out of /proc/PID/cgroup's text
// ("0::/system.slice/chatd.service"; one line per hierarchy under cgroup
// v1).
func ofCgroup(cgroup string) string {
	for _, line := range strings.Split(cgroup, "\n") {
		_, path, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		if _, path, ok = strings.Cut(path, ":"); !ok {
			continue
		}
		// A system service: /system.slice/NAME.service, perhaps with a
		// sub-cgroup of its own, and below the cgroup of whatever runs
		// the system's systemd when that is not PID 1 of the machine (a
		// container, a test's sandbox). A user's services sit under
		// user.slice, inside user@UID.service, where there is no
		// system.slice: not a service of the system's.
		i := strings.LastIndex(path, "/system.slice/")
		if i < 0 {
			continue
		}
		if unit, _, _ := strings.Cut(path[i+len("/system.slice/"):], "/"); strings.HasSuffix(unit, ".service") {
			return unit
		}
	}
	return ""
}
