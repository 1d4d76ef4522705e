package admin

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/admin/adminapi"
	"github.com/chatd/chatd/internal/peercred"
)

func TestReloadAnswersWhatChanged(t *testing.T) {
	f := newFixture(t, "")
	calls := 0
	f.srv.opts.Reload = func() (adminapi.ReloadResult, error) {
		calls++
		return adminapi.ReloadResult{Applied: []string{"max_clients"}, ConfigFile: "/etc/chatd/chatd.yaml"}, nil
	}
	res := decode[adminapi.ReloadResult](t, f.do(root, http.MethodPost, adminapi.PathReload, nil))
	if calls != 1 || len(res.Applied) != 1 || res.Applied[0] != "max_clients" || res.NeedRestart == nil {
		t.Fatalf("calls %d, answer %+v (need_restart must be [] not null)", calls, res)
	}
}

func TestReloadOfARejectedConfigIs422(t *testing.T) {
	f := newFixture(t, "")
	f.srv.opts.Reload = func() (adminapi.ReloadResult, error) {
		return adminapi.ReloadResult{}, errors.New(`reload: config: max_clients = "-1" (from file x): must be at least 1`)
	}
	msg := errorOf(t, f.do(root, http.MethodPost, adminapi.PathReload, nil), http.StatusUnprocessableEntity)
	if !strings.Contains(msg, "must be at least 1") || !strings.Contains(msg, "running configuration stays") {
		t.Fatalf("message %q", msg)
	}
}

func TestReloadNeedsPOSTAndPermission(t *testing.T) {
	f := newFixture(t, "")
	f.srv.opts.Reload = func() (adminapi.ReloadResult, error) {
		t.Error("reload ran")
		return adminapi.ReloadResult{}, nil
	}
	errorOf(t, f.do(root, http.MethodGet, adminapi.PathReload, nil), http.StatusMethodNotAllowed)
	stranger := &peercred.Cred{UID: 4321, GID: 4321, PID: 99}
	errorOf(t, f.do(stranger, http.MethodPost, adminapi.PathReload, nil), http.StatusForbidden)
}

func TestReloadWithoutAReloader(t *testing.T) {
	f := newFixture(t, "")
	errorOf(t, f.do(root, http.MethodPost, adminapi.PathReload, nil), http.StatusNotImplemented)
}
