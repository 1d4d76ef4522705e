package main

import (
	"fmt"

	"github.com/chatd/chatd/internal/admin/adminapi"
)

// survivalLines are the status lines about restart survival.
func survivalLines(sv adminapi.Survival) [][2]string {
	lines := [][2]string{{"survival", "off (clients are disconnected by a restart)"}}
	if sv.Enabled {
		how := fmt.Sprintf("on: %d held in the store", sv.Held)
		if sv.InPlace {
			how = "on: chatctl restart restarts in place (a crash drops the clients)"
		}
		// The instance's figures, not this process's: they go on across
		// restarts and crashes.
		lines = [][2]string{
			{"survival", how},
			{"restarts", fmt.Sprintf("%d survived, %d clients taken back, %d lost", sv.Restarts, sv.TakenBack, sv.Lost)},
		}
	}
	// Also without a store: a restart in place hands the last good
	// config over too.
	if sv.Degraded != "" {
		lines = append(lines, [2]string{"CONFIG", "BROKEN, serving on the last good one: " + sv.Degraded})
	}
	return lines
}
