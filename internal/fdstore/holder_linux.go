package fdstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

const (
	// MaxFDsPerMessage is the kernel's SCM_MAX_FD: the most descriptors
	// one SCM_RIGHTS message may carry.
	MaxFDsPerMessage = 253
	// MaxBatchInterval bounds how long an accepted connection may wait
	// before it is sent into a holder, and so what a crash can lose.
	MaxBatchInterval = 50 * time.Millisecond
	// DefaultBatchInterval is used when HolderOptions leaves it zero.
	DefaultBatchInterval = 20 * time.Millisecond
	// DefaultSendBuffer is the socket buffer asked for each shard's write
	// end. In-flight messages are charged to it until the next process
	// reads them; 4 MiB is net.core.wmem_max on Debian 12.
	DefaultSendBuffer = 4 << 20
	// DefaultRebuildMinDead is how many ended connections must be left in
	// the holder (and outnumber the live ones) before it is rebuilt.
	DefaultRebuildMinDead = 1024
	// maxShards bounds how many socketpairs one holder opens.
	maxShards = 64

	// holderMsgVersion is the first byte of every holder message; the rest
	// is one little-endian uint64 connection ID per descriptor, in order.
	holderMsgVersion = 1
	holderMsgMax     = 1 + 8*MaxFDsPerMessage
)

// ErrNotHeld means the store did not keep a holder shard (its read end was
// closed, typically because the unit has no FileDescriptorStoreMax=): the
// connections are served as usual but would not survive a crash.
var ErrNotHeld = errors.New("holder not kept by the service manager (is FileDescriptorStoreMax= set?)")

// HolderOptions configure a Holder.
type HolderOptions struct {
	// BatchInterval is the longest a connection waits before it is sent
	// into the holder; zero means DefaultBatchInterval, and values above
	// MaxBatchInterval are lowered to it.
	BatchInterval time.Duration
	// SendBuffer is the SO_SNDBUF asked per shard; zero means
	// DefaultSendBuffer.
	SendBuffer int
	// RebuildMinDead is the least number of ended connections that
	// triggers a rebuild; zero means DefaultRebuildMinDead.
	RebuildMinDead int
	// OnError receives the errors of batches flushed in the background.
	OnError func(error)
}

// HolderStats is what a Holder reports for status and metrics.
type HolderStats struct {
	Live     int    // connections held and still open
	Dead     int    // ended connections still referenced in a shard
	Pending  int    // accepted, not yet sent into a shard
	Shards   int    // socketpairs in use (store entries)
	Sent     uint64 // descriptors sent into shards, rebuilds included
	Messages uint64 // sendmsg calls that succeeded
	Full     uint64 // times a shard's buffer was full (EAGAIN)
	Rebuilds uint64
}

// Holder keeps the process's connections in flight inside socketpairs whose
// read ends live in systemd's store. Add each accepted connection, Forget it
// when it ends. It is safe for concurrent use.
type Holder struct {
	store *Notifier
	opt   HolderOptions

	mu      sync.Mutex
	gen     string
	nextGen int
	shards  []shard
	live    map[uint64]syscall.RawConn
	pending []pendingFD
	dead    int
	timer   *time.Timer
	armed   bool
	rebuild bool
	closed  bool
	stats   HolderStats

	// inflightBudget is 3/4 of RLIMIT_NOFILE when the kernel limits what
	// is in flight (InflightLimited), otherwise 0.
	inflightBudget int
}

type shard struct {
	name string
	w    int // write end; the read end is in the store
}

type pendingFD struct {
	id uint64
	fd int // a duplicate owned by the holder until sent
}

// NewHolder opens the first shard of a new holder and stores its read end.
// Names of a holder start with HolderPrefix and are unique per process and
// generation, so a new holder never collides with one being drained.
func NewHolder(store *Notifier, opt HolderOptions) (*Holder, error) {
	if opt.BatchInterval <= 0 {
		opt.BatchInterval = DefaultBatchInterval
	}
	if opt.BatchInterval > MaxBatchInterval {
		opt.BatchInterval = MaxBatchInterval
	}
	if opt.SendBuffer <= 0 {
		opt.SendBuffer = DefaultSendBuffer
	}
	if opt.RebuildMinDead <= 0 {
		opt.RebuildMinDead = DefaultRebuildMinDead
	}
	h := &Holder{store: store, opt: opt, live: make(map[uint64]syscall.RawConn)}
	var lim unix.Rlimit
	if InflightLimited() && unix.Getrlimit(unix.RLIMIT_NOFILE, &lim) == nil && lim.Cur < 1<<30 {
		h.inflightBudget = int(lim.Cur) * 3 / 4
	}
	h.timer = time.AfterFunc(time.Hour, h.background)
	h.timer.Stop()
	h.gen = h.newGen()
	s, err := h.openShard(h.gen, 0)
	if err != nil {
		return nil, err
	}
	h.shards = []shard{s}
	return h, nil
}

