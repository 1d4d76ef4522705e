package logging

import "context"

// Flush writes out the lines queued so far and keeps logging, waiting
// until ctx is done at most; it reports whether they were written. A
// restart in place needs it: the exec ends the writer with whatever it
// still holds, and when the exec fails the process logs on.
func (l *Logger) Flush(ctx context.Context) bool {
	if l.queue == nil || l.closed.Load() {
		return true
	}
	written := make(chan struct{})
	select {
	case l.queue.flushes <- written:
	case <-l.queue.done:
		return true
	case <-ctx.Done():
		return false
	}
	select {
	case <-written:
		return true
	case <-ctx.Done():
		return false
	}
}
