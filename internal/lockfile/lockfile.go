// Package lockfile keeps a second chatd from using what one chatd already
// uses: its admin socket, its state directory. A lock is an flock(2) held
// for the life of the process, so the kernel drops it when the process
// ends however it ends, and no stale lock is ever left to clean up.
package lockfile

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// HeldError says that another process holds the lock.
type HeldError struct {
	Path string
	PID  int // the holder, as it wrote itself into the file; 0 if unknown
}

func (e *HeldError) Error() string {
	if e.PID > 0 {
		return fmt.Sprintf("%s is locked by process %d", e.Path, e.PID)
	}
	return e.Path + " is locked by another process"
}

// File is a held lock file.
type File struct {
	path string
	f    *os.File
}

// pidWait bounds how long a loser waits for the winner to write its PID
// into the file it has just locked.
const pidWait = time.Second

// Acquire creates (if need be) and locks the file at path, and writes this
// process's PID into it. A lock held elsewhere is a *HeldError naming the
// holder's PID.
func Acquire(path string) (*File, error) {
	for range 10 { // a holder that removes the file as we open it: try again
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("open lock file: %w", err)
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			f.Close()
			if errors.Is(err, unix.EWOULDBLOCK) {
				return nil, &HeldError{Path: path, PID: holder(path)}
			}
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		// The holder before us may have removed the file between our open
		// and our lock: then we hold a lock on a file nobody else sees.
		if !samePath(f, path) {
			f.Close()
			continue
		}
		if err := f.Truncate(0); err != nil {
			f.Close()
			return nil, fmt.Errorf("write lock file %s: %w", path, err)
		}
		if _, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0); err != nil {
			f.Close()
			return nil, fmt.Errorf("write lock file %s: %w", path, err)
		}
		return &File{path: path, f: f}, nil
	}
	return nil, fmt.Errorf("lock %s: the file keeps being replaced", path)
}

// Release removes the lock file and drops the lock. The file is removed
// while still locked, so a process waiting to open it either finds it gone
// or finds that the file it locked is no longer at the path.
func (l *File) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	var err error
	if samePath(l.f, l.path) {
		if rerr := os.Remove(l.path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			err = fmt.Errorf("remove lock file: %w", rerr)
		}
	}
	l.f.Close()
	l.f = nil
	return err
}

// holder reads the PID the lock's holder wrote into the file, waiting a
// moment for a holder that has just taken it.
func holder(path string) int {
	deadline := time.Now().Add(pidWait)
	for delay := time.Millisecond; ; delay = min(2*delay, 50*time.Millisecond) {
		b, err := os.ReadFile(path)
		if err == nil {
			if pid, err := strconv.Atoi(string(bytes.TrimSpace(b))); err == nil && pid > 0 {
				return pid
			}
		}
		if time.Now().After(deadline) {
			return 0
		}
		time.Sleep(delay)
	}
}

// samePath reports whether f is still the file at path.
func samePath(f *os.File, path string) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(path)
	return err == nil && os.SameFile(a, b)
}

// Dir is a held lock on a directory.
type Dir struct{ f *os.File }

// LockDir locks the directory itself, not a file in it, so that a
// directory that cannot be written (read-only, full) can be locked all the
// same. A lock held elsewhere is a *HeldError (without a PID: nothing can
// be written into a directory's lock).
func LockDir(dir string) (*Dir, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("open %s to lock it: %w", dir, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, &HeldError{Path: dir}
		}
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return &Dir{f: f}, nil
}

// Release drops the lock.
func (d *Dir) Release() {
	if d != nil && d.f != nil {
		d.f.Close()
		d.f = nil
	}
}
