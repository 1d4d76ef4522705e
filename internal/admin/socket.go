package admin

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/chatd/chatd/internal/lockfile"
	"github.com/chatd/chatd/internal/neterr"
	"github.com/chatd/chatd/internal/peercred"
	"github.com/chatd/chatd/internal/sockettrust"
	"github.com/chatd/chatd/internal/sysunit"
)

// probeTimeout bounds the dial that tells a live socket from a stale one.
const probeTimeout = time.Second

// InUseError is returned when another process is serving the admin socket:
// chatd refuses to start rather than take the socket over.
type InUseError struct {
	Path string
	PID  int // the process listening on it; 0 if unknown
}

func (e *InUseError) Error() string {
	if e.PID > 0 {
		// The service, when it is the one: that is what to talk to or stop.
		return fmt.Sprintf("%s is already serving the admin socket %s", lockfile.Holder{PID: e.PID, Unit: sysunit.Of(e.PID)}, e.Path)
	}
	return fmt.Sprintf("another process is already serving the admin socket %s", e.Path)
}

// socketFile is the admin socket this process created, identified by its
// inode so that it is removed at exit only if it is still ours, and the
// lock beside it that says it is ours.
type socketFile struct {
	path     string
	dev, ino uint64
	lock     *lockfile.File
}

// lockPath is the lock file beside the socket. Whoever holds it owns the
// socket: only the holder may clear a stale socket and listen there.
// Without it, two chatd starting together could both find the old socket
// dead, and the second would remove the first one's new, live socket.
func lockPath(socket string) string { return LockPath(socket) }

// LockPath is the lock file beside an admin socket, which the chatd
// serving the socket holds for its whole life.
func LockPath(socket string) string { return socket + ".lock" }

// listenSocket prepares the socket's directory, clears a stale socket, and
// listens at path with the given mode and group (gid < 0: leave the
// group alone). removedStale reports whether a stale socket was removed.
func listenSocket(path string, mode os.FileMode, gid int) (ln *net.UnixListener, own *socketFile, removedStale bool, err error) {
	if err := prepareDir(filepath.Dir(path), gid); err != nil {
		return nil, nil, false, err
	}
	lock, err := lockfile.Acquire(lockPath(path))
	var held *lockfile.HeldError
	if errors.As(err, &held) {
		return nil, nil, false, &InUseError{Path: path, PID: held.PID}
	}
	if err != nil {
		// In a directory everyone may write to (a socket right in /tmp),
		// the kernel does not let us open another user's file.
		if fi, serr := os.Lstat(lockPath(path)); serr == nil {
			if uid := fi.Sys().(*syscall.Stat_t).Uid; uid != 0 && int(uid) != os.Geteuid() {
				return nil, nil, false, fmt.Errorf("admin socket %s: its lock file belongs to %s, whose chatd serves (or served) this path; set admin.socket to a directory of your own",
					path, sockettrust.Describe(uid))
			}
		}
		return nil, nil, false, fmt.Errorf("admin socket %s: %w", path, err)
	}
	removedStale, err = clearStale(path)
	if err != nil {
		lock.Release()
		return nil, nil, false, err
	}
	// The socket is created with the process umask and then chmod'ed:
	// until then it is, if anything, less open than it will be, and every
	// request is authorized by its peer credentials in any case.
	ln, err = net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		lock.Release()
		return nil, nil, removedStale, fmt.Errorf("listen on admin socket %s: %w", path, neterr.Cause(err))
	}
	// Removal is ours to do, by inode: net's unlink-on-close goes by path
	// and could remove a socket another chatd has since put there.
	ln.SetUnlinkOnClose(false)
	fail := func(err error) (*net.UnixListener, *socketFile, bool, error) {
		ln.Close()
		os.Remove(path)
		lock.Release()
		return nil, nil, removedStale, err
	}
	if err := os.Chmod(path, mode); err != nil {
		return fail(fmt.Errorf("set admin socket mode %04o: %w", mode, neterr.Cause(err)))
	}
	if gid >= 0 {
		if err := os.Lchown(path, -1, gid); err != nil {
			return fail(fmt.Errorf("set admin socket %s group to gid %d: %w", path, gid, neterr.Cause(err)))
		}
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return fail(fmt.Errorf("admin socket %s: %w", path, neterr.Cause(err)))
	}
	st := fi.Sys().(*syscall.Stat_t)
	return ln, &socketFile{path: path, dev: uint64(st.Dev), ino: uint64(st.Ino), lock: lock}, removedStale, nil
}

