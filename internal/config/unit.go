package config

import (
	"bufio"
	"errors"
	"os"
	"strconv"
	"strings"
	"time"
)

// Unit is what chatd needs to know of the systemd unit that runs it.
type Unit struct {
	Path string
	// StopTimeout is TimeoutStopSec: how long systemd waits after SIGTERM
	// before it kills the service; HasStopTimeout is false when the unit
	// does not set it or sets it to infinity.
	StopTimeout    time.Duration
	HasStopTimeout bool
	// User and Group are User= and Group=: whom the service runs as ("":
	// root, and the user's own group).
	User, Group string
	// StateDirectories and RuntimeDirectories are StateDirectory= and
	// RuntimeDirectory= as absolute paths (/var/lib/NAME, /run/NAME):
	// systemd makes them the service's own.
	StateDirectories, RuntimeDirectories []string
	// Hidden are the directories the unit's sandbox hides from the
	// service (ProtectHome=, PrivateTmp=): a file there is not the file
	// the service would read, or is not there at all for it.
	Hidden []HiddenDir
}

// HiddenDir is a directory a unit hides from its service, and the
// setting that does.
type HiddenDir struct{ Dir, By string }

// ReadUnit reads the settings above from a systemd unit file. A later
// setting of a key overrides an earlier one, as in systemd.
func ReadUnit(path string) (Unit, error) {
	f, err := os.Open(path)
	if err != nil {
		return Unit{}, err
	}
	defer f.Close()
	u := Unit{Path: path}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, found := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !found {
			continue
		}
		value = strings.TrimSpace(value)
		switch strings.TrimSpace(name) {
		case "TimeoutStopSec":
			if u.StopTimeout, u.HasStopTimeout, err = timeSpan(value); err != nil {
				return u, err
			}
		case "User":
			u.User = value
		case "Group":
			u.Group = value
		case "StateDirectory":
			u.StateDirectories = under("/var/lib", value)
		case "RuntimeDirectory":
			u.RuntimeDirectories = under("/run", value)
		case "ProtectHome":
			// read-only still lets the service read them.
			u.Hidden = hide(u.Hidden, "ProtectHome=", value, yes(value) || value == "tmpfs", "/home", "/root", "/run/user")
		case "PrivateTmp":
			u.Hidden = hide(u.Hidden, "PrivateTmp=", value, yes(value), "/tmp", "/var/tmp")
		}
	}
	return u, sc.Err()
}

// hide sets (or, for a later "no", clears) the directories one sandbox
// setting hides.
func hide(hidden []HiddenDir, setting, value string, on bool, dirs ...string) []HiddenDir {
	kept := hidden[:0:0]
	for _, h := range hidden {
		if !strings.HasPrefix(h.By, setting) {
			kept = append(kept, h)
		}
	}
	if on {
		for _, d := range dirs {
			kept = append(kept, HiddenDir{Dir: d, By: setting + value})
		}
	}
	return kept
}

// yes is systemd's true for a boolean setting.
func yes(v string) bool {
	switch strings.ToLower(v) {
	case "yes", "true", "on", "1", "y", "t":
		return true
	}
	return false
}

// under turns a space-separated list of relative directory names into
// absolute paths under root.
func under(root, names string) []string {
	var dirs []string
	for _, n := range strings.Fields(names) {
		dirs = append(dirs, root+"/"+strings.Trim(n, "/"))
	}
	return dirs
}

// UnitStopTimeout reads TimeoutStopSec from a systemd unit file: how long
// systemd waits after SIGTERM before it kills the service. ok is false when
// the unit does not set it or sets it to infinity.
func UnitStopTimeout(unit string) (d time.Duration, ok bool, err error) {
	u, err := ReadUnit(unit)
	return u.StopTimeout, u.HasStopTimeout, err
}

// timeSpan parses a systemd time span ("30", "30s", "1min 30s", "500ms",
// "infinity"; systemd.time(7)) by rewriting it as a Go duration. A bare
// number is seconds.
func timeSpan(s string) (time.Duration, bool, error) {
	if s == "" || s == "infinity" {
		return 0, false, nil
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		s += "s"
	}
	goForm := strings.NewReplacer(" ", "", "usec", "us", "msec", "ms", "seconds", "s", "second", "s", "sec", "s",
		"minutes", "m", "minute", "m", "min", "m", "hours", "h", "hour", "h", "hr", "h").Replace(s)
	d, err := time.ParseDuration(goForm)
	if err != nil {
		return 0, false, errors.New("bad time span " + strconv.Quote(s))
	}
	return d, true, nil
}
