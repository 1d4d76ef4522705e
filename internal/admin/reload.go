package admin

import (
	"net/http"

	"github.com/chatd/chatd/internal/admin/adminapi"
)

// ReloadFunc re-reads the daemon's configuration and says what changed,
// or why the new configuration was rejected.
type ReloadFunc func() (adminapi.ReloadResult, error)

// reload re-reads chatd's configuration, as SIGHUP does, and says what
// changed. A configuration chatd rejects is 422 with the reason; the
// running configuration stays.
func (s *Server) reload(w http.ResponseWriter, r *http.Request) {
	if s.opts.Reload == nil {
		writeError(w, http.StatusNotImplemented, "this chatd cannot reload its configuration")
		return
	}
	who := peerOf(r.Context()).cred
	s.log.Info("configuration reload requested over the admin API", "by_uid", who.UID, "by_pid", who.PID)
	res, err := s.opts.Reload()
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, err.Error()+"; the running configuration stays")
		return
	}
	if res.Applied == nil {
		res.Applied = []string{}
	}
	if res.NeedRestart == nil {
		res.NeedRestart = []string{}
	}
	writeJSON(w, http.StatusOK, res)
}
