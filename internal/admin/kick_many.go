package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/chatd/chatd/internal/admin/adminapi"
)

// bulkKickWait bounds a bulk kick's wait for its clients to be gone, all
// of them together: the server's own timeout for a kick notice, so a
// client that reads is gone well within it, and one that does not is
// reported "still closing" (the server closes it soon after).
const bulkKickWait = 2 * time.Second

// kickMany is POST /v1/kick: every client, or a list of IDs, asked at once.
// The connections close concurrently, each on its own; the answer waits
// for all of them together, for at most bulkKickWait, so a thousand
// clients that do not read cost one wait, not a thousand.
func (s *Server) kickMany(w http.ResponseWriter, r *http.Request) {
	req, err := decodeBulkKick(r.Body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	kicked, missing := s.opts.Clients.KickMany(req.All, req.IDs, req.Reason)
	who := peerOf(r.Context()).cred
	// One line for the request, however many it reaches: each kicked
	// client's own "client disconnected" line (reason kicked) follows.
	attrs := []any{"count", len(kicked), "reason", req.Reason, "by_uid", who.UID, "by_pid", who.PID}
	if req.All {
		attrs = append(attrs, "all", true)
	} else {
		attrs = append(attrs, "ids", req.IDs)
	}
	s.log.Info("clients kicked by operator", attrs...)

	deadline := time.NewTimer(bulkKickWait)
	defer deadline.Stop()
	waiting := true
	result := make(map[uint64]string, len(kicked)+len(missing))
	for _, k := range kicked {
		outcome := adminapi.KickStillClosing
		if waiting {
			select {
			case <-k.Left:
				outcome = adminapi.KickDisconnected
			case <-deadline.C:
				waiting = false
			case <-r.Context().Done():
				waiting = false
			}
		}
		if !waiting {
			select {
			case <-k.Left:
				outcome = adminapi.KickDisconnected
			default:
			}
		}
		result[k.ID] = outcome
	}
	for _, id := range missing {
		result[id] = adminapi.KickNotConnected
	}
	order := req.IDs
	if req.All {
		order = make([]uint64, len(kicked))
		for i, k := range kicked {
			order[i] = k.ID
		}
	}
	res := adminapi.BulkKickResult{Reason: req.Reason, Results: make([]adminapi.KickOutcome, len(order))}
	for i, id := range order {
		res.Results[i] = adminapi.KickOutcome{ID: id, Result: result[id]}
	}
	writeJSON(w, http.StatusOK, res)
}

// decodeBulkKick reads and checks a bulk kick's body: all or IDs (not both,
// not neither), each ID a client ID, a printable reason. Repeated IDs are
// kicked once.
func decodeBulkKick(body io.Reader) (adminapi.BulkKick, error) {
	var req adminapi.BulkKick
	b, err := io.ReadAll(body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return req, fmt.Errorf("request body too large (at most %d bytes)", tooBig.Limit)
		}
		return req, fmt.Errorf("read request body: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return req, fmt.Errorf(`body must be {"all":true} or {"ids":[…]}, with an optional "reason": %v`, err)
	}
	if dec.More() {
		return req, errors.New("body holds more than one JSON document")
	}
	switch {
	case req.All && len(req.IDs) > 0:
		return req, errors.New(`give "all" or "ids", not both`)
	case !req.All && len(req.IDs) == 0:
		return req, errors.New(`give "all": true or a non-empty "ids" list`)
	}
	for _, id := range req.IDs {
		if id == 0 {
			return req, errors.New("bad client id 0: must be a positive whole number")
		}
	}
	if err := adminapi.CheckReason(req.Reason); err != nil {
		return req, err
	}
	req.IDs = dedup(req.IDs)
	return req, nil
}

// dedup drops repeated IDs, keeping the first of each.
func dedup(ids []uint64) []uint64 {
	if len(ids) < 2 {
		return ids
	}
	seen := make(map[uint64]struct{}, len(ids))
	return slices.DeleteFunc(slices.Clone(ids), func(id uint64) bool {
		if _, dup := seen[id]; dup {
			return true
		}
		seen[id] = struct{}{}
		return false
	})
}
