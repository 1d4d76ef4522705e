//go:build linux

package handover

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/chatd/chatd/internal/fdstore"
)

// maxArgStrlen is Linux's limit on one environment string (MAX_ARG_STRLEN).
const maxArgStrlen = 128 << 10

func closeOnExec(t *testing.T, fd int) bool {
	t.Helper()
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	if err != nil {
		t.Fatalf("descriptor %d: %v", fd, err)
	}
	return flags&unix.FD_CLOEXEC != 0
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(ents)
}

// passedPipes are n pipes' read ends under names as long as a client's
// with a 16-digit ID and more, so that their table is far over what one
// environment string may hold.
func passedPipes(t *testing.T, n int) ([]Passed, []*os.File) {
	t.Helper()
	var passed []Passed
	var files []*os.File
	for i := range n {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close(); w.Close() })
		files = append(files, r)
		passed = append(passed, Passed{Name: "client." + strconv.Itoa(1_000_000_000_000_000+i) + strings.Repeat("x", 200), Conn: r})
	}
	return passed, files
}

// What the exec is given: no environment string near the kernel's limit,
// every passed descriptor inheritable as it is (no duplicates), and the
// table in the hand-over; when the exec fails nothing has changed.
func TestReexecPassesDescriptorsAsTheyAreAndUndoesAFailure(t *testing.T) {
	passed, files := passedPipes(t, 800) // a table of ~180 KiB
	before := openFDs(t)
	var hooked, undone bool
	var sawEnv []string
	var sawInheritable, sawOpen int
	execve = func(argv0 string, argv, env []string) error {
		sawEnv = env
		sawOpen = openFDs(t)
		for _, f := range files {
			if !closeOnExec(t, int(f.Fd())) {
				sawInheritable++
			}
		}
		return syscall.E2BIG
	}
	t.Cleanup(func() { execve = syscall.Exec })
	st := &State{Version: "test"}
	err := Reexec(st, passed, ExecHooks{
		Before: func() []string { hooked = true; return []string{"CHATD_TEST_HOOK=1"} },
		Failed: func() { undone = true },
	})
	if !errors.Is(err, syscall.E2BIG) {
		t.Fatalf("Reexec: %v, want the exec's E2BIG", err)
	}
	if !hooked || !undone {
		t.Fatalf("hooks: before %v, undone %v", hooked, undone)
	}
	if sawInheritable != len(files) {
		t.Fatalf("%d of %d descriptors inheritable at the exec", sawInheritable, len(files))
	}
	// The hand-over's memfd is the one descriptor more.
	if sawOpen != before+1 {
		t.Fatalf("%d descriptors open at the exec, %d before: passed ones were duplicated", sawOpen, before)
	}
	var stateFD string
	for _, kv := range sawEnv {
		if len(kv) >= maxArgStrlen/4 {
			t.Fatalf("an environment string of %d bytes: %.60s…", len(kv), kv)
		}
		if v, ok := strings.CutPrefix(kv, handoverFDEnv+"="); ok {
			stateFD = v
		}
		if strings.HasPrefix(kv, inheritFDsEnv+"=") || strings.HasPrefix(kv, inheritNamesEnv+"=") {
			t.Fatalf("the old variables were written for a table of %d", len(files))
		}
	}
	if stateFD == "" || !strings.Contains(strings.Join(sawEnv, "\n"), "CHATD_TEST_HOOK=1") {
		t.Fatalf("environment lacks the hand-over's number or the hook's variable")
	}
	if len(st.Descriptors) != len(files) {
		t.Fatalf("the table has %d entries, want %d", len(st.Descriptors), len(files))
	}
	for _, f := range files {
		if !closeOnExec(t, int(f.Fd())) {
			t.Fatalf("descriptor %d still inheritable after the failed exec", f.Fd())
		}
	}
	if after := openFDs(t); after != before {
		t.Fatalf("%d descriptors open after the failed exec, %d before", after, before)
	}
}

// A real exec the kernel refuses (one environment string over 128 KiB):
// Reexec returns E2BIG and the process goes on.
func TestReexecRefusedByTheKernel(t *testing.T) {
	if os.Getenv("REEXEC_ROLE") != "" {
		t.Skip("inside the re-exec server")
	}
	t.Setenv("CHATD_TEST_HUGE", strings.Repeat("x", maxArgStrlen+1))
	passed, files := passedPipes(t, 3)
	err := Reexec(&State{}, passed, ExecHooks{})
	if !errors.Is(err, syscall.E2BIG) {
		t.Fatalf("Reexec: %v, want E2BIG", err)
	}
	for _, f := range files {
		if !closeOnExec(t, int(f.Fd())) {
			t.Fatal("a descriptor stayed inheritable")
		}
	}
}

// Reexeced takes the descriptors the table in the hand-over names, and
// only those; an older version's variables still work.
func TestReexecedTakesWhatTheTableNames(t *testing.T) {
	pipe := func() (int, int) {
		var p [2]int
		if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
			t.Fatal(err)
		}
		return p[0], p[1]
	}
	a, aw := pipe()
	b, bw := pipe()
	defer unix.Close(aw)
	defer unix.Close(bw)
	st := &State{Version: "v", Descriptors: []Descriptor{{FD: a, Name: "client.1234567890123456"}, {FD: b, Name: fdstore.ListenerName}}}
	f, err := WriteFile(st)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(handoverFDEnv, strconv.Itoa(int(f.Fd())))
	t.Setenv(inheritFDsEnv, "")
	files, err := Reexeced()
	if err != nil {
		t.Fatalf("Reexeced: %v", err)
	}
	if os.Getenv(handoverFDEnv) != "" {
		t.Fatal("the variable stayed set")
	}
	if got := files.Take("client.1234567890123456"); got == nil || int(got.Fd()) != a {
		t.Fatal("the connection is not taken under its name")
	} else {
		got.Close()
	}
	if got := files.Take(fdstore.ListenerName); got == nil {
		t.Fatal("the listener is not taken")
	} else {
		got.Close()
	}
	sf := files.Take(fdstore.StateName)
	if sf == nil {
		t.Fatal("the hand-over is not among the files")
	}
	back, problems, err := ReadFile(sf)
	if err != nil || len(problems) > 0 || back.Version != "v" {
		t.Fatalf("hand-over read back: %+v %v %v", back, problems, err)
	}

	// An older chatd's variables: numbers and names.
	c, cw := pipe()
	defer unix.Close(cw)
	t.Setenv(inheritFDsEnv, strconv.Itoa(c))
	t.Setenv(inheritNamesEnv, "client.7")
	files, err = Reexeced()
	if err != nil || files.Len() != 1 {
		t.Fatalf("old variables: %d files, %v", files.Len(), err)
	}
	files.Take("client.7").Close()
}
