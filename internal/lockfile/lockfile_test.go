package lockfile

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

func TestSecondAcquireNamesTheHolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "admin.sock.lock")
	l, err := Acquire(path)
	if err != nil {
		t.Fatal(err)
	}
	// flock conflicts between two opens even within one process, as
	// between two chatd processes.
	_, err = Acquire(path)
	var held *HeldError
	if !errors.As(err, &held) || held.PID != os.Getpid() || held.Path != path {
		t.Fatalf("second Acquire: %v, want a HeldError naming pid %d", err, os.Getpid())
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("lock file left behind after Release: %v", err)
	}
	l2, err := Acquire(path)
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	l2.Release()
}

// A lock file left by a process that died (with its PID in it) is no
// obstacle: the kernel dropped the lock with the process.
func TestLeftoverFileIsTakenOver(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	if err := os.WriteFile(path, []byte("999999\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := Acquire(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	if b, _ := os.ReadFile(path); string(b) != itoa(os.Getpid())+"\n" {
		t.Fatalf("lock file holds %q, want our pid", b)
	}
}

func TestDirLockWorksOnAReadOnlyDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	d, err := LockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var held *HeldError
	if _, err := LockDir(dir); !errors.As(err, &held) {
		t.Fatalf("second LockDir: %v, want a HeldError", err)
	}
	d.Release()
	d2, err := LockDir(dir)
	if err != nil {
		t.Fatalf("LockDir after Release: %v", err)
	}
	d2.Release()
}

func itoa(n int) string { return strconv.Itoa(n) }
