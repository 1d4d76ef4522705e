package lockfile

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

func TestHolderOfNamesTheProcess(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "admin.sock.lock")
	l, err := Acquire(path)
	if err != nil {
		t.Fatal(err)
	}
	if h := HolderOf(path); h.PID != os.Getpid() {
		t.Errorf("HolderOf(lock file) = %+v, want pid %d", h, os.Getpid())
	}
	l.Release()
	if h := HolderOf(path); h.PID != 0 {
		t.Errorf("HolderOf(released) = %+v, want nobody", h)
	}
	d, err := LockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Release()
	// A locked directory has no PID in it: only the system can tell.
	if runtime.GOOS == "linux" {
		if h := HolderOf(dir); h.PID != os.Getpid() {
			t.Errorf("HolderOf(locked directory) = %+v, want pid %d", h, os.Getpid())
		}
	}
}

// Another process's lock, found without disturbing it: the probe must
// not take the lock, or a chatd starting at that instant would fail.
func TestHolderOfAnotherProcessLeavesItsLock(t *testing.T) {
	flock, err := exec.LookPath("flock")
	if err != nil {
		t.Skip("flock(1) is not installed")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "lock")
	os.WriteFile(path, nil, 0o644)
	ready := filepath.Join(dir, "ready")
	cmd := exec.Command(flock, "-x", path, "sh", "-c", "touch "+ready+"; sleep 30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(ready); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("flock(1) did not take the lock")
		}
		time.Sleep(10 * time.Millisecond)
	}
	h := HolderOf(path)
	if runtime.GOOS == "linux" && h.PID != cmd.Process.Pid {
		t.Errorf("HolderOf = %+v, want pid %d", h, cmd.Process.Pid)
	}
	if _, err := Acquire(path); err == nil {
		t.Fatal("the lock was free after HolderOf")
	}
}

func TestHolderString(t *testing.T) {
	for _, c := range []struct {
		h    Holder
		want string
	}{
		{Holder{PID: 4711, Unit: "chatd.service"}, "the chatd service (chatd.service, pid 4711)"},
		{Holder{PID: 4711}, "another chatd (pid 4711)"},
		{Holder{PID: 4711, Unit: "actions.runner.service"}, "another chatd (pid 4711)"},
		{Holder{}, "another chatd"},
	} {
		if got := c.h.String(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.h, got, c.want)
		}
	}
}
