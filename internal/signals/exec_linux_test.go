package signals

import (
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func drain() {
	for {
		select {
		case <-caught:
		default:
			return
		}
	}
}

func receive(t *testing.T, want os.Signal) {
	t.Helper()
	select {
	case got := <-caught:
		if got != want {
			t.Fatalf("caught %v, want %v", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%v not caught", want)
	}
}

// What was caught and not acted on goes to the next image, and comes back
// to this one when the exec fails; meanwhile SIGHUP is ignored, which an
// exec keeps, and SIGUSR2 is blocked on the exec'ing thread, where it
// waits instead of being lost. After Unhold both are caught again.
func TestHoldForExecHandsOverAndUnholdGivesBack(t *testing.T) {
	drain()
	defer drain()
	queue(syscall.SIGTERM)
	queue(syscall.SIGHUP)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	env := HoldForExec()
	if len(env) != 1 || env[0] != pendingEnv+"=15,1" {
		t.Fatalf("HoldForExec handed over %q, want %s=15,1", env, pendingEnv)
	}
	var mask unix.Sigset_t
	unix.PthreadSigmask(unix.SIG_BLOCK, nil, &mask)
	if usr2 := sigset(syscall.SIGUSR2); mask.Val[(syscall.SIGUSR2-1)/64]&usr2.Val[(syscall.SIGUSR2-1)/64] == 0 {
		t.Fatal("SIGUSR2 is not blocked on the exec'ing thread")
	}
	if !signalIgnored(syscall.SIGHUP) {
		t.Fatal("SIGHUP is not ignored for the exec")
	}
	Unhold()
	receive(t, syscall.SIGTERM)
	receive(t, syscall.SIGHUP)
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	receive(t, syscall.SIGHUP)
	syscall.Kill(os.Getpid(), syscall.SIGUSR2)
	receive(t, syscall.SIGUSR2)
}

// signalIgnored reads the disposition from the kernel.
func signalIgnored(sig syscall.Signal) bool {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "SigIgn:"); ok {
			var bits uint64
			for _, c := range strings.TrimSpace(v) {
				bits <<= 4
				switch {
				case c >= '0' && c <= '9':
					bits |= uint64(c - '0')
				case c >= 'a' && c <= 'f':
					bits |= uint64(c-'a') + 10
				}
			}
			return bits&(1<<(uint(sig)-1)) != 0
		}
	}
	return false
}

// The next image queues what the previous one handed over, once.
func TestTakePendingQueuesHandedOverSignals(t *testing.T) {
	drain()
	defer drain()
	t.Setenv(pendingEnv, "1,12,99,x")
	takePending()
	receive(t, syscall.SIGHUP)
	receive(t, syscall.SIGUSR2)
	select {
	case sig := <-caught:
		t.Fatalf("an unknown number was queued as %v", sig)
	default:
	}
	if _, set := os.LookupEnv(pendingEnv); set {
		t.Fatal("the variable stayed set")
	}
}
