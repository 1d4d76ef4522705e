package server

import (
	"errors"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"time"
)

// rateLimitedLog logs a recurring condition at most once per interval,
// counting what it held back, so that a storm of accept errors (EMFILE
// under load) cannot flood the log or cost more than the errors
// themselves.
type rateLimitedLog struct {
	logger *slog.Logger
	every  time.Duration

	mu         sync.Mutex
	last       time.Time
	suppressed int
}

// warn writes msg unless it was written less than every ago.
func (r *rateLimitedLog) warn(msg string, args ...any) {
	r.mu.Lock()
	now := time.Now()
	if !r.last.IsZero() && now.Sub(r.last) < r.every {
		r.suppressed++
		r.mu.Unlock()
		return
	}
	n := r.suppressed
	r.last, r.suppressed = now, 0
	r.mu.Unlock()
	if n > 0 {
		args = append(args, "suppressed", n)
	}
	r.logger.Warn(msg, args...)
}

// fdReserve holds one spare file descriptor. When accept fails because the
// process is out of descriptors, releasing the spare lets the server accept
// the waiting connection just to close it, instead of leaving clients
// hanging in the backlog (the technique libev and nginx document).
type fdReserve struct{ f *os.File }

func (r *fdReserve) open() {
	if r.f == nil {
		r.f, _ = os.Open(os.DevNull)
	}
}

func (r *fdReserve) release() bool {
	if r.f == nil {
		return false
	}
	r.f.Close()
	r.f = nil
	return true
}

func (r *fdReserve) close() { r.release() }

// isFDExhaustion reports whether an accept failed for lack of descriptors.
func isFDExhaustion(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)
}
