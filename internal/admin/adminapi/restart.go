package adminapi

// PathRestart is where POST asks chatd for a planned restart: the clients
// stay connected and lose nothing (systemd's descriptor store, or a
// re-exec in place without systemd).
const PathRestart = "/v1/restart"

// RestartResult is the answer to POST /v1/restart: the restart has
// begun; PID is the process that handed over (under systemd the next one
// has another PID, after a re-exec it is the same).
type RestartResult struct {
	PID     int    `json:"pid"`
	Clients int    `json:"clients"`
	How     string `json:"how"` // "systemd" or "re-exec"
}
