//go:build unix

package handover

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/chatd/chatd/internal/fdstore"
)

// The re-exec'd image finds the hand-over by the number in handoverFDEnv;
// which other inherited descriptor is what is in the hand-over itself
// (State.Descriptors). Only that one number goes into the environment:
// Linux refuses a single environment string over 128 KiB (MAX_ARG_STRLEN),
// and thousands of connections' numbers and names exceed it. They are not
// LISTEN_FDS: systemd's protocol wants them moved to 3, 4, …, and moving
// descriptors over numbers the Go runtime uses (its epoll descriptor, say)
// while other goroutines run is not safe.
const handoverFDEnv = "CHATD_HANDOVER_FD"

// The variables chatd versions before the table used: every number and
// every name. They are still read (the image being replaced may be such a
// version) and still written when they are small, so that going back to
// such a version by a restart in place keeps its clients as it always did.
const (
	inheritFDsEnv   = "CHATD_INHERIT_FDS"
	inheritNamesEnv = "CHATD_INHERIT_FDNAMES"
	// legacyEnvMax keeps the old variables far below the kernel's limit.
	legacyEnvMax = 32 << 10
)

// Passed is one descriptor to hand to the next image under a name.
type Passed struct {
	Name string
	Conn syscall.Conn // *net.TCPListener, *net.TCPConn, *os.File …
}

// execve is syscall.Exec; tests make it fail.
var execve = syscall.Exec

// Reexec replaces the running program with the binary at os.Executable()
// (after an upgrade, the new one: Linux resolves a replaced binary to its
// path), with the same arguments and environment, handing it passed and
// st, into which it writes the table of the passed descriptors. The PID
// stays, so launchd, a terminal or a supervisor sees nothing happen.
//
// It returns only if it failed, and then nothing passed has changed: no
// descriptor was closed or duplicated, each is close-on-exec again, and
// the caller can serve on with st and passed. The descriptors cross the
// exec as they are, their close-on-exec flag cleared, not as duplicates:
// at tens of thousands of connections, a duplicate of each would need
// twice the descriptors and break the open-files limit.
//
// The caller has stopped reading from every connection and finished its
// writes (what was read and not answered is the caller's to hand over), and
// passes the listeners and every connection.
func Reexec(st *State, passed []Passed, hooks ExecHooks) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("re-exec: find own binary: %w", err)
	}
	table := make([]Descriptor, 0, len(passed))
	for _, p := range passed {
		if err := fdstore.ValidName(p.Name); err != nil {
			return fmt.Errorf("re-exec: %w", err)
		}
		fd, err := fdOf(p.Conn)
		if err != nil {
			return fmt.Errorf("re-exec: %s: %w", p.Name, err)
		}
		table = append(table, Descriptor{FD: fd, Name: p.Name})
	}
	st.Descriptors = table
	stateFile, err := WriteFile(st)
	if err != nil {
		return fmt.Errorf("re-exec: %w", err)
	}
	defer stateFile.Close() // reached only when the exec failed
	stateFD := int(stateFile.Fd())
	env := nextEnv(stateFD, table)

	// The signal hooks act on this thread's mask, which the exec keeps.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	// No fork may run while the descriptors are inheritable, or a child
	// would keep the clients' sockets open.
	syscall.ForkLock.Lock()
	defer syscall.ForkLock.Unlock()
	inheritable := make([]int, 0, len(table)+1)
	defer func() { // reached only when the exec failed
		for _, fd := range inheritable {
			unix.CloseOnExec(fd)
		}
	}()
	for _, fd := range append([]int{stateFD}, fdsOf(table)...) {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, 0); err != nil {
			return fmt.Errorf("re-exec: make descriptor %d inheritable: %w", fd, err)
		}
		inheritable = append(inheritable, fd)
	}
	if hooks.Before != nil {
		env = append(hooks.Before(), env...)
		if hooks.Failed != nil {
			defer hooks.Failed()
		}
	}
	err = execve(exe, os.Args, env)
	return fmt.Errorf("re-exec %s: %w", exe, err)
}

// fdOf returns the descriptor number of c, which stays open (and keeps
// its number) as long as c does.
func fdOf(c syscall.Conn) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	fd := -1
	if err := rc.Control(func(u uintptr) { fd = int(u) }); err != nil {
		return 0, err
	}
	return fd, nil
}

func fdsOf(table []Descriptor) []int {
	fds := make([]int, len(table))
	for i, d := range table {
		fds[i] = d.FD
	}
	return fds
}

