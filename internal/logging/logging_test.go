package logging

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/syncbuf"
)

// stalledWriter blocks every Write until release is closed, like a pipe
// nobody drains, then writes to buf.
type stalledWriter struct {
	release chan struct{}
	entered chan struct{}
	once    sync.Once
	buf     syncbuf.Buffer
}

func newStalledWriter() *stalledWriter {
	return &stalledWriter{release: make(chan struct{}), entered: make(chan struct{})}
}

func (w *stalledWriter) Write(p []byte) (int, error) {
	w.once.Do(func() { close(w.entered) })
	<-w.release
	return w.buf.Write(p)
}

// brokenWriter fails every write, like a pipe whose reader has gone.
type brokenWriter struct{}

func (brokenWriter) Write([]byte) (int, error) { return 0, syscall.EPIPE }

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for delay := time.Millisecond; !cond(); delay = min(2*delay, 20*time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(delay)
	}
}

func jsonRecords(t *testing.T, out string) []map[string]any {
	t.Helper()
	var recs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("not a JSON line: %q: %v", line, err)
		}
		recs = append(recs, rec)
	}
	return recs
}

// A stalled output must not hold up a log call: the lines beyond the queue
// are dropped and counted, and once the output moves again one line says
// how many were lost.
func TestQueuedLoggerNeverWaitsForAStalledOutput(t *testing.T) {
	const queued, logged = 8, 1000
	w := newStalledWriter()
	log, err := Open(w, Options{Format: "json", Level: "error", QueueLines: queued})
	if err != nil {
		t.Fatal(err)
	}
	log.Error("first") // taken by the writer, which then stalls in Write
	<-w.entered
	returned := make(chan struct{})
	go func() {
		for i := range logged {
			log.Error("line", "i", i)
		}
		close(returned)
	}()
	select {
	case <-returned:
	case <-time.After(10 * time.Second):
		t.Fatal("log calls waited for a stalled output")
	}
	dropped := log.Dropped()
	if dropped < logged-queued || dropped > logged {
		t.Fatalf("dropped %d of %d lines with a queue of %d", dropped, logged, queued)
	}

	close(w.release)
	waitUntil(t, "the dropped line", func() bool { return strings.Contains(w.buf.String(), droppedMessage) })
	recs := jsonRecords(t, w.buf.String())
	last := recs[len(recs)-1]
	if last["msg"] != droppedMessage || last["level"] != "WARN" || last["dropped"] != float64(dropped) {
		t.Fatalf("last line %v, want %q with dropped=%d (at WARN, shown even at level error)", last, droppedMessage, dropped)
	}
	if got := len(recs) - 1; uint64(got) != 1+logged-dropped {
		t.Fatalf("%d lines written besides the report, want %d (first + %d queued)", got, 1+logged-dropped, logged-dropped)
	}
	if !log.Close(context.Background()) {
		t.Fatal("Close did not finish")
	}
}

// A broken output (EPIPE) loses every line; each is counted, and no
// "dropped" line is tried on it (it would fail and count again forever).
func TestBrokenOutputCountsEveryLine(t *testing.T) {
	for _, queue := range []int{0, DefaultQueueLines} {
		t.Run(fmt.Sprintf("queue=%d", queue), func(t *testing.T) {
			log, err := Open(brokenWriter{}, Options{Format: "text", QueueLines: queue})
			if err != nil {
				t.Fatal(err)
			}
			for i := range 100 {
				log.Info("line", "i", i)
			}
			if !log.Close(context.Background()) {
				t.Fatal("Close did not finish")
			}
			if got := log.Dropped(); got != 100 {
				t.Fatalf("dropped %d, want 100", got)
			}
		})
	}
}

// Close writes out what is queued; with a stuck output it gives up when
// its context ends instead of hanging the exit.
func TestCloseFlushesOrGivesUp(t *testing.T) {
	var out syncbuf.Buffer
	log, _ := Open(&out, Options{QueueLines: DefaultQueueLines})
	for i := range 500 {
		log.Info("line", "i", i)
	}
	if !log.Close(context.Background()) {
		t.Fatal("Close did not finish")
	}
	if n := strings.Count(out.String(), "msg=line"); n != 500 {
		t.Fatalf("%d of 500 lines written by Close", n)
	}
	log.Info("after close")
	if strings.Contains(out.String(), "after close") || log.Dropped() != 1 {
		t.Fatalf("a line after Close: dropped %d, output has it: %v", log.Dropped(), strings.Contains(out.String(), "after close"))
	}

	w := newStalledWriter()
	defer close(w.release)
	stuck, _ := Open(w, Options{QueueLines: DefaultQueueLines})
	stuck.Info("stalls the writer")
	<-w.entered
	stuck.Info("queued behind it")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if stuck.Close(ctx) {
		t.Fatal("Close reported a flush through a stuck output")
	}
}

func TestOptions(t *testing.T) {
	for _, tc := range []struct {
		name     string
		opts     Options
		timed    bool // every line starts with slog's time
		want     []string
		dontWant []string
	}{
		{"text", Options{Format: "text"}, true, []string{"level=INFO", "msg=hello", "k=v"}, nil},
		{"text without time", Options{Format: "text", OmitTime: true}, false, []string{"level=INFO", "msg=hello", "g.time=kept"}, nil},
		{"json", Options{Format: "json"}, true, []string{`"level":"INFO"`, `"msg":"hello"`}, nil},
		{"json without time", Options{Format: "json", OmitTime: true}, false, []string{`"level":"INFO"`, `"g":{"time":"kept"}`}, nil},
		{"queued json without time", Options{Format: "json", OmitTime: true, QueueLines: 4}, false, []string{`"msg":"hello"`}, nil},
		{"debug hidden at info", Options{}, true, []string{"msg=hello"}, []string{"msg=hidden"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out syncbuf.Buffer
			log, err := Open(&out, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			log.Debug("hidden")
			log.Info("hello", "k", "v")
			log.WithGroup("g").Info("hello", "time", "kept")
			log.Close(context.Background())
			got := out.String()
			for _, line := range strings.Split(strings.TrimSpace(got), "\n") {
				timed := strings.HasPrefix(line, "time=") || strings.HasPrefix(line, `{"time":`)
				if timed != tc.timed {
					t.Errorf("line %q: starts with a time = %v, want %v", line, timed, tc.timed)
				}
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("output lacks %q:\n%s", w, got)
				}
			}
			for _, w := range tc.dontWant {
				if strings.Contains(got, w) {
					t.Errorf("output has %q:\n%s", w, got)
				}
			}
		})
	}
	if _, err := Open(&syncbuf.Buffer{}, Options{Format: "xml"}); err == nil {
		t.Error("format xml accepted")
	}
	if _, err := Open(&syncbuf.Buffer{}, Options{Level: "loud"}); err == nil {
		t.Error("level loud accepted")
	}
}

func TestToJournal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	self := fmt.Sprintf("%d:%d", uint64(st.Dev), uint64(st.Ino))
	for _, tc := range []struct {
		name, env string
		want      bool
	}{
		{"unset", "", false},
		{"this stream", self, true},
		{"another inode", fmt.Sprintf("%d:%d", uint64(st.Dev), uint64(st.Ino)+1), false},
		{"another device", fmt.Sprintf("%d:%d", uint64(st.Dev)+1, uint64(st.Ino)), false},
		{"malformed", "journal", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("JOURNAL_STREAM", tc.env)
			if got := ToJournal(f); got != tc.want {
				t.Fatalf("ToJournal with JOURNAL_STREAM=%q (stream is %s) = %v", tc.env, self, got)
			}
		})
	}
}
