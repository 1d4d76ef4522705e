package adminclient_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/admin"
	"github.com/chatd/chatd/internal/admin/adminclient"
	"github.com/chatd/chatd/internal/registry"
)

func shortDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "acl-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// leaver is a chat connection that leaves the registry when kicked.
type leaver struct {
	reg    *registry.Registry
	id     uint64
	reason chan string
}

func (l *leaver) Kick(reason string) {
	l.reason <- reason
	go l.reg.Remove(l.id)
}

func TestAgainstARealAdminServer(t *testing.T) {
	sock := filepath.Join(shortDir(t), "admin.sock")
	reg := registry.New(nil)
	var conns []*leaver
	for port := range 3 {
		l := &leaver{reg: reg, reason: make(chan string, 1)}
		c := registry.NewClient(l, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 50000 + port},
			&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5605}, time.Now())
		c.AddIn(port+1, time.Now())
		l.id = reg.Add(c)
		conns = append(conns, l)
	}
	srv, err := admin.Start(admin.Options{Socket: sock, Mode: 0o600, Clients: reg,
		Counters: func() admin.Counters { return admin.Counters{ClosedBytesIn: 100} },
		Info:     func() admin.Info { return admin.Info{Version: "v9", PID: 77, MaxClients: 5} }})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	ctx := context.Background()
	c := adminclient.New(sock)

	list, err := c.Clients(ctx)
	if err != nil || len(list) != 3 || list[0].ID != 1 || list[2].RemoteAddr != "127.0.0.1:50002" || list[1].BytesIn != 2 {
		t.Fatalf("Clients: %+v, %v", list, err)
	}
	one, err := c.Client(ctx, 2)
	if err != nil || one.RemoteAddr != "127.0.0.1:50001" {
		t.Fatalf("Client(2): %+v, %v", one, err)
	}
	st, err := c.Status(ctx)
	if err != nil || st.Version != "v9" || st.PID != 77 || st.ClientsConnected != 3 || st.BytesIn != 100+1+2+3 || st.AdminSocket != sock {
		t.Fatalf("Status: %+v, %v", st, err)
	}
	res, err := c.Kick(ctx, 2, "bye now & then")
	if err != nil || res.ID != 2 || !res.Disconnected {
		t.Fatalf("Kick: %+v, %v", res, err)
	}
	if got := <-conns[1].reason; got != "bye now & then" {
		t.Fatalf("the client was told %q", got)
	}
	var nc *adminclient.NotConnectedError
	if _, err := c.Kick(ctx, 2, ""); !errors.As(err, &nc) || nc.ID != 2 || err.Error() != "client 2 is not connected" {
		t.Fatalf("second kick: %v", err)
	}
	if _, err := c.Client(ctx, 9); !errors.As(err, &nc) {
		t.Fatalf("Client(9): %v", err)
	}
}

func TestNoSocketSaysIsChatdRunning(t *testing.T) {
	sock := filepath.Join(shortDir(t), "admin.sock")
	_, err := adminclient.New(sock).Clients(context.Background())
	want := "cannot reach chatd at " + sock + ": no such file (is chatd running?)"
	if err == nil || err.Error() != want {
		t.Fatalf("err %v\nwant %s", err, want)
	}
}

func TestStaleSocketSaysNotRunning(t *testing.T) {
	sock := filepath.Join(shortDir(t), "admin.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	_, err = adminclient.New(sock).Status(context.Background())
	if err == nil || !strings.Contains(err.Error(), "connection refused (chatd is not running") {
		t.Fatalf("err %v", err)
	}
}

// serve answers every request on a fresh socket with h.
func serve(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	sock := filepath.Join(shortDir(t), "fake.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return sock
}

func TestForbiddenIsAPermissionErrorWithTheDaemonsWords(t *testing.T) {
	sock := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(403)
		w.Write([]byte(`{"error":"permission denied: run as root or as a member of group chatd"}`))
	})
	_, err := adminclient.New(sock).Clients(context.Background())
	var pe *adminclient.PermissionError
	if !errors.As(err, &pe) || err.Error() != "permission denied: run as root or as a member of group chatd" {
		t.Fatalf("err %v", err)
	}
}

func TestUnreadableAnswersAreOneLine(t *testing.T) {
	sock := serve(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/status":
			w.Write([]byte("<html>not chatd</html>"))
		case "/v1/reload":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadGateway)
			w.Write([]byte(`{"no":"error key"}`))
		default:
			http.Error(w, "upstream on fire\nreally", http.StatusBadGateway)
		}
	})
	c := adminclient.New(sock)
	var na *adminclient.NotAdminAPIError
	_, err := c.Status(context.Background())
	if !errors.As(err, &na) || err.Error() != "the program at "+sock+
		" does not speak chatd's admin API (it answered 200 OK with text/html; charset=utf-8); is --socket right?" {
		t.Fatalf("status: %v", err)
	}
	_, err = c.Clients(context.Background())
	if !errors.As(err, &na) || !strings.Contains(err.Error(), "(it answered 502 Bad Gateway with text/plain; charset=utf-8)") {
		t.Fatalf("clients: %v", err)
	}
	_, err = c.Reload(context.Background())
	if err == nil || err.Error() != "chatd answered 502 Bad Gateway" {
		t.Fatalf("reload: %v", err)
	}
}

func TestSilentDaemonTimesOut(t *testing.T) {
	release := make(chan struct{})
	sock := serve(t, func(w http.ResponseWriter, r *http.Request) { <-release })
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := adminclient.New(sock).Clients(ctx)
	if err == nil || err.Error() != "chatd at "+sock+" did not answer in time" {
		t.Fatalf("err %v", err)
	}
}
