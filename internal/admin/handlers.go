package admin

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/chatd/chatd/internal/admin/adminapi"
	"github.com/chatd/chatd/internal/registry"
)

// kickWait bounds how long DELETE waits for a kicked client to be gone, so
// that a listing right after a kick no longer shows it. The server gives a
// closing connection 2s to take its notice.
const kickWait = 3 * time.Second

func (s *Server) getClient(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	info, found := s.opts.Clients.Get(id)
	if !found {
		writeError(w, http.StatusNotFound, notConnected(id))
		return
	}
	writeJSON(w, http.StatusOK, clientOf(info))
}

func (s *Server) kickClient(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		writeError(w, http.StatusBadRequest, "malformed query string")
		return
	}
	for key := range query {
		if key != "reason" {
			writeError(w, http.StatusBadRequest, "unknown query parameter "+key+" (the only one is reason)")
			return
		}
	}
	if len(query["reason"]) > 1 {
		writeError(w, http.StatusBadRequest, "reason given more than once")
		return
	}
	reason := query.Get("reason")
	if err := adminapi.CheckReason(reason); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := s.opts.Clients.Kick(id, reason); err != nil {
		if errors.Is(err, registry.ErrNotConnected) {
			writeError(w, http.StatusNotFound, notConnected(id))
			return
		}
		writeError(w, http.StatusInternalServerError, "kick client "+adminapi.FormatID(id)+": "+err.Error())
		return
	}
	who := peerOf(r.Context()).cred
	s.log.Info("client kicked by operator", "id", id, "reason", reason, "by_uid", who.UID, "by_pid", who.PID)
	gone := s.waitGone(r.Context(), id)
	writeJSON(w, http.StatusOK, adminapi.KickResult{ID: id, Reason: reason, Disconnected: gone})
}

// waitGone polls until the client is no longer registered, the wait runs
// out, or the caller goes away. It reports whether the client is gone.
func (s *Server) waitGone(ctx context.Context, id uint64) bool {
	ctx, cancel := context.WithTimeout(ctx, kickWait)
	defer cancel()
	for delay := time.Millisecond; ; delay = min(2*delay, 25*time.Millisecond) {
		if _, connected := s.opts.Clients.Get(id); !connected {
			return true
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
	}
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	info := s.opts.Info()
	now := time.Now()
	counters := s.opts.Counters()
	in, out := s.byteTotals(counters)
	uptime := now.Sub(info.StartedAt)
	survival := counters.Survival
	writeJSON(w, http.StatusOK, adminapi.Status{
		Version:          info.Version,
		PID:              info.PID,
		StartedAt:        info.StartedAt.UTC(),
		Uptime:           uptime.Round(time.Second).String(),
		UptimeSeconds:    uptime.Seconds(),
		Listen:           info.Listen,
		AdminSocket:      s.opts.Socket,
		ConfigFile:       info.ConfigFile,
		ClientsConnected: s.opts.Clients.Len(),
		ClientsTotal:     s.opts.Clients.Total(),
		MaxClients:       info.MaxClients,
		BytesIn:          in,
		BytesOut:         out,
		ClientIDs:        s.clientIDs(),
		Survival:         survival,
		Handshakes:       counters.Handshakes,
	})
}

// clientIDs reports on the saving of client IDs for the status.
func (s *Server) clientIDs() adminapi.ClientIDs {
	if s.opts.IDs == nil {
		return adminapi.ClientIDs{Saved: false, Problem: "client IDs are kept in memory only"}
	}
	st := s.opts.IDs()
	ids := adminapi.ClientIDs{StateFile: st.File, Saved: st.Saved, Problem: st.Problem, Retrying: st.Retrying}
	if !st.Saved && !st.Since.IsZero() {
		since := st.Since.UTC()
		ids.UnsavedSince = &since
	}
	return ids
}

// pathID parses the {id} of the request's path, answering 400 itself when
// it is not a client ID.
func pathID(w http.ResponseWriter, r *http.Request) (uint64, bool) {
	id, err := adminapi.ParseID(r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return 0, false
	}
	return id, true
}

func notConnected(id uint64) string { return "client " + adminapi.FormatID(id) + " is not connected" }

func clientOf(i registry.Info) adminapi.Client {
	return adminapi.Client{
		ID:           i.ID,
		RemoteAddr:   i.RemoteAddr,
		LocalAddr:    i.LocalAddr,
		ConnectedAt:  i.ConnectedAt.UTC(),
		LastActiveAt: i.LastActiveAt.UTC(),
		BytesIn:      i.BytesIn,
		BytesOut:     i.BytesOut,
	}
}
