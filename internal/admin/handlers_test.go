package admin

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/admin/adminapi"
	"github.com/chatd/chatd/internal/idstate"
	"github.com/chatd/chatd/internal/peercred"
	"github.com/chatd/chatd/internal/registry"
)

// fakeConn stands in for a chat connection: a kick is recorded and, like
// the real server, the client leaves the registry once it has been told.
type fakeConn struct {
	reg *registry.Registry
	id  uint64

	mu     sync.Mutex
	kicked []string
	linger bool // stay registered after a kick (a client slow to close)
}

func (f *fakeConn) Kick(reason string) {
	f.mu.Lock()
	f.kicked = append(f.kicked, reason)
	linger := f.linger
	f.mu.Unlock()
	if !linger {
		go f.reg.Remove(f.id)
	}
}

func (f *fakeConn) kicks() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.kicked...)
}

type fixture struct {
	t        *testing.T
	reg      *registry.Registry
	conns    map[uint64]*fakeConn
	counters Counters
	srv      *Server
	started  time.Time
	ids      idstate.State
}

func newFixture(t *testing.T, group string) *fixture {
	t.Helper()
	f := &fixture{t: t, reg: registry.New(nil), conns: map[uint64]*fakeConn{},
		started: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		ids:     idstate.State{File: "/var/lib/chatd/client-ids", Saved: true}}
	f.counters = Counters{AcceptErrors: 2, Rejected: 3, SourceFull: 5, ClosedBytesIn: 1000, ClosedBytesOut: 2000,
		Disconnects: map[string]uint64{"eof": 4, "kicked": 1},
		Survival:    adminapi.Survival{Enabled: true, Held: 1, Restarts: 2, TakenBack: 3, Lost: 4},
		Handshakes:  []adminapi.Handshakes{{Stage: "tls", Pending: 7, Failed: map[string]uint64{"timeout": 8, "displaced": 9}}}}
	srv, err := newServer(Options{
		Socket:   "/run/test/admin.sock",
		Mode:     0o660,
		Group:    group,
		Clients:  f.reg,
		Counters: func() Counters { return f.counters },
		Info: func() Info {
			return Info{Version: "1.2.3", PID: 4242, StartedAt: f.started, Listen: "127.0.0.1:5605",
				ConfigFile: "/etc/chatd/chatd.yaml", MaxClients: 100}
		},
		IDs: func() idstate.State { return f.ids },
	})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = srv
	return f
}

// addClient registers a client from remote port port with the given
// traffic.
func (f *fixture) addClient(port int, in, out int) uint64 {
	fc := &fakeConn{reg: f.reg}
	remote := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
	local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5605}
	c := registry.NewClient(fc, remote, local, time.Now())
	c.AddIn(in, time.Now())
	c.AddOut(out)
	fc.id = f.reg.Add(c)
	f.conns[fc.id] = fc
	return fc.id
}

var root = &peercred.Cred{UID: 0, GID: 0, PID: 1}

// do sends a request through the whole handler as the given peer.
func (f *fixture) do(who *peercred.Cred, method, target string, body io.Reader) *httptest.ResponseRecorder {
	f.t.Helper()
	r := httptest.NewRequest(method, target, body)
	r = r.WithContext(withPeer(r.Context(), peer{cred: who}))
	w := httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(w, r)
	return w
}

// errorOf checks that the answer is a JSON error with the given status
// and returns its message.
func errorOf(t *testing.T, w *httptest.ResponseRecorder, status int) string {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status %d, want %d; body %s", w.Code, status, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q, want application/json; body %s", ct, w.Body)
	}
	var e adminapi.Error
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error == "" {
		t.Fatalf("body %q is not a JSON error: %v", w.Body, err)
	}
	return e.Error
}

func decode[T any](t *testing.T, w *httptest.ResponseRecorder) T {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("status %d, want 200; body %s", w.Code, w.Body)
	}
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %s: %v", w.Body, err)
	}
	return v
}

