package fdstore

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

var errClosed = errors.New("fdstore: use of closed notifier or holder")

// Notifier sends descriptors to, and removes them from, systemd's
// file-descriptor store over NOTIFY_SOCKET. It is safe for concurrent use.
type Notifier struct {
	mu   sync.Mutex
	sock int
	addr *unix.SockaddrUnix
}

// NewNotifier returns a Notifier for the socket named by NOTIFY_SOCKET, or
// ErrNoNotifySocket when the variable is unset (not run by systemd, or by a
// unit that is not Type=notify).
func NewNotifier() (*Notifier, error) {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return nil, ErrNoNotifySocket
	}
	return NewNotifierAt(path)
}

// NewNotifierAt returns a Notifier that sends to the datagram socket at
// path; a leading '@' names an abstract socket, as in NOTIFY_SOCKET.
func NewNotifierAt(path string) (*Notifier, error) {
	s, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("notify socket: %w", err)
	}
	return &Notifier{sock: s, addr: &unix.SockaddrUnix{Name: path}}, nil
}

// Close releases the Notifier's own socket; what was stored stays stored.
func (n *Notifier) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.sock < 0 {
		return nil
	}
	err := unix.Close(n.sock)
	n.sock = -1
	return err
}

// Store sends the descriptor behind c (a *net.TCPListener, *net.TCPConn,
// *os.File …) to the store under name. poll false adds FDPOLL=0, which keeps
// PID 1 from dropping the entry when it reports POLLHUP (see the package
// comment). systemd acknowledges nothing: a unit without
// FileDescriptorStoreMax= silently drops what it is sent.
func (n *Notifier) Store(name string, c syscall.Conn, poll bool) error {
	if err := ValidName(name); err != nil {
		return err
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return fmt.Errorf("store %s: %w", name, err)
	}
	msg := "FDSTORE=1\nFDNAME=" + name + "\n"
	if !poll {
		msg += "FDPOLL=0\n"
	}
	var sendErr error
	if err := rc.Control(func(fd uintptr) {
		sendErr = n.send(msg, int(fd))
	}); err != nil {
		return fmt.Errorf("store %s: %w", name, err)
	}
	if sendErr != nil {
		return fmt.Errorf("store %s: %w", name, sendErr)
	}
	return nil
}

// storeFD is Store for a raw descriptor the caller owns.
func (n *Notifier) storeFD(name string, fd int, poll bool) error {
	msg := "FDSTORE=1\nFDNAME=" + name + "\n"
	if !poll {
		msg += "FDPOLL=0\n"
	}
	if err := n.send(msg, fd); err != nil {
		return fmt.Errorf("store %s: %w", name, err)
	}
	return nil
}

// Remove asks PID 1 to close every stored descriptor named name.
func (n *Notifier) Remove(name string) error {
	if err := ValidName(name); err != nil {
		return err
	}
	if err := n.send("FDSTOREREMOVE=1\nFDNAME="+name+"\n", -1); err != nil {
		return fmt.Errorf("remove %s from the fd store: %w", name, err)
	}
	return nil
}

func (n *Notifier) send(msg string, fd int) error {
	var oob []byte
	if fd >= 0 {
		oob = unix.UnixRights(fd)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.sock < 0 {
		return errClosed
	}
	for {
		err := unix.Sendmsg(n.sock, []byte(msg), oob, n.addr, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("sendmsg to %s: %w", n.addr.Name, err)
		}
		return nil
	}
}

// ValidName reports whether name is a safe FDNAME: 1 to 255 visible ASCII
// characters other than ':' (the LISTEN_FDNAMES separator). systemd also
// allows spaces; chatd's names never need them.
func ValidName(name string) error {
	if name == "" || len(name) > 255 {
		return fmt.Errorf("fd name %q: must be 1 to 255 characters", name)
	}
	if i := strings.IndexFunc(name, func(r rune) bool { return r <= ' ' || r > '~' || r == ':' }); i >= 0 {
		return fmt.Errorf("fd name %q: character %q not allowed", name, name[i])
	}
	return nil
}
