//go:build unix

package handover

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/chatd/chatd/internal/fdstore"
)

// The re-exec'd image finds its descriptors by number and name in these
// variables. They are not LISTEN_FDS: systemd's protocol wants them moved
// to 3, 4, …, and moving descriptors over numbers the Go runtime uses
// (its epoll descriptor, say) while other goroutines run is not safe.
const (
	inheritFDsEnv   = "CHATD_INHERIT_FDS"
	inheritNamesEnv = "CHATD_INHERIT_FDNAMES"
)

// Passed is one descriptor to hand to the next image under a name.
type Passed struct {
	Name string
	Conn syscall.Conn // *net.TCPListener, *net.TCPConn, *os.File …
}

// Reexec replaces the running program with the binary at os.Executable()
// (after an upgrade, the new one: Linux resolves a replaced binary to its
// path), with the same arguments and environment, handing it passed. The
// PID stays, so launchd, a terminal or a supervisor sees nothing happen.
// It returns only if it failed, and then nothing has changed.
//
// The caller has stopped reading from every connection and finished its
// writes (what was read and not answered is the caller's to hand over), and
// passes the listener, every connection and the state file (WriteFile).
func Reexec(passed []Passed) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("re-exec: find own binary: %w", err)
	}
	names := make([]string, len(passed))
	for i, p := range passed {
		if err := fdstore.ValidName(p.Name); err != nil {
			return fmt.Errorf("re-exec: %w", err)
		}
		names[i] = p.Name
	}
	// No fork may run between the duplicates and the exec, or a child
	// would inherit them (they are not close-on-exec, on purpose).
	syscall.ForkLock.Lock()
	defer syscall.ForkLock.Unlock()
	var fds []int
	defer func() { // reached only when the exec failed
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	for _, p := range passed {
		rc, err := p.Conn.SyscallConn()
		if err != nil {
			return fmt.Errorf("re-exec: %s: %w", p.Name, err)
		}
		var dupErr error
		if err := rc.Control(func(fd uintptr) {
			var dup int
			dup, dupErr = unix.FcntlInt(fd, unix.F_DUPFD, 3)
			if dupErr == nil {
				fds = append(fds, dup)
			}
		}); err != nil {
			return fmt.Errorf("re-exec: %s: %w", p.Name, err)
		}
		if dupErr != nil {
			return fmt.Errorf("re-exec: dup %s: %w", p.Name, dupErr)
		}
	}
	nums := make([]string, len(fds))
	for i, fd := range fds {
		nums[i] = strconv.Itoa(fd)
	}
	env := []string{inheritFDsEnv + "=" + strings.Join(nums, " "), inheritNamesEnv + "=" + strings.Join(names, ":")}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, inheritFDsEnv+"=") && !strings.HasPrefix(kv, inheritNamesEnv+"=") {
			env = append(env, kv)
		}
	}
	err = syscall.Exec(exe, os.Args, env)
	return fmt.Errorf("re-exec %s: %w", exe, err)
}

// Reexeced returns the descriptors a Reexec handed to this image (none
// when it was started otherwise), made close-on-exec again, and unsets the
// variables that named them.
func Reexeced() (*fdstore.Files, error) {
	numsEnv, namesEnv := os.Getenv(inheritFDsEnv), os.Getenv(inheritNamesEnv)
	os.Unsetenv(inheritFDsEnv)
	os.Unsetenv(inheritNamesEnv)
	if numsEnv == "" {
		return fdstore.NewFiles(nil), nil
	}
	nums, names := strings.Fields(numsEnv), strings.Split(namesEnv, ":")
	var files []*os.File
	var errs []error
	for i, s := range nums {
		fd, err := strconv.Atoi(s)
		name := ""
		if i < len(names) {
			name = names[i]
		}
		if err != nil || fd < 3 || name == "" {
			errs = append(errs, fmt.Errorf("inherited descriptor %q named %q: not usable", s, name))
			continue
		}
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
			errs = append(errs, fmt.Errorf("inherited descriptor %d (%s): %w", fd, name, err))
			continue
		}
		unix.CloseOnExec(fd)
		files = append(files, os.NewFile(uintptr(fd), name))
	}
	if len(names) != len(nums) {
		errs = append(errs, fmt.Errorf("inherited %d descriptors but %d names", len(nums), len(names)))
	}
	return fdstore.NewFiles(files), errors.Join(errs...)
}
