//go:build !linux

package signals

import (
	"os/signal"
	"syscall"
)

// blockAcrossExec ignores sig where this package does not set thread
// masks: lost in the exec rather than deadly.
func blockAcrossExec(sig syscall.Signal) { signal.Ignore(sig) }

func unblockAfterExec(syscall.Signal) {}
