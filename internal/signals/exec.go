package signals

import (
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// A restart in place replaces the program with exec. Handlers do not
// survive an exec: from it until the new image's init (Notify) a signal
// has its default action, which for SIGHUP, SIGINT, SIGTERM and SIGUSR2 is
// to end the process with every client. What survives an exec is an
// ignored disposition and the exec'ing thread's signal mask, and the Go
// runtime treats the two differently at start (runtime/signal_unix.go):
//
//   - An ignored SIGHUP or SIGINT stays ignored until Notify asks for it
//     (sigInstallGoHandler respects an inherited SIG_IGN for those two).
//     Every other signal gets the runtime's handler when the runtime
//     starts, and for SIGTERM that handler ends the process while nobody
//     has asked for it.
//   - A blocked signal stays blocked only if it is "blockable": the
//     runtime unblocks SIGHUP, SIGINT and SIGTERM on its first thread
//     (minitSignalMask) before it installs its handlers, so one pending
//     then gets the default action. SIGUSR2 stays blocked, and pending,
//     until Notify's thread unblocks it: it is delivered, not lost.
//
// So HoldForExec ignores SIGHUP, SIGINT and SIGTERM and blocks SIGUSR2 on
// the exec'ing thread, and what this image caught and has not acted on
// yet goes to the next one in pendingEnv, where init queues it again. A
// SIGHUP or SIGINT in the exec itself is lost (a restart reads the config
// anew anyway); a SIGTERM between the runtime's start and this package's
// init still ends the process: no Go program can catch it there.
const pendingEnv = "CHATD_PENDING_SIGNALS"

var (
	heldMu sync.Mutex
	// held are the signals HoldForExec took out of caught, given back
	// by Unhold when the exec failed.
	held []os.Signal
)

// ignoredAcrossExec are the signals ignored for the exec; the rest of
// Handled (SIGUSR2) is blocked.
var ignoredAcrossExec = []os.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM}

// HoldForExec prepares the handled signals for an exec on the calling
// thread, which must be locked to it and exec next, and returns the
// environment variable that hands the next image what was caught and not
// acted on yet. Unhold undoes it if the exec fails.
func HoldForExec() []string {
	blockAcrossExec(syscall.SIGUSR2)
	signal.Ignore(ignoredAcrossExec...)
	heldMu.Lock()
	defer heldMu.Unlock()
	held = held[:0]
	var nums []string
	for {
		select {
		case sig := <-caught:
			held = append(held, sig)
			if s, ok := sig.(syscall.Signal); ok {
				nums = append(nums, strconv.Itoa(int(s)))
			}
			continue
		default:
		}
		break
	}
	if len(nums) == 0 {
		return nil
	}
	return []string{pendingEnv + "=" + strings.Join(nums, ",")}
}

// Unhold gives the signals back to this image after a failed exec: they
// are caught again, and those HoldForExec took are delivered once more.
func Unhold() {
	signal.Notify(caught, Handled...)
	unblockAfterExec(syscall.SIGUSR2)
	heldMu.Lock()
	defer heldMu.Unlock()
	for _, sig := range held {
		queue(sig)
	}
	held = held[:0]
}

// takePending queues what the previous image handed over (pendingEnv).
func takePending() {
	v, ok := os.LookupEnv(pendingEnv)
	if !ok {
		return
	}
	os.Unsetenv(pendingEnv)
	for _, s := range strings.Split(v, ",") {
		n, err := strconv.Atoi(s)
		if err != nil {
			continue
		}
		for _, h := range Handled {
			if h == syscall.Signal(n) {
				queue(h)
			}
		}
	}
}

// queue adds sig to caught unless it is full (a burst loses only repeats).
func queue(sig os.Signal) {
	select {
	case caught <- sig:
	default:
	}
}
