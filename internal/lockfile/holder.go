package lockfile

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/chatd/chatd/internal/sysunit"
)

// Holder is the process that holds a lock, as far as this system can
// tell: an error message that names it tells the operator what to stop
// or which flag to give, where "another chatd" leaves them guessing.
type Holder struct {
	PID  int    // 0 if unknown
	Unit string // the systemd unit it runs in ("chatd.service"); "" if none or unknown
}

// String names the holder for a message: "the chatd service
// (chatd.service, pid 4711)", "another chatd (pid 4711)", or "another
// chatd".
func (h Holder) String() string {
	switch {
	// A chatd's own unit only: a chatd started by hand from a shell that
	// some other service runs (a CI runner's) is not that service.
	case h.PID > 0 && strings.HasPrefix(h.Unit, "chatd"):
		return "the " + strings.TrimSuffix(h.Unit, ".service") + " service (" + h.Unit + ", pid " + strconv.Itoa(h.PID) + ")"
	case h.PID > 0:
		return "another chatd (pid " + strconv.Itoa(h.PID) + ")"
	}
	return "another chatd"
}

// HolderOf finds who holds the lock on path (a lock file or a locked
// directory) without taking it, even briefly: a probe that took the lock
// could make a chatd starting at that instant believe it held elsewhere.
// Linux lists every lock with its owner in /proc/locks; elsewhere, or if
// the lock is not listed, a lock file's content names its holder (a
// locked directory holds none). A Holder with PID 0 means nobody could be
// found: the lock may have been released meanwhile.
func HolderOf(path string) Holder {
	pid := lockOwner(path)
	if pid == 0 {
		if b, err := os.ReadFile(path); err == nil {
			if p, err := strconv.Atoi(string(bytes.TrimSpace(b))); err == nil && p > 0 && alive(p) {
				pid = p
			}
		}
	}
	if pid == 0 {
		return Holder{}
	}
	return Holder{PID: pid, Unit: sysunit.Of(pid)}
}

// lockOwner is the PID /proc/locks gives for a flock on path's inode, or
// 0. Its lines read "1: FLOCK  ADVISORY  WRITE 4711 fe:00:9984258 0 EOF":
// the device's major and minor in hex, then the inode.
func lockOwner(path string) int {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0
	}
	f, err := os.Open("/proc/locks")
	if err != nil {
		return 0
	}
	defer f.Close()
	want := strconv.FormatUint(uint64(unix.Major(uint64(st.Dev))), 16) + ":" +
		strconv.FormatUint(uint64(unix.Minor(uint64(st.Dev))), 16) + ":" + strconv.FormatUint(uint64(st.Ino), 10)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		// A waiter's line has "->" after the number: it does not hold it.
		if len(fields) < 6 || fields[1] != "FLOCK" {
			continue
		}
		if sameDevInode(fields[5], want) {
			if pid, err := strconv.Atoi(fields[4]); err == nil && pid > 0 {
				return pid
			}
		}
	}
	return 0
}

// sameDevInode compares /proc/locks' "fe:00:9984258" with want, written
// without leading zeros.
func sameDevInode(field, want string) bool {
	parts := strings.Split(field, ":")
	if len(parts) != 3 {
		return false
	}
	major, err1 := strconv.ParseUint(parts[0], 16, 32)
	minor, err2 := strconv.ParseUint(parts[1], 16, 32)
	if err1 != nil || err2 != nil {
		return false
	}
	return strconv.FormatUint(major, 16)+":"+strconv.FormatUint(minor, 16)+":"+parts[2] == want
}

// alive reports whether a process with this PID exists.
func alive(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || err == unix.EPERM
}
