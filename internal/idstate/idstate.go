// Package idstate hands out client IDs that stay unique across restarts of
// chatd. It keeps a high-water mark in the state directory and reserves
// IDs in blocks: before the first ID of a block is handed out, the end of
// the block is written to disk (write to a temp file, fsync, rename, fsync
// the directory). A connection therefore costs no disk write, and a crash
// or kill -9 can skip the rest of a block but never repeat an ID.
//
// The state file is never a reason not to serve. A missing one is a first
// start; an unreadable one, or one that cannot be written, is one log line
// and IDs then come from a clock-derived floor kept in memory; a corrupt
// one is reported, kept aside for inspection and replaced.
package idstate

import (
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// FileName is the state file's name inside the state directory.
const FileName = "client-ids"

// DefaultBlock is how many IDs one disk write reserves.
const DefaultBlock = 1024

// Source is a registry.IDSource backed by the state file. It is safe for
// concurrent use.
type Source struct {
	path  string
	block uint64
	log   *slog.Logger

	mu      sync.Mutex
	next    uint64 // the next ID to hand out
	limit   uint64 // the first ID not yet reserved on disk
	persist bool   // false once the file proved unusable: memory only
}

// Open reads the high-water mark in dir and reserves the first block. It
// never fails: problems are logged and the source falls back to memory.
func Open(dir string, block uint64, log *slog.Logger) *Source {
	if block == 0 {
		block = DefaultBlock
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Source{path: filepath.Join(dir, FileName), block: block, log: log, persist: true}
	s.next = s.load(dir)
	s.limit = s.next
	s.reserve()
	return s
}

// Path is the state file's path.
func (s *Source) Path() string { return s.path }

// Next returns the next ID. When the current block is used up it first
// records the end of the next block on disk.
func (s *Source) Next() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.next >= s.limit {
		s.reserve()
	}
	id := s.next
	s.next++
	return id
}

// reserve moves limit one block past next and saves it, if it can. Called
// with mu held (or before the source is shared).
func (s *Source) reserve() {
	s.limit = s.next + s.block
	if !s.persist {
		return
	}
	if err := writeMark(s.path, s.limit); err != nil {
		s.persist = false
		s.log.Error("cannot save the client-ID high-water mark; serving on with IDs from memory, which may repeat after a restart",
			"file", s.path, "err", err.Error())
	}
}

// load returns the first ID to hand out.
func (s *Source) load(dir string) uint64 {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		s.persist = false
		floor := clockFloor()
		s.log.Error("cannot create the state directory; client IDs start from a clock-derived floor and are kept in memory only",
			"dir", dir, "err", err.Error(), "first_id", floor)
		return floor
	}
	mark, err := readMark(s.path)
	var corrupt *CorruptError
	switch {
	case err == nil:
		s.log.Debug("client-ID high-water mark read", "file", s.path, "next_id", mark)
		return mark
	case errors.Is(err, fs.ErrNotExist):
		s.log.Info("no client-ID state yet; client IDs start at 1", "file", s.path)
		return 1
	case errors.As(err, &corrupt):
		floor := clockFloor()
		aside := s.path + ".corrupt"
		if rerr := os.Rename(s.path, aside); rerr != nil {
			aside = "(could not move it aside: " + rerr.Error() + ")"
		}
		s.log.Error("client-ID state file is corrupt; it was moved aside and IDs resume from a clock-derived floor above any ID handed out before",
			"file", s.path, "moved_to", aside, "problem", corrupt.Reason, "first_id", floor)
		return floor
	default:
		floor := clockFloor()
		s.persist = false
		s.log.Error("cannot read the client-ID state file; client IDs start from a clock-derived floor and are kept in memory only",
			"file", s.path, "err", err.Error(), "first_id", floor)
		return floor
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
	if s.next >= s.limit {
		s.reserve()
	}
}

// Highest is the highest ID handed out so far (0 for none): what the next
// process must stay above.
func (s *Source) Highest() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.next - 1
}
