package idstate

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/syncbuf"
)

func newLog() (*slog.Logger, *syncbuf.Buffer) {
	b := &syncbuf.Buffer{}
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

func mark(t *testing.T, dir string) uint64 {
	t.Helper()
	m, err := readMark(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatalf("read mark: %v", err)
	}
	return m
}

func TestFirstStartCountsFromOneAndReservesABlock(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	log, logs := newLog()
	s := Open(dir, 8, log)
	if got := mark(t, dir); got != 9 {
		t.Fatalf("mark after open = %d, want 9 (IDs 1-8 reserved before any is handed out)", got)
	}
	for want := uint64(1); want <= 3; want++ {
		if got := s.Next(); got != want {
			t.Fatalf("Next = %d, want %d", got, want)
		}
	}
	s.settle()
	if got := mark(t, dir); got != 9 {
		t.Fatalf("mark changed with more than half the block left: %d", got)
	}
	for want := uint64(4); want <= 9; want++ {
		if got := s.Next(); got != want {
			t.Fatalf("Next = %d, want %d", got, want)
		}
	}
	// The next block was saved ahead, once half of the first was used.
	s.settle()
	if got := mark(t, dir); got != 17 {
		t.Fatalf("mark after crossing the block = %d, want 17", got)
	}
	if n := strings.Count(logs.String(), "no client-ID state yet"); n != 1 {
		t.Fatalf("want one line about the missing state, got %d:\n%s", n, logs)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o750 {
		t.Fatalf("state dir: %v %v", fi.Mode(), err)
	}
}

// A restart, however abrupt, resumes after everything reserved before:
// numbers may be skipped but never repeated.
func TestRestartNeverRepeats(t *testing.T) {
	dir := t.TempDir()
	seen := map[uint64]bool{}
	last := uint64(0)
	for run := range 5 {
		s := Open(dir, 4, nil)
		for range run + 3 { // some runs end mid-block, as after kill -9
			id := s.Next()
			if seen[id] || id <= last {
				t.Fatalf("run %d: ID %d repeated or not increasing (last %d)", run, id, last)
			}
			seen[id], last = true, id
		}
		s.Close() // the next run's Open needs the directory's lock
	}
}

func TestConcurrentNextIsUniqueAndIncreasingPerCaller(t *testing.T) {
	s := Open(t.TempDir(), 16, nil)
	const workers, each = 8, 200
	var mu sync.Mutex
	all := map[uint64]bool{}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			prev := uint64(0)
			for range each {
				id := s.Next()
				if id <= prev {
					t.Errorf("ID %d after %d", id, prev)
				}
				prev = id
				mu.Lock()
				if all[id] {
					t.Errorf("ID %d handed out twice", id)
				}
				all[id] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	s.settle()
	if len(all) != workers*each {
		t.Fatalf("%d distinct IDs, want %d", len(all), workers*each)
	}
}

func TestCorruptFileIsReportedKeptAsideAndReplaced(t *testing.T) {
	for name, content := range map[string]string{
		"garbage":   "hello\n",
		"empty":     "",
		"bad check": header + "\nnext: 5000\ncheck: 00000000\n",
		"truncated": header + "\nnext: 50",
		"zero":      string(encode(0)),
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, FileName)
			if err := os.WriteFile(path, []byte(content), 0o640); err != nil {
				t.Fatal(err)
			}
			log, logs := newLog()
			before := uint64(time.Now().UnixMicro())
			s := Open(dir, 10, log)
			id := s.Next()
			if id < before {
				t.Fatalf("first ID after corruption = %d, want at least the clock floor %d", id, before)
			}
			if !strings.Contains(logs.String(), "corrupt") {
				t.Fatalf("corruption not reported:\n%s", logs)
			}
			kept, err := os.ReadFile(path + ".corrupt")
			if err != nil || string(kept) != content {
				t.Fatalf("corrupt file not kept aside: %q %v", kept, err)
			}
			if got := mark(t, dir); got != id+10 {
				t.Fatalf("replaced mark = %d, want %d", got, id+10)
			}
			// And the next start carries on from the new file.
			s.Close()
			if next := Open(dir, 10, nil).Next(); next != id+10 {
				t.Fatalf("after replacement Next = %d, want %d", next, id+10)
			}
		})
	}
}

func TestUnreadableFileStillServes(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads a file whatever its mode")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	if err := writeMark(path, 77); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0); err != nil {
		t.Fatal(err)
	}
	log, logs := newLog()
	s := Open(dir, 2, log)
	a, b, c := s.Next(), s.Next(), s.Next()
	if !(a < b && b < c) || a < 77 {
		t.Fatalf("IDs %d %d %d", a, b, c)
	}
	if n := strings.Count(logs.String(), "level=ERROR"); n != 1 {
		t.Fatalf("want exactly one error line, got %d:\n%s", n, logs)
	}
	os.Chmod(path, 0o640)
	if got := mark(t, dir); got != 77 {
		t.Fatalf("an unreadable file must not be overwritten; mark now %d", got)
	}
}

