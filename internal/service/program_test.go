package service

import (
	"errors"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for delay := time.Millisecond; !cond(); delay = min(2*delay, 20*time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(delay)
	}
}

// Run turns SIGHUP into Reload (as often as it comes) and SIGTERM into Stop.
func TestRunReloadsOnHUPAndStopsOnTERM(t *testing.T) {
	var started, stopped, reloads atomic.Int32
	done := make(chan error, 1)
	go func() {
		done <- Run(Program{
			Start:  func() error { started.Add(1); return nil },
			Stop:   func() error { stopped.Add(1); return nil },
			Reload: func() { reloads.Add(1) },
		})
	}()
	waitFor(t, "Start", func() bool { return started.Load() == 1 })
	for i := int32(1); i <= 3; i++ {
		if err := syscall.Kill(syscall.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "Reload", func() bool { return reloads.Load() == i })
	}
	if stopped.Load() != 0 {
		t.Fatal("stopped by SIGHUP")
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after SIGTERM")
	}
	if stopped.Load() != 1 || started.Load() != 1 {
		t.Fatalf("started %d, stopped %d", started.Load(), stopped.Load())
	}
}

func TestRunReturnsStartError(t *testing.T) {
	boom := errors.New("listen: address in use")
	err := Run(Program{
		Start:  func() error { return boom },
		Stop:   func() error { t.Error("Stop after a failed Start"); return nil },
		Reload: func() {},
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Run = %v", err)
	}
}

// Signals that arrived before Run (caught from the process's first
// instant) are acted on once Start returned: the SIGHUP reloads a started
// program, the SIGTERM then stops it.
func TestRunActsOnSignalsThatCameBeforeStart(t *testing.T) {
	sigs := make(chan os.Signal, 4)
	sigs <- syscall.SIGHUP
	sigs <- syscall.SIGHUP
	sigs <- syscall.SIGTERM
	var events []string
	err := Run(Program{
		Start:   func() error { events = append(events, "start"); return nil },
		Stop:    func() error { events = append(events, "stop"); return nil },
		Reload:  func() { events = append(events, "reload") },
		Signals: sigs,
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := strings.Join(events, " "); got != "start reload reload stop" {
		t.Fatalf("events %q, want start reload reload stop", got)
	}
}
