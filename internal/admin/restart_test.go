package admin

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/admin/adminapi"
	"github.com/chatd/chatd/internal/peercred"
)

func TestRestart(t *testing.T) {
	f := newFixture(t, "")
	errorOf(t, f.do(root, http.MethodPost, adminapi.PathRestart, nil), http.StatusNotImplemented)

	calls := 0
	f.srv.opts.Restart = func() (adminapi.RestartResult, error) {
		calls++
		return adminapi.RestartResult{PID: 4242, Clients: 3, How: "systemd"}, nil
	}
	w := f.do(root, http.MethodPost, adminapi.PathRestart, nil)
	if w.Code != http.StatusAccepted {
		t.Fatalf("status %d, want 202: %s", w.Code, w.Body)
	}
	var res adminapi.RestartResult
	if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil || calls != 1 || res != (adminapi.RestartResult{PID: 4242, Clients: 3, How: "systemd"}) {
		t.Fatalf("calls %d, answer %+v", calls, res)
	}
	errorOf(t, f.do(root, http.MethodGet, adminapi.PathRestart, nil), http.StatusMethodNotAllowed)
	stranger := &peercred.Cred{UID: 4321, GID: 4321, PID: 99}
	errorOf(t, f.do(stranger, http.MethodPost, adminapi.PathRestart, nil), http.StatusForbidden)
	if calls != 1 {
		t.Fatalf("restart ran %d times", calls)
	}

	f.srv.opts.Restart = func() (adminapi.RestartResult, error) {
		return adminapi.RestartResult{}, errors.New("survive_restarts is off")
	}
	if msg := errorOf(t, f.do(root, http.MethodPost, adminapi.PathRestart, nil), http.StatusConflict); !strings.Contains(msg, "survive_restarts") {
		t.Fatalf("message %q", msg)
	}
}
