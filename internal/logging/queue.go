package logging

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// queueBytes bounds the memory the queued lines hold, whatever their
	// length.
	queueBytes = 1 << 20
	// batchBytes is the most one write to the output carries: the writer
	// takes every line waiting, up to this, so a busy log costs one
	// system call per batch rather than per line.
	batchBytes = 64 << 10
)

// droppedMessage is the line the writer adds once the output takes lines
// again after some were lost, with their number.
const droppedMessage = "log lines dropped: the log output was too slow or failed"

// queue is the io.Writer slog's handler formats into. Write never waits:
// it hands a copy of the line to the writer goroutine, or drops and counts
// it when the queue is full. The goroutine alone writes to the output.
type queue struct {
	out     io.Writer
	lines   chan []byte
	held    atomic.Int64 // bytes in lines
	dropped *atomic.Uint64
	// unreported are the drops no "dropped" line has told of yet.
	unreported atomic.Uint64

	// The writer goroutine's own: the batch it writes and the handler
	// that formats the "dropped" line into report.
	batch    []byte
	report   bytes.Buffer
	reporter slog.Handler
	failing  bool // the last write failed

	flushes   chan chan struct{} // flush.go
	quit      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

func newQueue(out io.Writer, lines int, dropped *atomic.Uint64) *queue {
	return &queue{
		out:     out,
		lines:   make(chan []byte, lines),
		dropped: dropped,
		flushes: make(chan chan struct{}),
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
	}
}

// start runs the writer. newHandler makes a handler like the logger's on
// another writer, for the "dropped" line.
func (q *queue) start(newHandler func(io.Writer) slog.Handler) {
	q.reporter = newHandler(&q.report)
	go q.run()
}

// Write queues a copy of p (slog reuses its buffer) and never blocks.
func (q *queue) Write(p []byte) (int, error) {
	select {
	case <-q.quit:
		q.drop(1)
		return len(p), nil
	default:
	}
	if q.held.Add(int64(len(p))) > queueBytes {
		q.held.Add(-int64(len(p)))
		q.drop(1)
		return len(p), nil
	}
	select {
	case q.lines <- append([]byte(nil), p...):
	default:
		q.held.Add(-int64(len(p)))
		q.drop(1)
	}
	return len(p), nil
}

func (q *queue) drop(n uint64) {
	q.dropped.Add(n)
	q.unreported.Add(n)
}

// run writes the queued lines in batches until close, then what is left.
func (q *queue) run() {
	defer close(q.done)
	for {
		select {
		case first := <-q.lines:
			// Once the output took a batch and nothing more waits, say
			// how many lines were lost meanwhile: the first moment the
			// line can be read. A failing output gets no such line: it
			// would fail too.
			if q.writeBatch(first) && len(q.lines) == 0 {
				q.writeReport()
			}
		case written := <-q.flushes:
			for len(q.lines) > 0 {
				q.writeBatch(<-q.lines)
			}
			close(written)
		case <-q.quit:
			for len(q.lines) > 0 {
				q.writeBatch(<-q.lines)
			}
			if !q.failing {
				q.writeReport()
			}
			return
		}
	}
}

// writeBatch writes first and every line already waiting behind it, up to
// batchBytes, with one Write; it reports whether the output took them.
func (q *queue) writeBatch(first []byte) bool {
	q.batch = append(q.batch[:0], first...)
	n := uint64(1)
	for len(q.batch) < batchBytes {
		select {
		case line := <-q.lines:
			q.batch = append(q.batch, line...)
			n++
			continue
		default:
		}
		break
	}
	q.held.Add(-int64(len(q.batch)))
	_, err := q.out.Write(q.batch)
	if cap(q.batch) > 4*batchBytes {
		q.batch = nil // one huge line must not stay allocated
	}
	q.failing = err != nil
	if err != nil {
		q.drop(n)
	}
	return !q.failing
}

// writeReport writes the "dropped" line if lines were lost since the last
// one. It bypasses the level: it must be seen even at level error.
func (q *queue) writeReport() {
	n := q.unreported.Swap(0)
	if n == 0 {
		return
	}
	r := slog.NewRecord(time.Now(), slog.LevelWarn, droppedMessage, 0)
	r.AddAttrs(slog.Uint64("dropped", n))
	q.report.Reset()
	q.reporter.Handle(context.Background(), r)
	if _, err := q.out.Write(q.report.Bytes()); err != nil {
		q.failing = true
		q.dropped.Add(1)
		q.unreported.Add(n + 1) // still untold, and this line too
	}
}

// close stops the writer after it wrote what is queued, or when ctx is
// done, whichever comes first; it reports whether the writer finished.
func (q *queue) close(ctx context.Context) bool {
	q.closeOnce.Do(func() { close(q.quit) })
	select {
	case <-q.done:
		return true
	default:
	}
	select {
	case <-q.done:
		return true
	case <-ctx.Done():
		return false
	}
}
