package fdstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Held is one connection taken back out of a holder.
type Held struct {
	// ID is the connection's ID as it was added, or 0 when the message it
	// came in could not be read whole: the server cannot tell who it is
	// and should tell the client and close it.
	ID uint64
	// Conn is the connection, ready to be served.
	Conn net.Conn
	// Shard is the store name of the shard it came from.
	Shard string
}

// Drain takes every connection out of the holder shards (the read ends the
// previous process stored) and closes the shards; their store entries stay
// until the caller removes them, which it should do only once the
// connections are held again by a new Holder. A connection that came
// through two shards (a crash during a rebuild) is returned once. Problems
// are returned with what could be taken, never instead of it.
func Drain(shards []*os.File) ([]Held, []error) {
	var held []Held
	var errs []error
	seen := make(map[uint64]bool)
	for _, f := range shards {
		h, err := drainOne(f)
		f.Close()
		errs = append(errs, err...)
		for _, c := range h {
			if c.ID != 0 && seen[c.ID] {
				c.Conn.Close() // a duplicate of a socket already taken
				continue
			}
			seen[c.ID] = true
			held = append(held, c)
		}
	}
	return held, errs
}

func drainOne(f *os.File) ([]Held, []error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, []error{fmt.Errorf("drain %s: %w", f.Name(), err)}
	}
	var held []Held
	var errs []error
	buf := make([]byte, holderMsgMax+1)
	oob := make([]byte, unix.CmsgSpace(4*MaxFDsPerMessage))
	cerr := rc.Control(func(fd uintptr) {
		// Bounded: a shard holds at most what its sender's buffer took.
		for range 1 << 20 {
			n, oobn, flags, _, err := unix.Recvmsg(int(fd), buf, oob, unix.MSG_DONTWAIT|unix.MSG_CMSG_CLOEXEC)
			if err == unix.EINTR {
				continue
			}
			if err == unix.EAGAIN {
				return
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("drain %s: recvmsg: %w", f.Name(), err))
				return
			}
			if n == 0 && oobn == 0 {
				return // empty and the writer is gone
			}
			fds, perr := parseRights(oob[:oobn])
			ids, ierr := parseIDs(buf[:n], len(fds))
			switch {
			case perr != nil:
				errs = append(errs, fmt.Errorf("drain %s: %w", f.Name(), perr))
			case flags&unix.MSG_CTRUNC != 0:
				errs = append(errs, fmt.Errorf("drain %s: descriptors cut off (open-file limit reached?)", f.Name()))
			case flags&unix.MSG_TRUNC != 0:
				errs = append(errs, fmt.Errorf("drain %s: message longer than %d bytes", f.Name(), holderMsgMax))
			case ierr != nil:
				errs = append(errs, fmt.Errorf("drain %s: %w", f.Name(), ierr))
			}
			ok := perr == nil && ierr == nil && flags&(unix.MSG_CTRUNC|unix.MSG_TRUNC) == 0
			for i, cfd := range fds {
				var id uint64
				if ok {
					id = ids[i]
				}
				c, err := Conn(os.NewFile(uintptr(cfd), "conn-"+strconv.FormatUint(id, 10)))
				if err != nil {
					errs = append(errs, fmt.Errorf("drain %s: %w", f.Name(), err))
					continue
				}
				held = append(held, Held{ID: id, Conn: c, Shard: f.Name()})
			}
		}
		errs = append(errs, fmt.Errorf("drain %s: too many messages", f.Name()))
	})
	if cerr != nil {
		errs = append(errs, fmt.Errorf("drain %s: %w", f.Name(), cerr))
	}
	return held, errs
}

func parseRights(oob []byte) ([]int, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, fmt.Errorf("control message: %w", err)
	}
	var fds []int
	for _, m := range msgs {
		if m.Header.Level != unix.SOL_SOCKET || m.Header.Type != unix.SCM_RIGHTS {
			continue
		}
		got, err := unix.ParseUnixRights(&m)
		if err != nil {
			return fds, fmt.Errorf("SCM_RIGHTS: %w", err)
		}
		fds = append(fds, got...)
	}
	return fds, nil
}

var errBadHolderMessage = errors.New("holder message")

func parseIDs(b []byte, nfds int) ([]uint64, error) {
	if len(b) == 0 || b[0] != holderMsgVersion {
		return nil, fmt.Errorf("%w: unknown version", errBadHolderMessage)
	}
	b = b[1:]
	if len(b)%8 != 0 || len(b)/8 != nfds {
		return nil, fmt.Errorf("%w: %d bytes of IDs for %d descriptors", errBadHolderMessage, len(b), nfds)
	}
	ids := make([]uint64, nfds)
	for i := range ids {
		ids[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	return ids, nil
}

// HoldsConns reports whether a holder shard among fs has connections
// queued in it (live or ended: only draining tells them apart), without
// taking anything.
func (fs *Files) HoldsConns() bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, f := range fs.files {
		if strings.HasPrefix(f.Name(), HolderPrefix) && queued(f) {
			return true
		}
	}
	return false
}

// queued peeks at a shard's first message. Without a control buffer: a
// peek with one would put duplicates of the descriptors in this process.
// Every message carries the IDs of its descriptors, so it has data; a
// shard whose writer is gone reads 0 when it is empty.
func queued(f *os.File) bool {
	rc, err := f.SyscallConn()
	if err != nil {
		return false
	}
	n := 0
	rc.Control(func(fd uintptr) {
		var b [1]byte
		for {
			n, _, _, _, err = unix.Recvmsg(int(fd), b[:], nil, unix.MSG_PEEK|unix.MSG_DONTWAIT)
			if err != unix.EINTR {
				return
			}
		}
	})
	return err == nil && n > 0
}
