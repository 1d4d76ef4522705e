package adminapi

// PathKick is where POST kicks many clients in one request: every
// connected client, or a list of IDs. They are all asked at once and close
// concurrently; the answer comes when all are gone or the server's wait
// for them (3 s, as a whole) is over.
const PathKick = "/v1/kick"

// MaxBulkKickBytes bounds a bulk kick's body: room for some 200,000 IDs.
const MaxBulkKickBytes = 4 << 20

// BulkKick is the body of POST /v1/kick: All, or IDs, not both.
type BulkKick struct {
	All    bool     `json:"all,omitempty"`
	IDs    []uint64 `json:"ids,omitempty"`
	Reason string   `json:"reason,omitempty"`
}

// What became of each client of a bulk kick.
const (
	KickDisconnected = "disconnected"  // gone before the answer
	KickStillClosing = "still-closing" // told, but not gone within the wait
	KickNotConnected = "not-connected" // no such client (IDs only)
)

// BulkKickResult is the answer to POST /v1/kick: one result per client,
// in the order of the request's IDs, or by ID for all.
type BulkKickResult struct {
	Reason  string        `json:"reason,omitempty"`
	Results []KickOutcome `json:"results"`
}

// KickOutcome is what became of one client.
type KickOutcome struct {
	ID     uint64 `json:"id"`
	Result string `json:"result"` // KickDisconnected, KickStillClosing or KickNotConnected
}