func (h *Holder) newGen() string {
	h.nextGen++
	return strconv.FormatInt(time.Now().UnixNano(), 36) + "-" + strconv.Itoa(os.Getpid()) + "-" + strconv.Itoa(h.nextGen)
}

// Names returns the store names of the holder's shards.
func (h *Holder) Names() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	names := make([]string, len(h.shards))
	for i, s := range h.shards {
		names[i] = s.name
	}
	return names
}

// Stats returns the holder's counters.
func (h *Holder) Stats() HolderStats {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.stats
	st.Live, st.Dead, st.Pending, st.Shards = len(h.live), h.dead, len(h.pending), len(h.shards)
	return st
}

func (h *Holder) openShard(gen string, n int) (shard, error) {
	name := HolderPrefix + gen + "." + strconv.Itoa(n)
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return shard{}, fmt.Errorf("holder %s: socketpair: %w", name, err)
	}
	r, w := fds[0], fds[1]
	// SO_SNDBUFFORCE ignores net.core.wmem_max but needs CAP_NET_ADMIN;
	// SO_SNDBUF is capped at wmem_max silently.
	if unix.SetsockoptInt(w, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, h.opt.SendBuffer) != nil {
		_ = unix.SetsockoptInt(w, unix.SOL_SOCKET, unix.SO_SNDBUF, h.opt.SendBuffer)
	}
	err = h.store.storeFD(name, r, false)
	unix.Close(r) // PID 1 has its own duplicate (or the message in flight does)
	if err != nil {
		unix.Close(w)
		return shard{}, fmt.Errorf("holder: %w", err)
	}
	return shard{name: name, w: w}, nil
}

// Add queues c (a *net.TCPConn or anything with a socket behind it) to be
// sent into the holder under id within the batch interval.
func (h *Holder) Add(id uint64, c syscall.Conn) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return fmt.Errorf("hold connection %d: %w", id, err)
	}
	dup, err := dupOf(rc)
	if err != nil {
		return fmt.Errorf("hold connection %d: %w", id, err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		unix.Close(dup)
		return errClosed
	}
	h.live[id] = rc
	h.pending = append(h.pending, pendingFD{id: id, fd: dup})
	if len(h.pending) >= MaxFDsPerMessage {
		return h.flushLocked()
	}
	h.armLocked()
	return nil
}

// dupOf duplicates the descriptor behind rc. The duplicate, not the number,
// waits in the batch: the connection may end and its number be reused
// before the batch is sent.
func dupOf(rc syscall.RawConn) (int, error) {
	dup := -1
	var dupErr error
	if err := rc.Control(func(fd uintptr) {
		dup, dupErr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return -1, err
	}
	if dupErr != nil {
		return -1, fmt.Errorf("dup: %w", dupErr)
	}
	return dup, nil
}

func (h *Holder) armLocked() {
	if !h.armed {
		h.armed = true
		h.timer.Reset(h.opt.BatchInterval)
	}
}

// Forget records that connection id has ended. Shut the socket down
// (CloseHeld) before closing it: its duplicate in the holder would otherwise
// keep the peer from seeing the end.
func (h *Holder) Forget(id uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.live[id]; !ok {
		return
	}
	delete(h.live, id)
	for i, p := range h.pending {
		if p.id == id { // never sent: nothing dead is left behind
			unix.Close(p.fd)
			h.pending = append(h.pending[:i], h.pending[i+1:]...)
			return
		}
	}
	h.dead++
	if h.dead >= h.opt.RebuildMinDead && h.needsRebuildLocked() && !h.rebuild {
		h.rebuild = true
		h.armLocked()
	}
}

// needsRebuildLocked decides when ended connections are costly enough to
// move the live ones: when they are half as many as the live ones (so at
// most a third of what is in flight is dead), or when what is in flight
// nears the in-flight limit of an unprivileged user (RLIMIT_NOFILE), past
// which sendmsg fails with ETOOMANYREFS.
func (h *Holder) needsRebuildLocked() bool {
	inflight := len(h.live) + h.dead
	return 2*h.dead >= len(h.live) || (h.inflightBudget > 0 && inflight >= h.inflightBudget)
}

// Flush sends every queued connection into the holder now. A planned
// restart calls it after the accept loop has stopped.
func (h *Holder) Flush() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return errClosed
	}
	if h.rebuild {
		return h.rebuildLocked()
	}
	return h.flushLocked()
}