func TestListClientsSortedWithTheirCounters(t *testing.T) {
	f := newFixture(t, "")
	for i := range 5 {
		f.addClient(40000+i, 10*i, 20*i)
	}
	f.reg.Remove(3)
	w := f.do(root, "GET", "/v1/clients", nil)
	list := decode[adminapi.ClientList](t, w)
	var ids []uint64
	for _, c := range list.Clients {
		ids = append(ids, c.ID)
		i := int(c.ID - 1)
		if c.RemoteAddr != "127.0.0.1:"+itoa(40000+i) || c.LocalAddr != "127.0.0.1:5605" {
			t.Errorf("client %d addresses %q %q", c.ID, c.RemoteAddr, c.LocalAddr)
		}
		if c.BytesIn != uint64(10*i) || c.BytesOut != uint64(20*i) {
			t.Errorf("client %d bytes %d/%d, want %d/%d", c.ID, c.BytesIn, c.BytesOut, 10*i, 20*i)
		}
		if c.ConnectedAt.IsZero() || c.LastActiveAt.Before(c.ConnectedAt) {
			t.Errorf("client %d times %v %v", c.ID, c.ConnectedAt, c.LastActiveAt)
		}
	}
	if want := []uint64{1, 2, 4, 5}; !slices.Equal(ids, want) {
		t.Fatalf("ids %v, want %v", ids, want)
	}
	// The wire format the README documents: snake_case keys, RFC 3339 UTC.
	var raw struct {
		Clients []map[string]any `json:"clients"`
	}
	json.Unmarshal(w.Body.Bytes(), &raw)
	for _, key := range []string{"id", "remote_addr", "local_addr", "connected_at", "last_active_at", "bytes_in", "bytes_out"} {
		if _, ok := raw.Clients[0][key]; !ok {
			t.Errorf("client JSON has no %q: %v", key, raw.Clients[0])
		}
	}
	if at := raw.Clients[0]["connected_at"].(string); !strings.HasSuffix(at, "Z") {
		t.Errorf("connected_at %q is not RFC 3339 UTC", at)
	}
}

func TestEmptyListIsAnEmptyArray(t *testing.T) {
	f := newFixture(t, "")
	w := f.do(root, "GET", "/v1/clients", nil)
	if got := strings.TrimSpace(w.Body.String()); got != `{"clients":[],"total":0}` {
		t.Fatalf("body %s", got)
	}
}

func TestGetOneClient(t *testing.T) {
	f := newFixture(t, "")
	f.addClient(40001, 5, 6)
	id := f.addClient(40002, 7, 8)
	c := decode[adminapi.Client](t, f.do(root, "GET", "/v1/clients/2", nil))
	if c.ID != id || c.RemoteAddr != "127.0.0.1:40002" || c.BytesIn != 7 || c.BytesOut != 8 {
		t.Fatalf("got %+v", c)
	}
	if msg := errorOf(t, f.do(root, "GET", "/v1/clients/9", nil), 404); msg != "client 9 is not connected" {
		t.Fatalf("404 message %q", msg)
	}
}

func TestBadIDsAre400(t *testing.T) {
	f := newFixture(t, "")
	f.addClient(40001, 0, 0)
	for _, id := range []string{"abc", "0", "-1", "01", "1.5", "0x1", "%201", "99999999999999999999", "1e3"} {
		for _, method := range []string{"GET", "DELETE"} {
			msg := errorOf(t, f.do(root, method, "/v1/clients/"+id, nil), 400)
			if !strings.Contains(msg, "bad client id") {
				t.Errorf("%s %s: message %q", method, id, msg)
			}
		}
	}
	if got := f.conns[1].kicks(); len(got) != 0 {
		t.Fatalf("a bad id kicked client 1: %v", got)
	}
}

