package handover

import (
	"context"
	"fmt"
	"os"

	sdbus "github.com/coreos/go-systemd/v22/dbus"
)

// PlannedRestart reports whether the stop chatd is being asked for (its
// SIGTERM) is the first half of a restart of unit (`systemctl restart`,
// `try-restart`, a reload-or-restart of a unit that cannot reload), in
// which case the clients are handed over, or a stop, in which case they are
// told and closed. An empty unit means the unit this process runs in.
//
// systemd queues the job before it sends SIGTERM, and the job's type is
// what tells the two apart: "restart" for a restart, "stop" for a stop.
// It asks PID 1 over the system bus, or over systemd's private socket when
// there is no bus (as root only). When it cannot tell it returns an error;
// choosing then is the caller's.
func PlannedRestart(ctx context.Context, unit string) (bool, error) {
	conn, err := sdbus.NewWithContext(ctx)
	if err != nil {
		var err2 error
		if conn, err2 = sdbus.NewSystemdConnectionContext(ctx); err2 != nil {
			return false, fmt.Errorf("ask systemd about the stop: system bus: %w; private socket: %w", err, err2)
		}
	}
	defer conn.Close()
	return plannedRestart(ctx, conn, unit)
}

// plannedRestart is PlannedRestart over an open connection.
func plannedRestart(ctx context.Context, conn *sdbus.Conn, unit string) (bool, error) {
	if unit == "" {
		var err error
		if unit, err = conn.GetUnitNameByPID(ctx, uint32(os.Getpid())); err != nil {
			return false, fmt.Errorf("ask systemd which unit runs PID %d: %w", os.Getpid(), err)
		}
	}
	jobs, err := conn.ListJobsContext(ctx)
	if err != nil {
		return false, fmt.Errorf("ask systemd for the jobs of %s: %w", unit, err)
	}
	for _, j := range jobs {
		if j.Unit == unit {
			return isRestartJob(j.JobType), nil
		}
	}
	return false, nil // no job at all: not a restart
}

// isRestartJob reports whether a job type (as systemd's D-Bus API spells
// it) ends with the unit started again.
func isRestartJob(jobType string) bool {
	switch jobType {
	case "restart", "try-restart", "reload-or-restart", "reload-or-try-restart":
		return true
	}
	return false
}
