package signals

import (
	"syscall"

	"golang.org/x/sys/unix"
)

func sigset(sig syscall.Signal) *unix.Sigset_t {
	var set unix.Sigset_t
	set.Val[(sig-1)/64] |= 1 << ((uint(sig) - 1) % 64)
	return &set
}

// blockAcrossExec blocks sig on this thread: the exec keeps the mask, and
// the Go runtime keeps a blockable signal blocked until Notify.
func blockAcrossExec(sig syscall.Signal) { unix.PthreadSigmask(unix.SIG_BLOCK, sigset(sig), nil) }

func unblockAfterExec(sig syscall.Signal) {
	unix.PthreadSigmask(unix.SIG_UNBLOCK, sigset(sig), nil)
}
