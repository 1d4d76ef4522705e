// Package idstate hands out client IDs that stay unique across restarts of
// chatd. It keeps a high-water mark in the state directory and reserves
// IDs in blocks: an ID is handed out only once a mark above it is on disk
// (written to a temp file, fsynced, renamed, the directory fsynced). A
// crash or kill -9 can skip the rest of a block but never repeat an ID.
//
// The disk is never on a connection's path: the next block is saved in
// the background while half of the current one is still left, so a slow
// fsync is absorbed by the runway; a connection waits only when the IDs
// run out before the save lands, and then the blocks grow so that it
// does not happen again at that rate.
//
// The state file is never a reason not to serve. A missing one is a first
// start; a corrupt one is reported, kept aside for inspection and
// replaced. When a block cannot be saved (a read-only or full state
// directory) or the file cannot be read, IDs come from a clock-derived
// floor instead, which no restart can repeat; this is logged once, shown
// by State, and saving is retried until it works again, which is logged
// too.
//
// The state directory is locked for as long as the source is open: two
// chatd sharing one would reserve blocks from the same file and could
// hand out the same IDs.
package idstate

import (
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/chatd/chatd/internal/lockfile"
)

// FileName is the state file's name inside the state directory.
const FileName = "client-ids"

// DefaultBlock is how many IDs one disk write reserves at first.
const DefaultBlock = 1024

// maxBlock bounds how far the blocks grow after connections had to wait
// for a save: what a crash may skip.
const maxBlock = 1 << 20

// retryEvery is how often saving is tried again after it failed.
const retryEvery = 10 * time.Second

// State says whether client IDs are being saved.
type State struct {
	File  string
	Saved bool // false: IDs come from the clock floor, not from the file
	// When Saved is false: since when, and why.
	Since    time.Time
	Problem  string
	Retrying bool // saving is tried again (not for a file that cannot be read)
}

// Source is a registry.IDSource backed by the state file. It is safe for
// concurrent use.
type Source struct {
	path string
	log  *slog.Logger
	lock *lockfile.Dir
	err  error                                // the directory is another chatd's: see Err
	save func(path string, mark uint64) error // writeMark; tests slow it down

	mu     sync.Mutex
	landed *sync.Cond // broadcast when a save ends
	next   uint64     // the next ID to hand out
	limit  uint64     // saved mode: the first ID not yet reserved on disk
	block  uint64     // how many IDs the next save reserves
	saving bool       // a save runs in the background

	// Unsaved mode: IDs are not bounded by limit but come from the
	// clock floor upwards. retry is false when the file must be left
	// alone (it exists but cannot be read).
	unsaved bool
	retry   bool
	since   time.Time
	problem string
	retryAt time.Time
}

// Open reads the high-water mark in dir and reserves the first block. It
// never fails: problems are logged and the source serves on from the
// clock floor.
func Open(dir string, block uint64, log *slog.Logger) *Source {
	return open(dir, block, log, saveMark)
}

// saveMark is how a mark is saved: writeMark, which fault-injection
// builds wrap to make the disk slow.
var saveMark = writeMark