func (h *Holder) background() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.armed = false
	if h.closed {
		return
	}
	var err error
	if h.rebuild {
		err = h.rebuildLocked()
	} else {
		err = h.flushLocked()
	}
	if err != nil && h.opt.OnError != nil {
		h.opt.OnError(err)
	}
}

func (h *Holder) flushLocked() error {
	var shards []shard
	var err error
	shards, err = h.sendAll(h.gen, h.shards, h.pending)
	h.shards = shards
	// Whatever was not sent is lost to the holder (the connections stay
	// served): close the duplicates in any case.
	for _, p := range h.pending {
		unix.Close(p.fd)
	}
	h.pending = h.pending[:0]
	return err
}

// sendAll sends fds in messages of up to MaxFDsPerMessage into the last of
// shards, opening a new shard when it is full, and returns the shards.
func (h *Holder) sendAll(gen string, shards []shard, fds []pendingFD) ([]shard, error) {
	payload := make([]byte, 0, holderMsgMax)
	nums := make([]int, 0, MaxFDsPerMessage)
	for len(fds) > 0 {
		n := min(len(fds), MaxFDsPerMessage)
		payload = append(payload[:0], holderMsgVersion)
		nums = nums[:0]
		for _, p := range fds[:n] {
			payload = binary.LittleEndian.AppendUint64(payload, p.id)
			nums = append(nums, p.fd)
		}
		oob := unix.UnixRights(nums...)
		for {
			s := shards[len(shards)-1]
			err := unix.Sendmsg(s.w, payload, oob, nil, unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL)
			if err == unix.EINTR {
				continue
			}
			if err == unix.EAGAIN {
				h.stats.Full++
				if len(shards) >= maxShards {
					return shards, fmt.Errorf("holder %s: all %d shards full", s.name, len(shards))
				}
				ns, err := h.openShard(gen, len(shards))
				if err != nil {
					return shards, err
				}
				shards = append(shards, ns)
				continue
			}
			if err == unix.ETOOMANYREFS {
				return shards, fmt.Errorf("holder %s: more descriptors in flight than RLIMIT_NOFILE allows this user: %w", s.name, err)
			}
			if err == unix.EPIPE || err == unix.ECONNRESET || err == unix.ENOTCONN {
				return shards, fmt.Errorf("holder %s: %w", s.name, ErrNotHeld)
			}
			if err != nil {
				return shards, fmt.Errorf("holder %s: sendmsg: %w", s.name, err)
			}
			h.stats.Messages++
			h.stats.Sent += uint64(n)
			break
		}
		fds = fds[n:]
	}
	return shards, nil
}

// rebuildLocked moves the live connections into a new generation of shards
// and removes the old ones from the store, which frees the dead entries.
// The new shards are stored before the old ones are removed, so a crash
// in between hands both over; Drain keeps one of each ID.
func (h *Holder) rebuildLocked() error {
	h.rebuild = false
	for _, p := range h.pending { // every pending one is also live
		unix.Close(p.fd)
	}
	h.pending = h.pending[:0]

	gen := h.newGen()
	first, err := h.openShard(gen, 0)
	if err != nil {
		return fmt.Errorf("rebuild holder: %w", err)
	}
	var fds []pendingFD
	for id, rc := range h.live {
		dup, err := dupOf(rc)
		if err != nil { // ended without Forget yet; Forget will find it gone
			delete(h.live, id)
			continue
		}
		fds = append(fds, pendingFD{id: id, fd: dup})
	}
	shards, err := h.sendAll(gen, []shard{first}, fds)
	for _, p := range fds {
		unix.Close(p.fd)
	}
	if err != nil {
		h.discardShards(shards)
		return fmt.Errorf("rebuild holder: %w", err)
	}
	old := h.shards
	h.shards, h.gen, h.dead = shards, gen, 0
	h.stats.Rebuilds++
	return h.discardShards(old)
}

func (h *Holder) discardShards(shards []shard) error {
	var first error
	for _, s := range shards {
		if err := h.store.Remove(s.name); err != nil && first == nil {
			first = err
		}
		unix.Close(s.w)
	}
	return first
}

// Close flushes what is queued and closes the write ends, leaving every
// held connection in the store for the next process. It is what a planned
// restart does last; a crash does the same minus the flush.
func (h *Holder) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil
	}
	err := h.flushLocked()
	h.closed = true
	h.timer.Stop()
	for _, s := range h.shards {
		unix.Close(s.w)
	}
	return err
}

// Discard removes every shard from the store and closes them: nothing is
// kept for a next process. It is what a stop does once every client has
// been told and shut down.
func (h *Holder) Discard() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil
	}
	h.closed = true
	h.timer.Stop()
	for _, p := range h.pending {
		unix.Close(p.fd)
	}
	h.pending = nil
	return h.discardShards(h.shards)
}
