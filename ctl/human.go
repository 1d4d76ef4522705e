package main

import (
	"fmt"
	"time"

	"github.com/dustin/go-humanize"
)

// humanDuration is a short, table-friendly age: 42s, 3m05s, 2h07m, 3d04h.
// Two units at most: an operator wants "how long", not the nanoseconds.
func humanDuration(d time.Duration) string {
	d = max(d, 0).Truncate(time.Second)
	s := int64(d / time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", s)
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
	}
	return fmt.Sprintf("%dd%02dh", s/86400, s%86400/3600)
}

// humanBytes is a byte count in binary units: 512 B, 1.5 KiB, 3.2 MiB.
func humanBytes(n uint64) string { return humanize.IBytes(n) }

// absTime is a timestamp in the wide listing: local time, to the second.
func absTime(t time.Time) string { return t.Local().Format(time.RFC3339) }
