package adminapi

import "time"

// PathRestart is where POST asks chatd for a planned restart: the clients
// stay connected and lose nothing (systemd's descriptor store, or a
// re-exec in place without systemd). GET answers a RestartState, which
// tells whether the restart has happened (another Image) or failed
// (Failures went up), so that chatctl can wait for the outcome.
const PathRestart = "/v1/restart"

// RestartResult is the answer to POST /v1/restart: the restart has
// begun; PID is the process that handed over (under systemd the next one
// has another PID, after a re-exec it is the same).
type RestartResult struct {
	PID     int    `json:"pid"`
	Clients int    `json:"clients"`
	How     string `json:"how"` // "systemd" or "re-exec"
	// Image and Failures are the RestartState when the restart was asked
	// for; empty from a chatd that cannot tell (an older version).
	Image    string `json:"image,omitempty"`
	Failures uint64 `json:"restart_failures"`
}

// RestartState is the answer to GET /v1/restart.
type RestartState struct {
	// Image names the running program image: a new one after every
	// restart, a re-exec in place included (the PID stays).
	Image     string    `json:"image"`
	PID       int       `json:"pid"`
	StartedAt time.Time `json:"image_started_at"`
	Clients   int       `json:"clients"`
	// Ready is false while the image still takes the clients back.
	Ready bool `json:"ready"`
	// Failures counts restarts that failed, after which this image
	// served on; LastError says why the last one did.
	Failures    uint64    `json:"restart_failures"`
	LastError   string    `json:"last_restart_error,omitempty"`
	LastFailure time.Time `json:"last_restart_failure,omitzero"`
}
