package config

import (
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// openAs opens each path as a would, and returns each open's error. It
// does so on a thread of its own whose file-system identity (fsuid, fsgid,
// groups) is a's: the kernel then applies a's permissions, ACLs included,
// and root's capabilities to override them are dropped for that thread.
// The thread is never given back: it ends with its goroutine, and its
// identity with it; no other goroutine ever runs on it.
func openAs(a Account, paths []string) ([]error, error) {
	type result struct {
		errs []error
		err  error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // for good: see above
		if err := unix.Setgroups(a.Groups); err != nil {
			done <- result{err: fmt.Errorf("check files as user %s: setgroups: %w", a.Name, err)}
			return
		}
		if err := unix.Setfsgid(a.GID); err != nil {
			done <- result{err: fmt.Errorf("check files as user %s: setfsgid: %w", a.Name, err)}
			return
		}
		if err := unix.Setfsuid(a.UID); err != nil {
			done <- result{err: fmt.Errorf("check files as user %s: setfsuid: %w", a.Name, err)}
			return
		}
		// Without CAP_SETUID the kernel keeps the old identity and says
		// nothing; an invalid ID (-1) asks for the one in force.
		if now, _ := unix.SetfsuidRetUid(-1); now != a.UID {
			done <- result{err: ErrCannotCheckAs}
			return
		}
		errs := make([]error, len(paths))
		for i, p := range paths {
			f, err := os.Open(p)
			if err == nil {
				f.Close()
			}
			errs[i] = err
		}
		done <- result{errs: errs}
	}()
	r := <-done
	return r.errs, r.err
}
