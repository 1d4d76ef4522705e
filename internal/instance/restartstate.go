package instance

import (
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatd/chatd/internal/admin/adminapi"
	"github.com/chatd/chatd/internal/handover"
)

// imageStartedAt is when this program image began: a restart in place
// keeps the PID, so this is what tells chatctl that a new image answers.
var imageStartedAt = time.Now()

// restartRecord is how this image's restarts fared.
type restartRecord struct {
	// ready is set once Start has taken every client back and serves:
	// the admin API answers a moment before.
	ready    atomic.Bool
	failures atomic.Uint64
	// hooks run around a restart in place's exec (the daemon's signals).
	hooks handover.ExecHooks

	mu        sync.Mutex
	lastError string
	lastAt    time.Time
}

// SetExecHooks sets what runs around the exec of a restart in place:
// chatd's main hands its signals over there.
func (d *Instance) SetExecHooks(h handover.ExecHooks) { d.restarts.hooks = h }

// restartFailed records a restart that failed while this process serves
// on: the one log line, the counter, the reason for chatctl.
func (d *Instance) restartFailed(err error) {
	d.log.Error("restart failed; chatd serves every client on as before", "err", err.Error())
	r := &d.restarts
	r.mu.Lock()
	r.lastError, r.lastAt = err.Error(), time.Now()
	r.mu.Unlock()
	r.failures.Add(1)
}

// restartState is GET /v1/restart's answer.
func (d *Instance) restartState() adminapi.RestartState {
	r := &d.restarts
	st := adminapi.RestartState{
		Image:     strconv.Itoa(os.Getpid()) + "@" + strconv.FormatInt(imageStartedAt.UnixNano(), 10),
		PID:       os.Getpid(),
		StartedAt: imageStartedAt,
		Clients:   d.reg.Len(),
		Ready:     r.ready.Load(),
	}
	r.mu.Lock()
	st.LastError, st.LastFailure = r.lastError, r.lastAt
	r.mu.Unlock()
	st.Failures = r.failures.Load()
	return st
}
