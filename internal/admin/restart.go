package admin

import (
	"net/http"

	"github.com/chatd/chatd/internal/admin/adminapi"
)

// RestartFunc starts a planned restart and returns at once; the answer is
// written before the process hands over.
type RestartFunc func() (adminapi.RestartResult, error)

// restart asks for a planned restart (chatctl restart).
func (s *Server) restart(w http.ResponseWriter, r *http.Request) {
	if s.opts.Restart == nil {
		writeError(w, http.StatusNotImplemented, "this chatd cannot restart itself")
		return
	}
	who := peerOf(r.Context()).cred
	s.log.Info("restart requested over the admin API", "by_uid", who.UID, "by_pid", who.PID)
	res, err := s.opts.Restart()
	if err != nil {
		writeError(w, http.StatusConflict, err.Error())
		return
	}
	writeJSON(w, http.StatusAccepted, res)
}

// restartState says which image answers and how restarts fared, for
// chatctl restart to wait on.
func (s *Server) restartState(w http.ResponseWriter, r *http.Request) {
	if s.opts.RestartState == nil {
		writeError(w, http.StatusNotImplemented, "this chatd cannot tell how a restart went")
		return
	}
	writeJSON(w, http.StatusOK, s.opts.RestartState())
}
