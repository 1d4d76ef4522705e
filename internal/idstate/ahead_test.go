package idstate

import (
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// gatedSave is a save whose fsync the test holds up: every save after
// the first (Open's) waits for a token on release.
type gatedSave struct {
	entered chan uint64 // the mark of each held-up save, as it starts
	release chan error  // what the held-up save returns; closed: nil from now on
	calls   int
	mu      sync.Mutex
}

func newGatedSave() *gatedSave {
	return &gatedSave{entered: make(chan uint64, 16), release: make(chan error)}
}

func (g *gatedSave) save(path string, mark uint64) error {
	g.mu.Lock()
	g.calls++
	first := g.calls == 1
	g.mu.Unlock()
	if !first {
		g.entered <- mark
		if err := <-g.release; err != nil {
			return err
		}
	}
	return writeMark(path, mark)
}

// nextWithin calls s.Next in the background and fails the test if it
// does not return within d: a connection that waits for the disk.
func nextWithin(t *testing.T, s *Source, d time.Duration) uint64 {
	t.Helper()
	got := make(chan uint64, 1)
	go func() { got <- s.Next() }()
	select {
	case id := <-got:
		return id
	case <-time.After(d):
		t.Fatalf("Next waited %v for the disk", d)
		return 0
	}
}

// The next block is saved in the background while half of the current
// one is left, so with a save that takes any time at all every ID of the
// block is still handed out at once.
func TestNextBlockIsSavedAheadOfNeed(t *testing.T) {
	dir := t.TempDir()
	g := newGatedSave()
	s := open(dir, 8, nil, g.save)
	for want := uint64(1); want <= 8; want++ {
		if got := nextWithin(t, s, 5*time.Second); got != want {
			t.Fatalf("Next = %d, want %d", got, want)
		}
	}
	s.mu.Lock()
	saving := s.saving
	s.mu.Unlock()
	if !saving {
		t.Fatal("the whole block was used and the next one was not being saved yet")
	}
	if m := <-g.entered; m != 17 {
		t.Fatalf("saving mark %d ahead, want 17", m)
	}
	// The save lands; ID 9 needs no disk.
	g.release <- nil
	s.settle()
	if got := nextWithin(t, s, 5*time.Second); got != 9 {
		t.Fatalf("Next = %d, want 9", got)
	}
	if got := mark(t, dir); got != 17 {
		t.Fatalf("mark %d, want 17", got)
	}
}

// When connections use the runway up before the save lands, the one that
// finds no ID waits for it (an ID must never be handed out unreserved),
// and the blocks grow so that the same rate does not wait again.
func TestRunwayGrowsAfterAWait(t *testing.T) {
	dir := t.TempDir()
	g := newGatedSave()
	s := open(dir, 4, nil, g.save)
	for range 4 {
		nextWithin(t, s, 5*time.Second)
	}
	<-g.entered // mark 9, being saved
	waited := make(chan uint64, 1)
	go func() { waited <- s.Next() }()
	select {
	case id := <-waited:
		t.Fatalf("ID %d handed out before it was reserved on disk", id)
	case <-time.After(50 * time.Millisecond):
	}
	g.release <- nil
	if id := <-waited; id != 5 {
		t.Fatalf("Next = %d, want 5", id)
	}
	// From now on a block is 8: the save ahead starts with 4 left (at
	// ID 6, below the mark 9).
	for range 3 {
		nextWithin(t, s, 5*time.Second)
	}
	if m := <-g.entered; m != 9+8 {
		t.Fatalf("next save reserves up to %d, want %d", m, 9+8)
	}
	g.release <- nil
	s.settle()
}

// A block that cannot be saved (read-only or full state directory)
// switches to IDs from the clock floor at once, says so once, is retried,
// and says when saving works again; IDs keep increasing throughout.
func TestFailedSaveFallsBackToTheClockAndRecovers(t *testing.T) {
	dir := t.TempDir()
	log, logs := newLog()
	g := newGatedSave()
	s := open(dir, 4, log, g.save)
	prev := uint64(0)
	take := func() uint64 {
		t.Helper()
		id := nextWithin(t, s, 5*time.Second)
		if id <= prev {
			t.Fatalf("ID %d after %d", id, prev)
		}
		prev = id
		return id
	}
	for range 3 {
		take() // the third finds half the block used and starts a save
	}
	<-g.entered
	floor := clockFloor()
	g.release <- &fsErr{syscall.ENOSPC}
	s.settle()
	if id := take(); id < floor {
		t.Fatalf("after a failed save, ID %d is below the clock floor %d", id, floor)
	}
	st := s.State()
	if st.Saved || !strings.Contains(st.Problem, "no space left") {
		t.Fatalf("State = %+v", st)
	}
	for range 20 {
		take() // no save is tried before the retry is due
	}
	if n := strings.Count(logs.String(), "cannot save"); n != 1 {
		t.Fatalf("want one line about the failure, got %d:\n%s", n, logs)
	}
	// A retry that fails again stays quiet.
	s.mu.Lock()
	s.retryAt = time.Time{}
	s.mu.Unlock()
	take()
	<-g.entered
	g.release <- &fsErr{syscall.EROFS}
	s.settle()
	if n := strings.Count(logs.String(), "cannot save"); n != 1 {
		t.Fatalf("a failed retry logged again:\n%s", logs)
	}
	// The next retry works: back to the file, above every ID so far.
	s.mu.Lock()
	s.retryAt = time.Time{}
	s.mu.Unlock()
	take()
	m := <-g.entered
	g.release <- nil
	s.settle()
	if st := s.State(); !st.Saved || st.Problem != "" {
		t.Fatalf("State after a good save = %+v", st)
	}
	if !strings.Contains(logs.String(), "saved again") {
		t.Fatalf("recovery not logged:\n%s", logs)
	}
	if got := mark(t, dir); got != m || m <= prev {
		t.Fatalf("mark %d (saving %d), want it above the last ID %d", got, m, prev)
	}
	for range 3 {
		take()
	}
	// And a restart carries on above all of it.
	close(g.release) // let any save still running through
	s.Close()
	if id := Open(dir, 4, nil).Next(); id <= prev {
		t.Fatalf("after a restart ID %d, want above %d", id, prev)
	}
}

type fsErr struct{ errno syscall.Errno }

func (e *fsErr) Error() string { return "write client-ids: " + e.errno.Error() }
func (e *fsErr) Unwrap() error { return e.errno }