func TestKickTellsTheReasonAndWaitsForTheClientToGo(t *testing.T) {
	f := newFixture(t, "")
	a, b := f.addClient(40001, 0, 0), f.addClient(40002, 0, 0)
	res := decode[adminapi.KickResult](t, f.do(root, "DELETE", "/v1/clients/1?reason=too+loud", nil))
	if res.ID != a || res.Reason != "too loud" || !res.Disconnected {
		t.Fatalf("result %+v", res)
	}
	if got := f.conns[a].kicks(); len(got) != 1 || got[0] != "too loud" {
		t.Fatalf("client %d was told %q", a, got)
	}
	if _, ok := f.reg.Get(a); ok {
		t.Fatal("kicked client still listed after the answer")
	}
	if got := f.conns[b].kicks(); len(got) != 0 {
		t.Fatalf("kicking %d disturbed %d: %v", a, b, got)
	}
	if msg := errorOf(t, f.do(root, "DELETE", "/v1/clients/1", nil), 404); msg != "client 1 is not connected" {
		t.Fatalf("second kick: %q", msg)
	}
}

func TestKickWithoutReason(t *testing.T) {
	f := newFixture(t, "")
	f.addClient(40001, 0, 0)
	res := decode[adminapi.KickResult](t, f.do(root, "DELETE", "/v1/clients/1", nil))
	if got := f.conns[1].kicks(); len(got) != 1 || got[0] != "" || res.Reason != "" {
		t.Fatalf("kicks %q, result %+v", got, res)
	}
}

func TestKickOfASlowClientAnswersWithinTheWait(t *testing.T) {
	f := newFixture(t, "")
	f.addClient(40001, 0, 0)
	f.conns[1].linger = true
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	r := httptest.NewRequest("DELETE", "/v1/clients/1", nil)
	r = r.WithContext(withPeer(ctx, peer{cred: root}))
	w := httptest.NewRecorder()
	start := time.Now()
	f.srv.Handler().ServeHTTP(w, r)
	res := decode[adminapi.KickResult](t, w)
	if res.Disconnected {
		t.Fatal("a client that is still registered was reported disconnected")
	}
	if d := time.Since(start); d > kickWait {
		t.Fatalf("kick answered after %v; the caller gave up after 50ms", d)
	}
}

func TestBadKickRequestsAre400(t *testing.T) {
	f := newFixture(t, "")
	f.addClient(40001, 0, 0)
	for target, want := range map[string]string{
		"/v1/clients/1?reason=a%0Ab":                              "one line",
		"/v1/clients/1?reason=" + strings.Repeat("x", 201):        "too long",
		"/v1/clients/1?reason=%ff":                                "UTF-8",
		"/v1/clients/1?reson=typo":                                "unknown query parameter reson",
		"/v1/clients/1?reason=a&reason=b":                         "more than once",
		"/v1/clients/1?reason=%zz":                                "malformed query",
		"/v1/clients/1?reason=" + strings.Repeat("%00", 3) + "ab": "one line",
		"/v1/clients/1?reason=a%E2%80%A8b":                        "printable",
		"/v1/clients/1?reason=%E2%80%AEevil":                      "printable",
	} {
		if msg := errorOf(t, f.do(root, "DELETE", target, nil), 400); !strings.Contains(msg, want) {
			t.Errorf("%s: message %q, want it to say %q", target, msg, want)
		}
	}
	if got := f.conns[1].kicks(); len(got) != 0 {
		t.Fatalf("a bad request kicked: %q", got)
	}
}

func TestUnknownPathsAre404AndWrongMethods405(t *testing.T) {
	f := newFixture(t, "")
	for _, target := range []string{"/", "/v1", "/v1/", "/v2/clients", "/v1/clients/", "/v1/clients/1/x", "/metrics/x", "/v1/statuses",
		"/v1/../v1/status", "//v1/status", "/v1/./clients", "/v1/clients/"} {
		msg := errorOf(t, f.do(root, "GET", target, nil), 404)
		if !strings.Contains(msg, "no such endpoint") {
			t.Errorf("GET %s: %q", target, msg)
		}
	}
	for _, c := range []struct{ method, target, allow string }{
		{"POST", "/v1/clients", "GET, HEAD"},
		{"DELETE", "/v1/clients", "GET, HEAD"},
		{"PUT", "/v1/clients/1", "DELETE, GET, HEAD"},
		{"POST", "/v1/status", "GET, HEAD"},
		{"DELETE", "/metrics", "GET, HEAD"},
	} {
		w := f.do(root, c.method, c.target, nil)
		msg := errorOf(t, w, 405)
		if !strings.Contains(msg, c.method) || w.Header().Get("Allow") != c.allow {
			t.Errorf("%s %s: %q, Allow %q (want %q)", c.method, c.target, msg, w.Header().Get("Allow"), c.allow)
		}
	}
}

