package service

import (
	"os"
	"strconv"
	"strings"

	kservice "github.com/kardianos/service"
)

// Platform is the service manager chatd would be installed under.
type Platform struct {
	// Name is kardianos' name for it: linux-systemd, darwin-launchd,
	// linux-openrc, unix-systemv, …; "" when there is none.
	Name string
	// Usable reports that the service manager is actually running here.
	Usable bool
	// Why explains an unusable platform in one line, which starts by
	// saying there is no service manager.
	Why string
}

// Detect finds the service manager. kardianos falls back to SysV scripts
// on any Linux, so a SysV platform counts only when PID 1 is an init that
// runs them; a container whose PID 1 is a shell has no service manager.
func Detect() Platform {
	name := kservice.Platform()
	switch {
	case name == "":
		return Platform{Why: "no supported service manager on this operating system"}
	case name == "unix-systemv":
		pid1 := processName(1)
		if pid1 != "init" {
			return Platform{Name: name, Why: "no service manager is running (PID 1 is " + orUnknown(pid1) + ", not init or systemd)"}
		}
		if _, err := os.Stat("/etc/init.d"); err != nil {
			return Platform{Name: name, Why: "no service manager is running (PID 1 is init, but /etc/init.d is missing)"}
		}
	}
	return Platform{Name: name, Usable: true}
}

// processName is /proc/PID/comm, or "" where there is no /proc.
func processName(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// ServiceFile is where the platform keeps chatd's service definition, or
// "" if it is not known.
func (p Platform) ServiceFile() string {
	switch p.Name {
	case "linux-systemd":
		return "/etc/systemd/system/" + Name + ".service"
	case "darwin-launchd":
		return "/Library/LaunchDaemons/" + Name + ".plist"
	case "unix-systemv", "linux-openrc":
		return "/etc/init.d/" + Name
	case "linux-upstart":
		return "/etc/init/" + Name + ".conf"
	}
	return ""
}
