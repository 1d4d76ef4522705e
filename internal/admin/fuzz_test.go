package admin

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chatd/chatd/internal/admin/adminapi"
	"github.com/chatd/chatd/internal/peercred"
)

// documentedStatuses are the answers the admin handler may give (503 is
// the listener's, for a connection it turns away, and 500 needs a
// registry that fails).
var documentedStatuses = []int{
	http.StatusOK,
	http.StatusBadRequest,
	http.StatusForbidden,
	http.StatusNotFound,
	http.StatusMethodNotAllowed,
	http.StatusLengthRequired,
	http.StatusRequestEntityTooLarge,
	http.StatusUnprocessableEntity,
	http.StatusNotImplemented,
}

// maxFuzzRequests bounds the pipelined requests taken from one input.
const maxFuzzRequests = 8

// FuzzAdminRequest feeds arbitrary bytes, parsed as one or more pipelined
// HTTP/1.1 requests, through the admin API's real handler stack (the one
// the server runs: authorization, body limits, routes, JSON errors) with a
// real registry of fake clients 1, 2 and 3. Each request goes first as a
// stranger, then as root. It checks that nothing panics; every status is a
// documented one; every error is a JSON {"error": ...}; a stranger gets 403
// and changes nothing; and a client is kicked, and the configuration
// reloaded, only by a well-formed request for exactly that.
func FuzzAdminRequest(f *testing.F) {
	// The seed corpus is in testdata/fuzz/FuzzAdminRequest.
	stranger := &peercred.Cred{UID: 54321, GID: 54321, PID: 2}
	f.Fuzz(func(t *testing.T, raw []byte) {
		fx := newFixture(t, "")
		for i := range 3 {
			fx.addClient(40001+i, 10, 20)
		}
		var reloads atomic.Int64
		fx.srv.opts.Reload = func() (adminapi.ReloadResult, error) {
			reloads.Add(1)
			return adminapi.ReloadResult{ConfigFile: "/etc/chatd/chatd.yaml"}, nil
		}
		handler := fx.srv.Handler()
		kicked := map[uint64]bool{}
		wantReloads := int64(0)

		br := bufio.NewReader(bytes.NewReader(raw))
		for range maxFuzzRequests {
			r, err := http.ReadRequest(br)
			if err != nil {
				return // net/http answers 400 or closes; the handler never sees it
			}
			body, _ := io.ReadAll(io.LimitReader(r.Body, int64(len(raw))+1))
			r.Body.Close()

			// As a stranger: 403, before anything else.
			w := serveFuzz(handler, r, body, stranger)
			checkJSONError(t, r, w, http.StatusForbidden)
			if w.Header().Get("Connection") != "close" {
				t.Fatalf("%s %q: a refused caller's connection is kept open", r.Method, r.RequestURI)
			}

			// As root.
			w = serveFuzz(handler, r, body, root)
			if !slices.Contains(documentedStatuses, w.Code) {
				t.Fatalf("%s %q: undocumented status %d: %s", r.Method, r.RequestURI, w.Code, w.Body)
			}
			if w.Code >= 400 {
				checkJSONError(t, r, w, w.Code)
			} else if r.URL.Path != adminapi.PathMetrics && r.Method != http.MethodHead && !json.Valid(w.Body.Bytes()) {
				t.Fatalf("%s %q: status %d with a body that is not JSON: %q", r.Method, r.RequestURI, w.Code, w.Body)
			}

			id, reason, isKick := wellFormedKick(r)
			if isKick && !kicked[id] && id <= 3 {
				if w.Code != http.StatusOK {
					t.Fatalf("%s %q: a well-formed kick of connected client %d answered %d: %s", r.Method, r.RequestURI, id, w.Code, w.Body)
				}
				kicked[id] = true
				if got := fx.conns[id].kicks(); len(got) != 1 || got[0] != reason {
					t.Fatalf("%s %q: client %d was told %q, want %q", r.Method, r.RequestURI, id, got, reason)
				}
			}
			for cid, fc := range fx.conns {
				if n := len(fc.kicks()); n > 0 && !kicked[cid] || n > 1 {
					t.Fatalf("%s %q: client %d kicked %d times (%q); kicks meant so far: %v",
						r.Method, r.RequestURI, cid, n, fc.kicks(), kicked)
				}
			}
			if wellFormedReload(r) {
				wantReloads++
			}
			if got := reloads.Load(); got != wantReloads {
				t.Fatalf("%s %q: %d reloads, want %d", r.Method, r.RequestURI, got, wantReloads)
			}
			// The real server closes the connection after these, or would
			// not have read on; so must the fuzz.
			if w.Header().Get("Connection") == "close" || r.Close {
				return
			}
		}
	})
}

// serveFuzz runs one request through the handler as who, with a fresh
// copy of its body, and returns the answer.
func serveFuzz(h http.Handler, r *http.Request, body []byte, who *peercred.Cred) *httptest.ResponseRecorder {
	r2 := r.Clone(withPeer(context.Background(), peer{cred: who}))
	r2.Body = io.NopCloser(bytes.NewReader(body))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r2)
	return w
}

// checkJSONError fails unless the answer is status with a JSON error body.
func checkJSONError(t *testing.T, r *http.Request, w *httptest.ResponseRecorder, status int) {
	t.Helper()
	var e map[string]any
	if w.Code != status || w.Header().Get("Content-Type") != "application/json" || json.Unmarshal(w.Body.Bytes(), &e) != nil {
		t.Fatalf("%s %q: answered %d %q %q, want %d with a JSON error", r.Method, r.RequestURI, w.Code,
			w.Header().Get("Content-Type"), w.Body, status)
	}
	if msg, ok := e["error"].(string); !ok || msg == "" || len(e) != 1 {
		t.Fatalf("%s %q: error body %q is not {\"error\": message}", r.Method, r.RequestURI, w.Body)
	}
}

// wellFormedKick says, independently of the handler, whether r is a
// well-formed kick: DELETE of /v1/clients/ID with a canonical ID, at most
// one valid reason and nothing else in the query, and no body beyond the
// limit.
func wellFormedKick(r *http.Request) (id uint64, reason string, ok bool) {
	if r.Method != http.MethodDelete || !bodyAllowed(r) {
		return 0, "", false
	}
	p := r.URL.Path
	if path.Clean(p) != p {
		return 0, "", false
	}
	// The mux matches the escaped path: an escaped slash stays in the ID.
	rest, found := strings.CutPrefix(r.URL.EscapedPath(), adminapi.PathClients+"/")
	if !found {
		return 0, "", false
	}
	seg, err := url.PathUnescape(rest)
	if err != nil || strings.Contains(rest, "/") {
		return 0, "", false
	}
	if id, err = adminapi.ParseID(seg); err != nil {
		return 0, "", false
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil || len(q) > 1 || len(q["reason"]) > 1 || len(q) == 1 && q["reason"] == nil {
		return 0, "", false
	}
	reason = q.Get("reason")
	if adminapi.CheckReason(reason) != nil {
		return 0, "", false
	}
	return id, reason, true
}

// wellFormedReload says whether r is POST /v1/reload within the body limit.
func wellFormedReload(r *http.Request) bool {
	return r.Method == http.MethodPost && r.URL.Path == adminapi.PathReload && bodyAllowed(r)
}

func bodyAllowed(r *http.Request) bool {
	return r.ContentLength >= 0 && r.ContentLength <= maxBodyBytes
}