func TestOversizedBodiesAreRefused(t *testing.T) {
	f := newFixture(t, "")
	f.addClient(40001, 0, 0)
	big := strings.Repeat("x", maxBodyBytes+1)
	w := f.do(root, "DELETE", "/v1/clients/1", strings.NewReader(big))
	errorOf(t, w, http.StatusRequestEntityTooLarge)
	if w.Header().Get("Connection") != "close" {
		t.Error("a 413 should close the connection rather than read the rest")
	}
	// A chunked body has no declared length: refused before any handler
	// acts, whatever its size turns out to be.
	r := httptest.NewRequest("DELETE", "/v1/clients/1", strings.NewReader("{}"))
	r.ContentLength = -1
	r.TransferEncoding = []string{"chunked"}
	r = r.WithContext(withPeer(r.Context(), peer{cred: root}))
	w = httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(w, r)
	errorOf(t, w, http.StatusLengthRequired)
	if got := f.conns[1].kicks(); len(got) != 0 {
		t.Fatalf("a refused request kicked: %q", got)
	}
	// A small declared body is tolerated and ignored.
	decode[adminapi.Client](t, f.do(root, "GET", "/v1/clients/1", strings.NewReader("{}")))
}

func TestStatus(t *testing.T) {
	f := newFixture(t, "")
	f.addClient(40001, 10, 20)
	f.addClient(40002, 1, 2)
	f.reg.Remove(1)
	st := decode[adminapi.Status](t, f.do(root, "GET", "/v1/status", nil))
	want := adminapi.Status{Version: "1.2.3", PID: 4242, StartedAt: f.started, Listen: "127.0.0.1:5605",
		AdminSocket: "/run/test/admin.sock", ConfigFile: "/etc/chatd/chatd.yaml",
		ClientsConnected: 1, ClientsTotal: 2, MaxClients: 100,
		BytesIn: 1000 + 1, BytesOut: 2000 + 2,
		ClientIDs: adminapi.ClientIDs{StateFile: "/var/lib/chatd/client-ids", Saved: true},
		Survival:  f.counters.Survival, Handshakes: f.counters.Handshakes}
	got := st
	got.Uptime, got.UptimeSeconds = "", 0
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("status\n got %+v\nwant %+v", got, want)
	}
	if st.UptimeSeconds < time.Since(f.started).Seconds()-5 || st.Uptime == "" {
		t.Fatalf("uptime %q / %v", st.Uptime, st.UptimeSeconds)
	}
}

// While client IDs cannot be saved the status says so, since when, why,
// and whether chatd keeps trying.
func TestStatusSaysWhenClientIDsAreNotSaved(t *testing.T) {
	f := newFixture(t, "")
	since := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	f.ids = idstate.State{File: "/ro/client-ids", Since: since, Problem: "read-only file system", Retrying: true}
	st := decode[adminapi.Status](t, f.do(root, "GET", "/v1/status", nil))
	ids := st.ClientIDs
	if ids.Saved || ids.UnsavedSince == nil || !ids.UnsavedSince.Equal(since) ||
		ids.Problem != "read-only file system" || !ids.Retrying || ids.StateFile != "/ro/client-ids" {
		t.Fatalf("client_ids %+v", ids)
	}
}

