package handover

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// What an exec keeps of the signals, and what the Go runtime makes of it
// when the new image starts, before any of its code asks for a signal:
// the facts the signal hooks of a restart in place (package signals) are
// built on. A later Go that changes them fails here.
//
// The roles: "sigexec" ignores SIGHUP, SIGINT and SIGTERM, blocks SIGUSR2
// on its thread and execs the test binary as "sigprobe", which prints the
// kernel's view of itself from TestMain (the runtime has started; nothing
// has called signal.Notify).
func signalRole(role string) int {
	switch role {
	case "sigexec":
		runtime.LockOSThread()
		signal.Ignore(syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM)
		var set unix.Sigset_t
		set.Val[0] = 1 << (syscall.SIGUSR2 - 1)
		unix.PthreadSigmask(unix.SIG_BLOCK, &set, nil)
		env := []string{"REEXEC_ROLE=sigprobe"} // the first of two equal names wins
		err := syscall.Exec(os.Args[0], os.Args, env)
		fmt.Fprintln(os.Stderr, "exec:", err)
		return 1
	case "sigprobe":
		data, err := os.ReadFile("/proc/self/status")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		for _, line := range strings.Split(string(data), "\n") {
			for _, key := range []string{"SigBlk:", "SigIgn:", "SigCgt:"} {
				if strings.HasPrefix(line, key) {
					fmt.Println(line)
				}
			}
		}
		return 0
	}
	fmt.Fprintln(os.Stderr, "unknown role", role)
	return 1
}

func TestWhatTheGoRuntimeKeepsOfSignalsAcrossExec(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "REEXEC_ROLE=sigexec")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("probe: %v", err)
	}
	masks := map[string]uint64{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		key, hex, _ := strings.Cut(line, ":")
		v, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
		if err != nil {
			t.Fatalf("probe said %q", out)
		}
		masks[key] = v
	}
	bit := func(s syscall.Signal) uint64 { return 1 << (s - 1) }
	for _, c := range []struct {
		what string
		mask string
		sig  syscall.Signal
		want bool
	}{
		{"an ignored SIGHUP stays ignored", "SigIgn", syscall.SIGHUP, true},
		{"an ignored SIGINT stays ignored", "SigIgn", syscall.SIGINT, true},
		{"an ignored SIGTERM gets the runtime's handler (deadly until Notify)", "SigCgt", syscall.SIGTERM, true},
		{"a blocked SIGUSR2 stays blocked (pending, not lost)", "SigBlk", syscall.SIGUSR2, true},
		{"SIGHUP, SIGINT, SIGTERM cannot stay blocked", "SigBlk", syscall.SIGTERM, false},
		{"SIGHUP cannot stay blocked", "SigBlk", syscall.SIGHUP, false},
	} {
		if got := masks[c.mask]&bit(c.sig) != 0; got != c.want {
			t.Errorf("%s: %s has %v: %v, want %v (probe: %q)", c.what, c.mask, c.sig, got, c.want, out)
		}
	}
}
