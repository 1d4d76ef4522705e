package config

import (
	"bufio"
	"errors"
	"os"
	"strconv"
	"strings"
	"time"
)

// UnitStopTimeout reads TimeoutStopSec from a systemd unit file: how long
// systemd waits after SIGTERM before it kills the service. ok is false when
// the unit does not set it or sets it to infinity.
func UnitStopTimeout(unit string) (d time.Duration, ok bool, err error) {
	f, err := os.Open(unit)
	if err != nil {
		return 0, false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, found := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !found || strings.TrimSpace(name) != "TimeoutStopSec" {
			continue
		}
		// A later setting overrides an earlier one, as in systemd.
		d, ok, err = timeSpan(strings.TrimSpace(value))
	}
	if err == nil {
		err = sc.Err()
	}
	return d, ok, err
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
