// Package sockettrust decides whether a Unix socket, or the directory
// meant for one, can only have been put where it is by users the program
// trusts. chatctl asks it before it sends a request to an admin socket,
// chatd before it creates one: a directory another user made first (the
// fallback /tmp/chatd-UID is a name anyone can take) would otherwise hand
// chatctl's requests, and the answers it believes, to that user.
//
// The rule, as OpenSSH applies it to the files it trusts: every directory
// from the socket up to / belongs to root, to the user asking, or to the
// user who owns the socket (its keeper), and none is writable by anyone
// else; a directory writable by everyone is accepted only with the sticky
// bit (/tmp), and then the name in it must belong to root or to the user
// asking, because in /tmp anyone may be the first to create a name.
package sockettrust

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// Describe names a uid for messages: "user alice (uid 1000)", or "uid
// 1234" when the user database does not know it.
func Describe(uid uint32) string {
	id := strconv.FormatUint(uint64(uid), 10)
	if u, err := user.LookupId(id); err == nil {
		return "user " + u.Username + " (uid " + id + ")"
	}
	return "uid " + id
}

// UntrustedError says why a socket path is not trusted and what to do.
type UntrustedError struct {
	Socket string // the socket path as given
	Why    string // "/tmp/chatd-1000 belongs to user mallory (uid 1001) ..."
	Fix    string // what the user can do about it
}

func (e *UntrustedError) Error() string {
	return fmt.Sprintf("refusing the admin socket %s: %s; %s", e.Socket, e.Why, e.Fix)
}

// ownerOf is the owner and mode of an lstat'ed file.
func ownerOf(fi fs.FileInfo) (uid, gid uint32) {
	st := fi.Sys().(*syscall.Stat_t)
	return st.Uid, st.Gid
}

// writableByOthers reports whether someone other than a directory's owner
// (and root's group) may create or remove names in it.
func writableByOthers(fi fs.FileInfo) bool {
	_, gid := ownerOf(fi)
	m := fi.Mode()
	return m&0o002 != 0 || m&0o020 != 0 && gid != 0
}

// Keeper checks the path up to the socket at path for a program running as
// uid me, and returns the uid who keeps the socket: its owner, when nobody
// but root, me and that owner could have put it there. found is false
// when there is no socket (nothing at path, or path cannot be looked at):
// the directories that exist are checked all the same, and whoever then
// answers on the path must be root or me.
//
// own says that path is me's own default socket, which must be me's (or
// root's) whoever else could have put it there.
func Keeper(path string, me uint32, own bool, fix string) (keeper uint32, found bool, err error) {
	target := path
	real, err := filepath.EvalSymlinks(target)
	for err != nil {
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
			// Not ours to look at (a directory closed to us): the
			// connection fails the same way, with its own message.
			return 0, false, nil
		}
		parent := filepath.Dir(target)
		if parent == target {
			return 0, false, nil
		}
		target = parent
		real, err = filepath.EvalSymlinks(target)
	}
	// Every directory up to / is checked, also for a relative --socket.
	if real, err = filepath.Abs(real); err != nil {
		return 0, false, nil
	}
	fi, err := os.Lstat(real)
	if err != nil {
		return 0, false, nil
	}
	found = target == path && fi.Mode()&fs.ModeSocket != 0
	keeper, _ = ownerOf(fi)
	untrusted := func(why string) (uint32, bool, error) {
		return 0, false, &UntrustedError{Socket: path, Why: why, Fix: fix}
	}
	if own && keeper != 0 && keeper != me {
		return untrusted(fmt.Sprintf("%s belongs to %s, not to you", real, Describe(keeper)))
	}
	trusted := func(uid uint32) bool { return uid == 0 || uid == me || uid == keeper }
	child, childOwner := real, keeper
	for dir := filepath.Dir(real); ; dir = filepath.Dir(dir) {
		di, err := os.Lstat(dir)
		if err != nil {
			return untrusted(fmt.Sprintf("directory %s cannot be checked: %v", dir, err))
		}
		owner, gid := ownerOf(di)
		if !trusted(owner) {
			return untrusted(fmt.Sprintf("directory %s belongs to %s, who could replace what is in it", dir, Describe(owner)))
		}
		if writableByOthers(di) {
			if di.Mode()&fs.ModeSticky == 0 {
				return untrusted(fmt.Sprintf("directory %s is writable by others (mode %04o, group %d), who could replace what is in it", dir, di.Mode().Perm(), gid))
			}
			if childOwner != 0 && childOwner != me {
				return untrusted(fmt.Sprintf("%s belongs to %s and is in %s, where anyone may create a name first", child, Describe(childOwner), dir))
			}
		}
		if dir == filepath.Dir(dir) {
			break
		}
		child, childOwner = dir, owner
	}
	return keeper, found, nil
}

// CheckPeer checks the uid of the process answering on a socket that
// Keeper returned keeper and found for: root, me, or (found) the keeper.
func CheckPeer(socket string, peerUID uint32, peerPID int, me, keeper uint32, found bool, fix string) error {
	if peerUID == 0 || peerUID == me || found && peerUID == keeper {
		return nil
	}
	who := Describe(peerUID)
	if peerPID > 0 {
		who += ", pid " + strconv.Itoa(peerPID)
	}
	expected := "root or you"
	if found && keeper != me && keeper != 0 {
		expected = "root, you or the socket's owner " + Describe(keeper)
	}
	return &UntrustedError{Socket: socket, Why: fmt.Sprintf("the process answering on it is %s, not %s", who, expected), Fix: fix}
}

// ServerDir checks a directory chatd, running as uid me, is about to put
// its admin socket in: it must belong to root or to me (unless checkOwner
// is false: root checking a service's configuration, whose directory
// belongs to the service's user), and no one else may be able to replace
// the socket in it: not writable by a group other than root's, and
// writable by everyone only with the sticky bit.
func ServerDir(dir string, fi fs.FileInfo, me uint32, checkOwner bool) error {
	const fix = "remove it (as root if need be), or set admin.socket (or XDG_RUNTIME_DIR) to a directory of your own"
	owner, gid := ownerOf(fi)
	if checkOwner && owner != 0 && owner != me {
		return fmt.Errorf("admin socket directory %s belongs to %s, not to root or to %s, which runs chatd: someone else made it, and could receive the requests meant for chatd; %s",
			dir, Describe(owner), Describe(me), fix)
	}
	m := fi.Mode()
	switch {
	case m&0o002 != 0 && m&fs.ModeSticky == 0:
		return fmt.Errorf("admin socket directory %s is writable by everyone (mode %04o) without the sticky bit, so anyone could replace the socket; %s", dir, m.Perm(), fix)
	case m&0o020 != 0 && gid != 0 && m&fs.ModeSticky == 0:
		return fmt.Errorf("admin socket directory %s is writable by group %s (mode %04o), whose members could replace the socket; run chmod g-w %s, or %s", dir, groupName(gid), m.Perm(), dir, fix)
	}
	return nil
}

func groupName(gid uint32) string {
	id := strconv.FormatUint(uint64(gid), 10)
	if g, err := user.LookupGroupId(id); err == nil {
		return g.Name
	}
	return id
}