// nextEnv is the next image's environment: this one's, without the
// variables of an earlier hand-over, and the hand-over's number, with the
// old variables when they are small enough for an older version to read.
func nextEnv(stateFD int, table []Descriptor) []string {
	env := []string{handoverFDEnv + "=" + strconv.Itoa(stateFD)}
	nums := []string{strconv.Itoa(stateFD)}
	names := []string{fdstore.StateName}
	for _, d := range table {
		nums = append(nums, strconv.Itoa(d.FD))
		names = append(names, d.Name)
	}
	legacyNums, legacyNames := strings.Join(nums, " "), strings.Join(names, ":")
	if len(legacyNums)+len(legacyNames) <= legacyEnvMax {
		env = append(env, inheritFDsEnv+"="+legacyNums, inheritNamesEnv+"="+legacyNames)
	}
	for _, kv := range os.Environ() {
		if !isHandoverVar(kv) {
			env = append(env, kv)
		}
	}
	return env
}

func isHandoverVar(kv string) bool {
	for _, name := range []string{handoverFDEnv, inheritFDsEnv, inheritNamesEnv} {
		if strings.HasPrefix(kv, name+"=") {
			return true
		}
	}
	return false
}

// Reexeced returns the descriptors a Reexec handed to this image (none
// when it was started otherwise), the hand-over among them under
// fdstore.StateName, made close-on-exec again, and unsets the variables
// that named them.
func Reexeced() (*fdstore.Files, error) {
	stateEnv := os.Getenv(handoverFDEnv)
	numsEnv, namesEnv := os.Getenv(inheritFDsEnv), os.Getenv(inheritNamesEnv)
	os.Unsetenv(handoverFDEnv)
	os.Unsetenv(inheritFDsEnv)
	os.Unsetenv(inheritNamesEnv)
	switch {
	case stateEnv != "":
		return reexecedFromTable(stateEnv)
	case numsEnv != "":
		return reexecedFromVariables(numsEnv, namesEnv)
	}
	return fdstore.NewFiles(nil), nil
}

// reexecedFromTable takes the hand-over at the number given and the
// descriptors its table names.
func reexecedFromTable(stateEnv string) (*fdstore.Files, error) {
	stateFD, err := strconv.Atoi(stateEnv)
	if err != nil || stateFD < 3 {
		return fdstore.NewFiles(nil), fmt.Errorf("inherited hand-over %q: not a descriptor number", stateEnv)
	}
	if err := takeFD(stateFD); err != nil {
		return fdstore.NewFiles(nil), fmt.Errorf("inherited hand-over %d: %w", stateFD, err)
	}
	stateFile := os.NewFile(uintptr(stateFD), fdstore.StateName)
	data, err := io.ReadAll(io.NewSectionReader(stateFile, 0, MaxStateSize+1))
	if err != nil {
		stateFile.Close()
		return fdstore.NewFiles(nil), fmt.Errorf("read inherited hand-over: %w", err)
	}
	// Damage is reported where the state is read (the file goes on
	// under its name); here only the table matters.
	st, _, err := Decode(data)
	if err != nil {
		return fdstore.NewFiles([]*os.File{stateFile}), nil
	}
	var errs []error
	files := []*os.File{stateFile}
	seen := map[int]bool{stateFD: true}
	for _, d := range st.Descriptors {
		if d.FD < 3 || seen[d.FD] || fdstore.ValidName(d.Name) != nil || d.Name == fdstore.StateName {
			errs = append(errs, fmt.Errorf("inherited descriptor %d named %q: not usable", d.FD, d.Name))
			continue
		}
		seen[d.FD] = true
		if err := takeFD(d.FD); err != nil {
			errs = append(errs, fmt.Errorf("inherited descriptor %d (%s): %w", d.FD, d.Name, err))
			continue
		}
		files = append(files, os.NewFile(uintptr(d.FD), d.Name))
	}
	return fdstore.NewFiles(files), errors.Join(errs...)
}

// reexecedFromVariables reads the numbers and names the way versions
// before the table passed them.
func reexecedFromVariables(numsEnv, namesEnv string) (*fdstore.Files, error) {
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
		if err := takeFD(fd); err != nil {
			errs = append(errs, fmt.Errorf("inherited descriptor %d (%s): %w", fd, name, err))
			continue
		}
		files = append(files, os.NewFile(uintptr(fd), name))
	}
	if len(names) != len(nums) {
		errs = append(errs, fmt.Errorf("inherited %d descriptors but %d names", len(nums), len(names)))
	}
	return fdstore.NewFiles(files), errors.Join(errs...)
}

// takeFD checks that fd is open and makes it close-on-exec again, so that
// nothing this image starts inherits it.
func takeFD(fd int) error {
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
		return err
	}
	unix.CloseOnExec(fd)
	return nil
}