func TestUnwritableDirectoryStillServesAndSaysSoOnce(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes to a directory whatever its mode")
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	log, logs := newLog()
	expectClockIDs(t, Open(dir, 2, log), 7)
	if n := strings.Count(logs.String(), "cannot save"); n != 1 {
		t.Fatalf("want one line about saving, got %d:\n%s", n, logs)
	}
}

func TestStateDirCannotBeCreated(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	log, logs := newLog()
	s := Open(filepath.Join(file, "state"), 4, log)
	if a, b := s.Next(), s.Next(); b != a+1 {
		t.Fatalf("IDs %d %d", a, b)
	}
	if n := strings.Count(logs.String(), "level=ERROR"); n != 1 {
		t.Fatalf("want one error line, got %d:\n%s", n, logs)
	}
}

func TestWriteLeavesNoTempFiles(t *testing.T) {
	dir := t.TempDir()
	s := Open(dir, 1, nil)
	for range 20 {
		s.Next()
	}
	s.settle()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != FileName {
		t.Fatalf("state dir holds %v, want only %s", entries, FileName)
	}
}

func TestDecodeRoundTrip(t *testing.T) {
	for _, m := range []uint64{1, 1025, 1<<53 + 1, ^uint64(0)} {
		got, err := decode("x", encode(m))
		if err != nil || got != m {
			t.Fatalf("decode(encode(%d)) = %d, %v", m, got, err)
		}
	}
}

// The same, in a way that holds for root too: the state "file" is a
// directory, which opens but cannot be read.
func TestStateFileThatCannotBeReadStillServes(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, FileName), 0o700); err != nil {
		t.Fatal(err)
	}
	log, logs := newLog()
	before := uint64(time.Now().UnixMicro())
	s := Open(dir, 2, log)
	a, b, c := s.Next(), s.Next(), s.Next()
	if !(a < b && b < c) || a < before {
		t.Fatalf("IDs %d %d %d, want increasing from the clock floor %d", a, b, c, before)
	}
	if n := strings.Count(logs.String(), "level=ERROR"); n != 1 {
		t.Fatalf("want exactly one error line, got %d:\n%s", n, logs)
	}
}

// Writes that fail for root too: /proc/self takes no new files.
func TestStateThatCannotBeSavedStillServes(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs /proc")
	}
	log, logs := newLog()
	s := Open("/proc/self", 2, log)
	expectClockIDs(t, s, 5)
	if st := s.State(); st.Saved || st.Problem == "" || st.Since.IsZero() {
		t.Fatalf("State = %+v, want not saved, with the problem and since when", st)
	}
	if n := strings.Count(logs.String(), "cannot save"); n != 1 {
		t.Fatalf("want one line about saving, got %d:\n%s", n, logs)
	}
}

// settle waits until no save runs in the background.
func (s *Source) settle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.saving {
		s.landed.Wait()
	}
}

// expectClockIDs takes n IDs from s and checks that they increase from
// the clock floor: IDs no earlier run handed out and no later one will.
func expectClockIDs(t *testing.T, s *Source, n int) {
	t.Helper()
	before := clockFloor() - uint64(time.Minute/time.Microsecond) // the source opened a moment ago
	prev := uint64(0)
	for range n {
		id := s.Next()
		if id < before || id <= prev {
			t.Fatalf("Next = %d after %d, want increasing IDs from the clock floor (about %d)", id, prev, before)
		}
		prev = id
	}
}

// A second source on a directory another one holds must not touch the
// file: it reports the directory as in use and hands out nothing.
func TestSecondSourceOnTheSameDirectoryIsRefused(t *testing.T) {
	dir := t.TempDir()
	first := Open(dir, 4, nil)
	if err := first.Err(); err != nil {
		t.Fatal(err)
	}
	first.Next()
	second := Open(dir, 4, nil)
	var inUse *InUseError
	if err := second.Err(); !errors.As(err, &inUse) || !strings.Contains(err.Error(), "give this one its own state_dir") {
		t.Fatalf("second Open: Err() = %v, want an InUseError", second.Err())
	}
	if got := mark(t, dir); got != 5 {
		t.Fatalf("mark %d after the refused Open, want 5 (untouched)", got)
	}
	first.Close()
	third := Open(dir, 4, nil)
	if err := third.Err(); err != nil {
		t.Fatalf("after Close: %v", err)
	}
	if id := third.Next(); id != 5 {
		t.Fatalf("Next = %d, want 5", id)
	}
	third.Close()
}
