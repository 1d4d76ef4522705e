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
		// A later assignment overrides an earlier one, as in systemd.
		d, ok, err = timeSpan(strings.TrimSpace(value))
	}
	if err == nil {
		err = sc.Err()
	}
	return d, ok, err
}

// systemdUnits are systemd's time span units (systemd.time(7)).
var systemdUnits = map[string]time.Duration{
	"us": time.Microsecond, "usec": time.Microsecond, "ms": time.Millisecond, "msec": time.Millisecond,
	"s": time.Second, "sec": time.Second, "second": time.Second, "seconds": time.Second,
	"m": time.Minute, "min": time.Minute, "minute": time.Minute, "minutes": time.Minute,
	"h": time.Hour, "hr": time.Hour, "hour": time.Hour, "hours": time.Hour,
}

// timeSpan parses a systemd time span: "30", "30s", "1min 30s", "infinity".
// A bare number is seconds.
func timeSpan(s string) (time.Duration, bool, error) {
	if s == "" || s == "infinity" {
		return 0, false, nil
	}
	var total time.Duration
	for rest := strings.ReplaceAll(s, " ", ""); rest != ""; {
		i := strings.IndexFunc(rest, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
		if i == 0 {
			return 0, false, errors.New("bad time span " + strconv.Quote(s))
		}
		if i < 0 {
			i = len(rest)
		}
		n, err := strconv.ParseFloat(rest[:i], 64)
		if err != nil {
			return 0, false, errors.New("bad time span " + strconv.Quote(s))
		}
		rest = rest[i:]
		j := strings.IndexFunc(rest, func(r rune) bool { return r >= '0' && r <= '9' })
		if j < 0 {
			j = len(rest)
		}
		unit := time.Second
		if j > 0 {
			u, known := systemdUnits[rest[:j]]
			if !known {
				return 0, false, errors.New("bad time span " + strconv.Quote(s))
			}
			unit = u
		}
		rest = rest[j:]
		total += time.Duration(n * float64(unit))
	}
	return total, true, nil
}
