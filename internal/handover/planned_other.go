//go:build !linux

package handover

import (
	"context"
	"errors"
)

// PlannedRestart needs systemd, which is Linux only; elsewhere a planned
// restart is asked for explicitly (Reexec) and a SIGTERM is always a stop.
func PlannedRestart(ctx context.Context, unit string) (bool, error) {
	return false, errors.ErrUnsupported
}
