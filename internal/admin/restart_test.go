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
	errorOf(t, f.do(root, http.MethodDelete, adminapi.PathRestart, nil), http.StatusMethodNotAllowed)
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

// GET /v1/restart says which image answers and how its restarts fared,
// for chatctl restart to wait on; only for those allowed to restart.
func TestRestartState(t *testing.T) {
	f := newFixture(t, "")
	errorOf(t, f.do(root, http.MethodGet, adminapi.PathRestart, nil), http.StatusNotImplemented)
	want := adminapi.RestartState{Image: "7@1", PID: 7, Clients: 2, Ready: true, Failures: 1, LastError: "re-exec /x: exec format error"}
	f.srv.opts.RestartState = func() adminapi.RestartState { return want }
	w := f.do(root, http.MethodGet, adminapi.PathRestart, nil)
	var got adminapi.RestartState
	if err := json.Unmarshal(w.Body.Bytes(), &got); w.Code != http.StatusOK || err != nil || got != want {
		t.Fatalf("status %d, answer %+v (%v), want %+v", w.Code, got, err, want)
	}
	stranger := &peercred.Cred{UID: 4321, GID: 4321, PID: 99}
	errorOf(t, f.do(stranger, http.MethodGet, adminapi.PathRestart, nil), http.StatusForbidden)
}
