package main

import (
	"fmt"

	"github.com/chatd/chatd/internal/admin/adminapi"
)

// survivalLines are the status lines about restart survival.
func survivalLines(sv adminapi.Survival) [][2]string {
	if !sv.Enabled {
		return [][2]string{{"survival", "off (clients are disconnected by a restart)"}}
	}
	lines := [][2]string{
		{"survival", fmt.Sprintf("on: %d held in the store", sv.Held)},
		{"restarts", fmt.Sprintf("%d survived, %d clients taken back, %d lost", sv.Restarts, sv.TakenBack, sv.Lost)},
	}
	if sv.Degraded != "" {
		lines = append(lines, [2]string{"CONFIG", "BROKEN, serving on the last good one: " + sv.Degraded})
	}
	return lines
}
