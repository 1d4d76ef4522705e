// Package adminapi defines what chatd's admin API says on the wire: the
// paths, the JSON documents and the error body. The server (package admin)
// and the client (package adminclient) share these types so that they
// cannot drift apart, and chatctl links none of the server's dependencies.
package adminapi

import "time"

// Paths of the admin API. Everything but /metrics is versioned under /v1.
const (
	PathClients = "/v1/clients"
	PathStatus  = "/v1/status"
	PathMetrics = "/metrics"
)

// ClientPath is the path of one client, for GET and DELETE.
func ClientPath(id uint64) string {
	return PathClients + "/" + FormatID(id)
}

// MaxReasonLen is the longest kick reason accepted, in bytes: the reason
// is sent to the client in one notice line.
const MaxReasonLen = 200

// Client is one connected chat client.
type Client struct {
	ID           uint64    `json:"id"`
	RemoteAddr   string    `json:"remote_addr"`
	LocalAddr    string    `json:"local_addr"`
	ConnectedAt  time.Time `json:"connected_at"`
	LastActiveAt time.Time `json:"last_active_at"`
	BytesIn      uint64    `json:"bytes_in"`
	BytesOut     uint64    `json:"bytes_out"`
}

// ClientList is the answer to GET /v1/clients: the connected clients the
// query selects (by default every one, sorted by ID), and how many are
// connected in all.
type ClientList struct {
	Clients []Client `json:"clients"`
	Total   int      `json:"total"`
}

// KickResult is the answer to DELETE /v1/clients/{id}.
type KickResult struct {
	ID     uint64 `json:"id"`
	Reason string `json:"reason,omitempty"`
	// Disconnected reports that the connection was gone when the answer
	// was sent; false means the kick was delivered but the client had not
	// finished closing within the server's wait.
	Disconnected bool `json:"disconnected"`
}

// Status is the answer to GET /v1/status.
type Status struct {
	Version          string    `json:"version"`
	PID              int       `json:"pid"`
	StartedAt        time.Time `json:"started_at"`
	Uptime           string    `json:"uptime"`
	UptimeSeconds    float64   `json:"uptime_seconds"`
	Listen           string    `json:"listen"`
	AdminSocket      string    `json:"admin_socket"`
	ConfigFile       string    `json:"config_file"`
	ClientsConnected int       `json:"clients_connected"`
	ClientsTotal     uint64    `json:"clients_total"`
	MaxClients       int       `json:"max_clients"`
	BytesIn          uint64    `json:"bytes_in"`
	BytesOut         uint64    `json:"bytes_out"`
	ClientIDs        ClientIDs `json:"client_ids"`
	// Survival is restart survival (clients kept across a crash or a
	// restart).
	Survival Survival `json:"restart_survival"`
	// Handshakes are the connections not served yet, one entry per kind
	// of handshake the listeners run (none without TLS or PROXY).
	Handshakes []Handshakes `json:"handshakes,omitempty"`
}

// Handshakes counts one kind of handshake a connection goes through
// before it is served: "proxy" (the PROXY header) or "tls".
type Handshakes struct {
	Stage   string `json:"stage"`
	Pending int    `json:"pending"` // in handshake, or done and not yet served
	// Failed counts the connections closed before they were served, by
	// reason: timeout, closed (by the peer), invalid, untrusted (a
	// direct peer refused by the PROXY policy), displaced and
	// source_full (gave way to newer connections under pressure).
	Failed map[string]uint64 `json:"failed"`
}

// ClientIDs says whether client IDs are saved in the state directory, so
// that a restart never repeats them. When they cannot be saved, chatd
// takes IDs from a clock-derived floor instead, which no restart repeats
// either, and keeps trying to save.
type ClientIDs struct {
	StateFile string `json:"state_file"`
	Saved     bool   `json:"saved"`
	// When Saved is false: since when, and why.
	UnsavedSince *time.Time `json:"unsaved_since,omitempty"`
	Problem      string     `json:"problem,omitempty"`
	Retrying     bool       `json:"retrying,omitempty"` // saving is tried again
}

// Survival is the restart-survival part of Status.
type Survival struct {
	Enabled bool `json:"enabled"`
	// InPlace: no service manager holds the clients; a planned restart
	// re-execs chatd in place, a crash drops them.
	InPlace bool `json:"in_place,omitempty"`
	// Held is how many connections the service manager's descriptor
	// store keeps for a next process now.
	Held int `json:"held"`
	// The restart counters are the service instance's: they go on
	// across restarts and crashes and start from zero after a stop.
	// Lost counts only live connections; a kicked or closing client
	// handed over with the rest is not one.
	Restarts  uint64 `json:"restarts_survived"`
	TakenBack uint64 `json:"connections_taken_back"`
	Lost      uint64 `json:"connections_lost"`
	// Degraded, when not empty, says why chatd serves on the last good
	// config instead of the one it was started with.
	Degraded string `json:"degraded,omitempty"`
}

// Error is the body of every error answer.
type Error struct {
	Error string `json:"error"`
}
