package server

import (
	"log/slog"
	"sync"
	"time"
)

// rejectionLogInterval is how often, at most, a burst of server-full
// rejections is summed up in the log.
const rejectionLogInterval = 10 * time.Second

// rejectionLog logs rejections (server full, source full) in summary: the first of a burst
// as it happens, then at most one line per interval with how many more
// there were. Ten thousand rejections would otherwise be ten thousand lines,
// enough to trip journald's rate limit and hide the lines that matter. The
// exact number is in Stats.Rejected.
type rejectionLog struct {
	logger *slog.Logger
	every  time.Duration
	reason Reason // what the rejections are for

	mu      sync.Mutex
	pending int         // rejections not logged yet
	timer   *time.Timer // set while a burst is going on
}

// note records one rejection of a client at remote.
func (r *rejectionLog) note(remote string) {
	r.mu.Lock()
	first := r.timer == nil
	if first {
		r.timer = time.AfterFunc(r.every, r.summarise)
	} else {
		r.pending++
	}
	r.mu.Unlock()
	if first {
		r.logger.Warn("client rejected", "remote", remote, "reason", r.reason)
	}
}

// summarise logs the rejections of the interval that just ended, if any,
// and keeps the burst open for another interval; after a quiet one the
// next rejection is logged on its own again.
func (r *rejectionLog) summarise() {
	r.mu.Lock()
	n := r.pending
	r.pending = 0
	switch {
	case r.timer == nil:
		// flush has run.
	case n == 0:
		r.timer = nil
	default:
		r.timer.Reset(r.every)
	}
	r.mu.Unlock()
	r.logSummary(n)
}

// flush logs what is pending and ends the burst; Shutdown calls it, so no
// count is lost and no timer outlives the server.
func (r *rejectionLog) flush() {
	r.mu.Lock()
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	n := r.pending
	r.pending = 0
	r.mu.Unlock()
	r.logSummary(n)
}

func (r *rejectionLog) logSummary(n int) {
	if n > 0 {
		r.logger.Warn("clients rejected", "count", n, "interval", r.every.String(), "reason", r.reason)
	}
}
