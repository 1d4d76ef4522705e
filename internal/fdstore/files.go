package fdstore

import (
	"fmt"
	"net"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/coreos/go-systemd/v22/activation"
)

// Names under which chatd keeps its descriptors in the store.
const (
	// ListenerName is the TCP listener, stored once; it never closes, so
	// connection attempts during a restart wait in its backlog.
	ListenerName = "listener"
	// StateName is the planned-restart state hand-over (a memfd).
	StateName = "state"
	// HolderPrefix starts the name of every holder shard ("conns.<gen>.<n>").
	HolderPrefix = "conns."
	// ConfigPrefix starts the name of the config kept for a start after a
	// crash (a memfd, "config.<time>"); briefly two during a replacement.
	ConfigPrefix = "config."
)

// Files is a set of named descriptors handed to this process, from which the
// caller takes what it knows; what nobody took is closed by CloseRest.
type Files struct {
	mu    sync.Mutex
	files []*os.File
}

// NewFiles wraps files whose Name() is the name they were handed over with.
func NewFiles(files []*os.File) *Files { return &Files{files: files} }

// Inherited returns what systemd handed over through LISTEN_FDS and
// LISTEN_FDNAMES (nothing when they are not meant for this PID), and unsets
// those variables so that no child sees them.
func Inherited() *Files { return NewFiles(activation.Files(true)) }

// Len is how many descriptors have not been taken yet.
func (fs *Files) Len() int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return len(fs.files)
}

// Take removes and returns the first descriptor named name, or nil.
func (fs *Files) Take(name string) *os.File {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i, f := range fs.files {
		if f.Name() == name {
			fs.files = append(fs.files[:i], fs.files[i+1:]...)
			return f
		}
	}
	return nil
}

// TakePrefix removes and returns every descriptor whose name starts with
// prefix, sorted by name.
func (fs *Files) TakePrefix(prefix string) []*os.File {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var taken, rest []*os.File
	for _, f := range fs.files {
		if strings.HasPrefix(f.Name(), prefix) {
			taken = append(taken, f)
		} else {
			rest = append(rest, f)
		}
	}
	fs.files = rest
	sort.SliceStable(taken, func(i, j int) bool { return taken[i].Name() < taken[j].Name() })
	return taken
}

// CloseRest closes every descriptor nobody took and returns their names, so
// that the caller can log them and remove them from the store.
func (fs *Files) CloseRest() []string {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var names []string
	for _, f := range fs.files {
		names = append(names, f.Name())
		f.Close()
	}
	fs.files = nil
	return names
}

// Listener turns a handed-over listening socket back into a net.Listener and
// closes f (net.FileListener works on a duplicate).
func Listener(f *os.File) (net.Listener, error) {
	defer f.Close()
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("inherited listener %s: %w", f.Name(), err)
	}
	return ln, nil
}

// Conn turns a handed-over connected socket back into a net.Conn and closes
// f. Closing the os.File, not its number, matters: an os.File left open
// closes its number from a finalizer later, when that number may belong to
// another connection.
func Conn(f *os.File) (net.Conn, error) {
	defer f.Close()
	c, err := net.FileConn(f)
	if err != nil {
		return nil, fmt.Errorf("inherited connection %s: %w", f.Name(), err)
	}
	return c, nil
}