func open(dir string, block uint64, log *slog.Logger, save func(string, uint64) error) *Source {
	if block == 0 {
		block = DefaultBlock
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Source{path: filepath.Join(dir, FileName), block: block, log: log, save: save, retry: true}
	s.landed = sync.NewCond(&s.mu)
	mkErr := os.MkdirAll(dir, 0o750)
	if mkErr == nil {
		lock, err := lockfile.LockDir(dir)
		var held *lockfile.HeldError
		switch {
		case errors.As(err, &held):
			s.err = &InUseError{Dir: dir, Holder: lockfile.HolderOf(dir)}
			return s
		case err != nil:
			// Not lockable here (an odd filesystem): serve on, unlocked.
			log.Warn("cannot lock the state directory; make sure no other chatd uses it", "dir", dir, "err", err.Error())
		}
		s.lock = lock
	}
	first, readable := s.load(dir, mkErr)
	s.next = first
	if !readable {
		s.retry = false
		return s
	}
	// Before any client is served: nothing waits for this one.
	mark := first + block
	if err := s.save(s.path, mark); err != nil {
		s.toUnsaved(err.Error())
		return s
	}
	s.limit = mark
	return s
}

// InUseError says that another chatd holds the state directory, and
// which one when the system can tell (the service, say).
type InUseError struct {
	Dir    string
	Holder lockfile.Holder
}

func (e *InUseError) Error() string {
	return "state_dir " + e.Dir + " is in use by " + e.Holder.String() + "; give this one its own state_dir (--state-dir, or state_dir in its config)"
}

// Err is non-nil when the state directory is locked by another chatd:
// the source must not be used, and chatd must not start.
func (s *Source) Err() error { return s.err }

// closeWait bounds how long Close waits for a save still running.
const closeWait = 2 * time.Second

// Close gives up the state directory's lock, once the last ID has been
// handed out. A save still running is waited for, briefly: one that does
// not land in time keeps the lock, which the kernel drops when the
// process exits, so that no other source can read the directory before
// that save lands over what it wrote.
func (s *Source) Close() {
	deadline := time.Now().Add(closeWait)
	for {
		s.mu.Lock()
		saving := s.saving
		s.mu.Unlock()
		if !saving {
			s.lock.Release()
			return
		}
		if time.Now().After(deadline) {
			s.log.Warn("a save of the client-ID mark is still running at shutdown; the state directory stays locked until chatd exits",
				"file", s.path)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Path is the state file's path.
func (s *Source) Path() string { return s.path }

// State reports whether IDs are being saved now.
func (s *Source) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maybeRetryLocked()
	return State{File: s.path, Saved: !s.unsaved, Since: s.since, Problem: s.problem, Retrying: s.unsaved && s.retry}
}

// Next returns the next ID.
func (s *Source) Next() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.unsaved {
		s.maybeRetryLocked()
		return s.take()
	}
	if s.limit-s.next <= s.block/2 && !s.saving {
		s.startSave(s.limit + s.block)
	}
	if s.next >= s.limit {
		// The runway ran out before the save landed: wait for it, and
		// reserve more at a time from now on.
		s.block = min(2*s.block, maxBlock)
		for s.next >= s.limit && !s.unsaved {
			if !s.saving {
				s.startSave(s.next + s.block)
			}
			s.landed.Wait()
		}
	}
	return s.take()
}

func (s *Source) take() uint64 {
	id := s.next
	s.next++
	return id
}

// startSave writes mark in the background. Called with mu held.
func (s *Source) startSave(mark uint64) {
	s.saving = true
	go func() {
		err := s.save(s.path, mark)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.saving = false
		defer s.landed.Broadcast()
		switch {
		case err != nil && !s.unsaved:
			s.toUnsaved(err.Error())
		case err != nil:
			s.retryAt = time.Now().Add(retryEvery)
		case s.unsaved && mark <= s.next:
			// Saved, but the clock-floor IDs went past it meanwhile.
			s.retryAt = time.Time{}
		case s.unsaved:
			s.unsaved, s.problem, s.since = false, "", time.Time{}
			s.limit = mark
			s.log.Info("client-ID high-water mark saved again; client IDs are kept across restarts from here",
				"file", s.path, "next_id", s.next)
		default:
			s.limit = max(s.limit, mark)
		}
	}()
}

// toUnsaved switches to IDs from the clock floor, which no restart can
// repeat, and says so once. Called with mu held (or before the source is
// shared).
func (s *Source) toUnsaved(problem string) {
	s.unsaved, s.since, s.problem = true, time.Now(), problem
	s.retryAt = s.since.Add(retryEvery)
	s.next = max(s.next, clockFloor())
	s.log.Error("cannot save the client-ID high-water mark; client IDs now come from a clock-derived floor, which no restart repeats, and saving is retried",
		"file", s.path, "err", problem, "next_id", s.next, "retry_every", retryEvery.String())
}

// maybeRetryLocked starts a save in unsaved mode when one is due.
func (s *Source) maybeRetryLocked() {
	if s.unsaved && s.retry && !s.saving && !time.Now().Before(s.retryAt) {
		s.startSave(s.next + s.block)
	}
}

// load returns the first ID to hand out, and whether the file may be
// written (false: it exists but cannot be read, and is left alone).
// mkErr is why dir could not be created, if it could not.
func (s *Source) load(dir string, mkErr error) (first uint64, writable bool) {
	if err := mkErr; err != nil {
		s.unsaved, s.since, s.problem = true, time.Now(), err.Error()
		floor := clockFloor()
		s.log.Error("cannot create the state directory; client IDs start from a clock-derived floor and are kept in memory only",
			"dir", dir, "err", err.Error(), "first_id", floor)
		return floor, false
	}
	mark, err := readMark(s.path)
	var corrupt *CorruptError
	switch {
	case err == nil:
		s.log.Debug("client-ID high-water mark read", "file", s.path, "next_id", mark)
		return mark, true
	case errors.Is(err, fs.ErrNotExist):
		s.log.Info("no client-ID state yet; client IDs start at 1", "file", s.path)
		return 1, true
	case errors.As(err, &corrupt):
		floor := clockFloor()
		aside := s.path + ".corrupt"
		if rerr := os.Rename(s.path, aside); rerr != nil {
			aside = "(could not move it aside: " + rerr.Error() + ")"
		}
		s.log.Error("client-ID state file is corrupt; it was moved aside and IDs resume from a clock-derived floor above any ID handed out before",
			"file", s.path, "moved_to", aside, "problem", corrupt.Reason, "first_id", floor)
		return floor, true
	default:
		s.unsaved, s.since, s.problem = true, time.Now(), err.Error()
		floor := clockFloor()
		s.log.Error("cannot read the client-ID state file; client IDs start from a clock-derived floor and are kept in memory only",
			"file", s.path, "err", err.Error(), "first_id", floor)
		return floor, false
	}
}

// clockFloor is the current time in microseconds since 1970: higher than
// any ID a previous run could have reached unless it accepted more than a
// million connections per second for its whole life.
func clockFloor() uint64 {
	return max(1, uint64(time.Now().UnixMicro()))
}

// Above makes every ID handed out from now on greater than id: the IDs
// of clients taken over from an earlier process, which may have run on a
// state file this one could not read.
func (s *Source) Above(id uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.next > id {
		return
	}
	s.next = id + 1
	// Saved mode: reserve past it on disk now; Next waits for the save
	// only if it is still running when the IDs run out.
	if !s.unsaved && s.next >= s.limit && !s.saving {
		s.startSave(s.next + s.block)
	}
}

// Highest is the highest ID handed out so far (0 for none): what the next
// process must stay above.
func (s *Source) Highest() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.next - 1
}