func TestByteTotalsNeverGoDown(t *testing.T) {
	f := newFixture(t, "")
	f.addClient(40001, 100, 200)
	in, out := f.srv.byteTotals(f.counters)
	if in != 1100 || out != 2200 {
		t.Fatalf("totals %d/%d", in, out)
	}
	// The client ends: it leaves the registry before the server adds its
	// bytes to the closed totals. A reading in between must not dip.
	f.reg.Remove(1)
	if in, out := f.srv.byteTotals(f.counters); in != 1100 || out != 2200 {
		t.Fatalf("totals dipped to %d/%d", in, out)
	}
	f.counters.ClosedBytesIn, f.counters.ClosedBytesOut = 1150, 2250
	if in, out := f.srv.byteTotals(f.counters); in != 1150 || out != 2250 {
		t.Fatalf("totals %d/%d after more traffic", in, out)
	}
}

func TestOnlyRootOwnUserAndGroupMembersAreAllowed(t *testing.T) {
	group, gid := someGroup(t)
	f := newFixture(t, group)
	self := uint32(os.Geteuid())
	for _, c := range []struct {
		name string
		who  *peercred.Cred
		ok   bool
	}{
		{"root", &peercred.Cred{UID: 0, GID: 0}, true},
		{"chatd's own user", &peercred.Cred{UID: self, GID: 12345}, true},
		{"primary group member", &peercred.Cred{UID: 54321, GID: gid}, true},
		{"stranger", &peercred.Cred{UID: 54321, GID: 54321}, self == 54321},
	} {
		w := f.do(c.who, "GET", "/v1/clients", nil)
		if c.ok {
			if w.Code != 200 {
				t.Errorf("%s: status %d: %s", c.name, w.Code, w.Body)
			}
			continue
		}
		msg := errorOf(t, w, 403)
		if want := "permission denied: run as root or as a member of group " + group; msg != want {
			t.Errorf("%s: %q, want %q", c.name, msg, want)
		}
	}
}

func TestForbiddenComesBeforeRouting(t *testing.T) {
	f := newFixture(t, "")
	stranger := &peercred.Cred{UID: 54321, GID: 54321}
	if os.Geteuid() == 54321 {
		t.Skip("the test's stranger is us")
	}
	for _, target := range []string{"/nope", "/v1/clients/abc", "/metrics"} {
		w := f.do(stranger, "GET", target, nil)
		if msg := errorOf(t, w, 403); !strings.HasPrefix(msg, "permission denied: run as root") {
			t.Errorf("%s: %q", target, msg)
		}
		if w.Header().Get("Connection") != "close" {
			t.Errorf("%s: a refused caller's connection is kept open", target)
		}
	}
	r := httptest.NewRequest("GET", "/v1/status", nil) // no credentials at all
	w := httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(w, r)
	errorOf(t, w, 403)
}

func TestUnknownGroupIsAStartError(t *testing.T) {
	_, err := newServer(Options{Group: "no-such-group-chatd-test", Clients: registry.New(nil)})
	if err == nil || !strings.Contains(err.Error(), `admin.group "no-such-group-chatd-test": no such group`) {
		t.Fatalf("err %v", err)
	}
}

func itoa(n int) string { return adminapi.FormatID(uint64(n)) }

// The mux answers a request target of "*" with a bodiless 400 of its own:
// it is JSON like every other error.
func TestStarTargetIsAJSONError(t *testing.T) {
	f := newFixture(t, "")
	for _, method := range []string{"GET", "DELETE", "OPTIONS"} {
		r := httptest.NewRequest(method, "/", nil)
		r.RequestURI, r.URL.Path = "*", "*"
		r = r.WithContext(withPeer(r.Context(), peer{cred: root}))
		w := httptest.NewRecorder()
		f.srv.Handler().ServeHTTP(w, r)
		if msg := errorOf(t, w, 400); msg != "request target * is not an endpoint" {
			t.Errorf("%s *: %q", method, msg)
		}
	}
}

// net/http answers "OPTIONS *" itself unless told not to, without asking
// the handler, and so without authorization: the admin server does not
// let it.
func TestOptionsStarGoesThroughTheHandler(t *testing.T) {
	sock := filepath.Join(shortDir(t), "o.sock")
	if _, err := startAt(t, sock, 0o600, ""); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || !strings.Contains(string(body), `"error"`) {
		t.Fatalf("OPTIONS * answered %d %q; want the handler's JSON 400", resp.StatusCode, body)
	}
}