// prepareDir creates the socket's directory 0750 (group gid, if set) when
// it is missing, and refuses one that others could use to swap the socket
// for their own (see sockettrust.ServerDir): owned by another user (who
// could then also receive the requests meant for chatd), or writable by
// other users.
func prepareDir(dir string, gid int) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return makeDirs(dir, gid)
	}
	if err != nil {
		return fmt.Errorf("admin socket directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("admin socket directory %s is not a directory", dir)
	}
	return sockettrust.ServerDir(dir, fi, uint32(os.Geteuid()), true)
}

// makeDirs creates dir and whichever of its parents are missing, each 0750
// and, if gid >= 0, in that group: the group must be able to pass through
// every directory chatd made to reach the socket.
func makeDirs(dir string, gid int) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if parent := filepath.Dir(dir); parent != dir {
		if err := makeDirs(parent, gid); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o750); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil // made meanwhile by someone else; prepareDir's checks do not apply to parents
		}
		return fmt.Errorf("create admin socket directory: %w", err)
	}
	// Mkdir's mode passed through the umask; say exactly what we mean.
	if err := os.Chmod(dir, 0o750); err != nil {
		return fmt.Errorf("create admin socket directory: %w", err)
	}
	if gid >= 0 {
		if err := os.Chown(dir, -1, gid); err != nil {
			return fmt.Errorf("set admin socket directory %s group to gid %d: %w", dir, gid, neterr.Cause(err))
		}
	}
	return nil
}

// clearStale looks at what is at path: nothing is fine; a socket nobody
// listens on is a leftover of a chatd that died, and is removed; a socket
// somebody answers on is an *InUseError; anything else is refused.
func clearStale(path string) (removed bool, err error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("admin socket: %w", err)
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return false, fmt.Errorf("admin socket path %s is a symbolic link; refusing to use it", path)
	case fi.Mode()&fs.ModeSocket == 0:
		return false, fmt.Errorf("admin socket path %s exists and is not a socket; refusing to replace it", path)
	}
	// Only a name in a directory everyone may write to (a socket right in
	// /tmp) can be another user's: theirs, alive or not, not ours to take.
	if uid := fi.Sys().(*syscall.Stat_t).Uid; uid != 0 && int(uid) != os.Geteuid() {
		return false, fmt.Errorf("admin socket %s belongs to %s, whose program serves (or served) it; set admin.socket to a directory of your own",
			path, sockettrust.Describe(uid))
	}
	c, err := net.DialTimeout("unix", path, probeTimeout)
	if err == nil {
		pid := 0
		if cred, err := peercred.Get(c); err == nil {
			pid = cred.PID
		}
		c.Close()
		return false, &InUseError{Path: path, PID: pid}
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return false, fmt.Errorf("admin socket %s exists and cannot be checked: %w", path, neterr.Cause(err))
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("remove stale admin socket: %w", err)
	}
	return true, nil
}

// remove deletes the socket if the file at its path is still the one this
// process created, then gives up the lock.
func (f *socketFile) remove() error {
	err := f.removeSocket()
	if lerr := f.lock.Release(); lerr != nil {
		return errors.Join(err, lerr)
	}
	return err
}

func (f *socketFile) removeSocket() error {
	fi, err := os.Lstat(f.path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("admin socket: %w", err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if uint64(st.Dev) != f.dev || uint64(st.Ino) != f.ino {
		return nil // replaced by someone else: theirs now
	}
	if err := os.Remove(f.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove admin socket: %w", err)
	}
	return nil
}
