// Package logging builds chatd's structured logger (log/slog) on stderr, in
// text or JSON, with a level that can change while the daemon runs.
//
// Logging never sits on the data path: with a queue (what `chatd run`
// uses), a log call formats its line and hands it to one writer goroutine
// without waiting, so a stalled stderr (a stuck journald, a pager scrolled
// back) cannot hold up a client, the admin API or shutdown, and a broken
// one (the reader of a pipe gone) cannot stop anything either. Lines that
// cannot be queued or written are dropped and counted.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
)

// Options configure a logger.
type Options struct {
	// Format is "text" (the default) or "json".
	Format string
	// Level is debug, info (the default), warn or error.
	Level string
	// QueueLines bounds the lines waiting for a slow writer; when it is
	// reached further lines are dropped and counted. 0 writes each line
	// before the log call returns (tests, one-shot tools).
	QueueLines int
	// OmitTime leaves slog's time out of every line, for an output that
	// stamps lines itself (the journal).
	OmitTime bool
}

// DefaultQueueLines is the queue `chatd run` logs through: seconds of a
// busy server's connect and disconnect lines, a few hundred KiB at most.
const DefaultQueueLines = 4096

// Logger is a slog.Logger with an adjustable level.
type Logger struct {
	*slog.Logger
	level   *slog.LevelVar
	dropped *atomic.Uint64
	queue   *queue // nil when writing directly
	closed  atomic.Bool
}

// New returns a logger writing format ("text" or "json") to w at level,
// each line before the log call returns.
func New(w io.Writer, format, level string) (*Logger, error) {
	return Open(w, Options{Format: format, Level: level})
}

// Open returns a logger writing to w as o says. With a queue, Close it to
// write out what is still queued.
func Open(w io.Writer, o Options) (*Logger, error) {
	lv := new(slog.LevelVar)
	if o.Level == "" {
		o.Level = "info"
	}
	if err := SetLevel(lv, o.Level); err != nil {
		return nil, err
	}
	l := &Logger{level: lv, dropped: new(atomic.Uint64)}
	out := io.Writer(&countingWriter{w: w, dropped: l.dropped})
	if o.QueueLines > 0 {
		l.queue = newQueue(w, o.QueueLines, l.dropped)
		out = l.queue
	}
	opts := &slog.HandlerOptions{Level: lv}
	if o.OmitTime {
		opts.ReplaceAttr = omitTime
	}
	var newHandler func(io.Writer) slog.Handler
	switch o.Format {
	case "json":
		newHandler = func(w io.Writer) slog.Handler { return slog.NewJSONHandler(w, opts) }
	case "text", "":
		newHandler = func(w io.Writer) slog.Handler { return slog.NewTextHandler(w, opts) }
	default:
		return nil, fmt.Errorf("unknown log format %q", o.Format)
	}
	l.Logger = slog.New(newHandler(out))
	if l.queue != nil {
		l.queue.start(newHandler)
	}
	return l, nil
}

// omitTime drops the record's time (only the top-level one: an attribute
// a caller names "time" inside a group stays).
func omitTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

// Dropped is how many lines were lost since start: not queued because the
// queue was full, or not written because the output failed.
func (l *Logger) Dropped() uint64 { return l.dropped.Load() }

// Close writes out the queued lines and stops the writer, waiting until
// ctx is done at most: a stuck output must not hold up the exit. It
// reports whether everything queued was written. Lines logged after Close
// are dropped. A second Close does not wait again. Without a queue it
// does nothing.
func (l *Logger) Close(ctx context.Context) bool {
	if l.queue == nil {
		return true
	}
	if l.closed.Swap(true) {
		ctx = doneContext
	}
	return l.queue.close(ctx)
}

// doneContext is a context that is already done.
var doneContext = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// SetLevel changes the level of a running logger.
func (l *Logger) SetLevel(level string) error { return SetLevel(l.level, level) }

// SetLevel parses level (debug, info, warn, error) into lv.
func SetLevel(lv *slog.LevelVar, level string) error {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return fmt.Errorf("unknown log level %q", level)
	}
	lv.Set(l)
	return nil
}

// countingWriter counts the lines its writer fails to take. slog's
// handlers write each record with one Write call, so a call is a line.
type countingWriter struct {
	w       io.Writer
	dropped *atomic.Uint64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	if err != nil {
		c.dropped.Add(1)
	}
	return n, err
}
