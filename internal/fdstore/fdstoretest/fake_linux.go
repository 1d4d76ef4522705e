// Package fdstoretest is a stand-in for systemd's file-descriptor store in
// tests: it listens on a datagram socket to be given as NOTIFY_SOCKET, keeps
// what FDSTORE=1 sends it, drops what FDSTOREREMOVE=1 names, and hands the
// rest to a next process the way PID 1 does (LISTEN_FDS, LISTEN_FDNAMES).
package fdstoretest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Entry is one stored descriptor.
type Entry struct {
	Name string
	Poll bool // false when the message said FDPOLL=0
	File *os.File
}

// Store is the fake store. Its methods are safe for concurrent use.
type Store struct {
	path string
	conn *net.UnixConn
	done chan struct{}

	mu       sync.Mutex
	entries  []Entry
	messages []string
}

// New starts a fake store in t's temporary directory; it stops, closing all
// it holds, when the test ends.
func New(t testing.TB) *Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatalf("fake notify socket: %v", err)
	}
	_ = conn.SetReadBuffer(4 << 20)
	s := &Store{path: path, conn: conn, done: make(chan struct{})}
	go s.serve()
	t.Cleanup(s.close)
	return s
}

// Path is the value for NOTIFY_SOCKET.
func (s *Store) Path() string { return s.path }

func (s *Store) close() {
	s.conn.Close()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.entries {
		e.File.Close()
	}
	s.entries = nil
}

func (s *Store) serve() {
	defer close(s.done)
	buf := make([]byte, 4096)
	oob := make([]byte, syscall.CmsgSpace(4*253))
	for {
		n, oobn, _, _, err := s.conn.ReadMsgUnix(buf, oob)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		var fds []int
		if msgs, err := syscall.ParseSocketControlMessage(oob[:oobn]); err == nil {
			for _, m := range msgs {
				if got, err := syscall.ParseUnixRights(&m); err == nil {
					fds = append(fds, got...)
				}
			}
		}
		s.handle(string(buf[:n]), fds)
	}
}

func (s *Store) handle(msg string, fds []int) {
	fields := map[string]string{}
	for _, line := range strings.Split(msg, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			fields[k] = v
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages = append(s.messages, msg)
	switch {
	case fields["FDSTORE"] == "1":
		name := fields["FDNAME"]
		if name == "" {
			name = "stored"
		}
		for _, fd := range fds {
			syscall.CloseOnExec(fd)
			s.entries = append(s.entries, Entry{Name: name, Poll: fields["FDPOLL"] != "0", File: os.NewFile(uintptr(fd), name)})
		}
		return
	case fields["FDSTOREREMOVE"] == "1":
		kept := s.entries[:0]
		for _, e := range s.entries {
			if e.Name == fields["FDNAME"] {
				e.File.Close()
				continue
			}
			kept = append(kept, e)
		}
		s.entries = kept
	}
	for _, fd := range fds { // descriptors with any other message are not kept
		syscall.Close(fd)
	}
}

// Entries returns what the store holds now, in the order it was stored.
func (s *Store) Entries() []Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Entry(nil), s.entries...)
}

// dupEntries is Entries with a duplicate of each descriptor, owned by the
// caller; duplicating under the lock orders it before any removal.
func (s *Store) dupEntries() ([]Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var dups []Entry
	for _, e := range s.entries {
		fd, err := syscall.Dup(int(e.File.Fd()))
		if err != nil {
			for _, d := range dups {
				d.File.Close()
			}
			return nil, fmt.Errorf("dup %s: %w", e.Name, err)
		}
		syscall.CloseOnExec(fd)
		dups = append(dups, Entry{Name: e.Name, Poll: e.Poll, File: os.NewFile(uintptr(fd), e.Name)})
	}
	return dups, nil
}

// Dup returns a duplicate of every stored descriptor whose name starts
// with prefix, for the test to drain and close; the store keeps its own.
func (s *Store) Dup(t testing.TB, prefix string) []*os.File {
	t.Helper()
	entries, err := s.dupEntries()
	if err != nil {
		t.Fatal(err)
	}
	var files []*os.File
	for _, e := range entries {
		if strings.HasPrefix(e.Name, prefix) {
			files = append(files, e.File)
		} else {
			e.File.Close()
		}
	}
	return files
}

// Names returns the names of what the store holds, in order.
func (s *Store) Names() []string {
	var names []string
	for _, e := range s.Entries() {
		names = append(names, e.Name)
	}
	return names
}

// Messages returns every message received, in order.
func (s *Store) Messages() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.messages...)
}

// WaitFor polls until cond holds for the entries or timeout passes, and
// reports whether it held. Messages arrive asynchronously, as at PID 1.
func (s *Store) WaitFor(timeout time.Duration, cond func([]Entry) bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond(s.Entries()) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// HandTo sets cmd up to receive every stored descriptor as PID 1 would:
// as descriptors 3… with LISTEN_FDS and LISTEN_FDNAMES. PID 1 sets
// LISTEN_PID to the child's PID after fork, which exec.Cmd cannot; the
// child finds LISTEN_PID_SELF=1 instead and must set LISTEN_PID to its own
// PID before it reads them (see SetListenPID). The child gets duplicates,
// closed when the test ends, so that the store may drop its own copies at
// any time.
func (s *Store) HandTo(t testing.TB, cmd *exec.Cmd) {
	t.Helper()
	entries, err := s.dupEntries()
	if err != nil {
		t.Fatalf("hand over: %v", err)
	}
	var names []string
	for _, e := range entries {
		t.Cleanup(func() { e.File.Close() })
		cmd.ExtraFiles = append(cmd.ExtraFiles, e.File)
		names = append(names, e.Name)
	}
	cmd.Env = append(cmd.Env,
		"LISTEN_FDS="+strconv.Itoa(len(entries)),
		"LISTEN_FDNAMES="+strings.Join(names, ":"),
		"LISTEN_PID_SELF=1",
		"NOTIFY_SOCKET="+s.path)
}

// SetListenPID is called first thing by a child started with HandTo.
func SetListenPID() {
	if os.Getenv("LISTEN_PID_SELF") == "1" {
		os.Setenv("LISTEN_PID", strconv.Itoa(os.Getpid()))
		os.Unsetenv("LISTEN_PID_SELF")
	}
}
