package instance

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/config"
	"github.com/chatd/chatd/internal/fdstore"
	"github.com/chatd/chatd/internal/fdstore/fdstoretest"
	"github.com/chatd/chatd/internal/handover"
	"github.com/chatd/chatd/internal/logging"
	"github.com/chatd/chatd/internal/registry"
)

func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "chatd-surv-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func chat(t *testing.T, c net.Conn, send, want string) {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(send)); err != nil {
		t.Fatalf("write %q: %v", send, err)
	}
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != want {
		t.Fatalf("sent %q: got %q, %v; want %q", send, got, err, want)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func hasPrefix(names []string, prefix string) bool {
	return slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, prefix) })
}

// A planned restart under a service manager: the old process hands its
// listener, its connections and their state over through the store; the
// new one serves them on with everything the registry showed, the clients
// notice nothing, a connection attempt during the restart waits and is
// served, and IDs go on above every earlier one. A stop then tells every
// client and leaves the store empty.
func TestPlannedRestartHandsEverythingOver(t *testing.T) {
	store := fdstoretest.New(t)
	t.Setenv("NOTIFY_SOCKET", store.Path())
	dir := shortTempDir(t)

	old := newTestDaemon(t, dir, "127.0.0.1:0", filepath.Join(dir, "a.sock"))
	old.surv.inh = newInheritance(fdstore.NewFiles(nil))
	if err := old.Start(); err != nil {
		t.Fatal(err)
	}
	addr := old.Addr().String()
	var clients []net.Conn
	for i := range 3 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		chat(t, c, "hello "+string(rune('a'+i)), "HELLO "+string(rune('A'+i)))
		clients = append(clients, c)
	}
	// A cut character: its first byte waits in the protocol state.
	clients[0].Write([]byte("\xc3"))
	waitUntil(t, "the held byte to be read", func() bool { i, _ := old.Registry().Get(1); return i.BytesIn == 8 })
	waitUntil(t, "every connection held", func() bool { return old.Survival().Held == 3 })
	before := old.Registry().Snapshot()

	old.RequestRestart()
	if err := old.Stop(); err != nil {
		t.Fatal(err)
	}
	var names []string
	store.WaitFor(5*time.Second, func([]fdstoretest.Entry) bool {
		names = store.Names()
		return slices.Contains(names, fdstore.StateName)
	})
	if !slices.Contains(names, fdstore.ListenerName) || !slices.Contains(names, fdstore.StateName) || !hasPrefix(names, fdstore.HolderPrefix) {
		t.Fatalf("store after the hand-over holds %v", names)
	}
	// Dialled while no process runs: waits in the stored listener's backlog.
	waiting, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("connect during the restart: %v", err)
	}
	t.Cleanup(func() { waiting.Close() })

	next := newTestDaemon(t, dir, addr, filepath.Join(dir, "b.sock"))
	next.surv.inh = newInheritance(fdstore.NewFiles(store.Dup(t, "")))
	if err := next.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			next.Stop()
		}
	})
	// The connection that waited in the backlog is served too, after the
	// handed-over ones (and so with a higher ID).
	after := next.Registry().Snapshot()
	if len(after) > len(before) {
		after = after[:len(before)]
	}
	if !slices.EqualFunc(before, after, sameInfo) {
		t.Fatalf("registry before the restart:\n%+v\nafter:\n%+v", before, after)
	}
	chat(t, clients[0], "\xa9!", "\xc3\x89!")
	chat(t, clients[1], "more", "MORE")
	chat(t, waiting, "late", "LATE")
	id := waitForNewID(t, next.Registry(), before)
	if id <= before[len(before)-1].ID {
		t.Fatalf("new client got ID %d, not above %d", id, before[len(before)-1].ID)
	}
	if s := next.Survival(); s.Restarts != 1 || s.TakenBack != 3 || s.Lost != 0 {
		t.Fatalf("survival figures %+v", s)
	}
	if !store.WaitFor(5*time.Second, func(es []fdstoretest.Entry) bool {
		var n []string
		for _, e := range es {
			n = append(n, e.Name)
		}
		return !slices.Contains(n, fdstore.StateName) && !slices.ContainsFunc(names, func(old string) bool {
			return strings.HasPrefix(old, fdstore.HolderPrefix) && slices.Contains(n, old)
		})
	}) {
		t.Fatalf("the state and the old shards are still stored: %v", store.Names())
	}

	// A stop: every client is told, nothing stays in the store.
	next.surv.plannedRestart = func(context.Context, string) (bool, error) { return false, nil }
	stopped = true
	if err := next.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, c := range clients {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		b, err := io.ReadAll(c)
		if err != nil || string(b) != "\n*** server shutting down\n" { // answers end mid-line
			t.Fatalf("at stop got %q, %v", b, err)
		}
	}
	if !store.WaitFor(5*time.Second, func(es []fdstoretest.Entry) bool { return len(es) == 0 }) {
		t.Fatalf("store after the stop holds %v", store.Names())
	}
}

func sameInfo(a, b registry.Info) bool {
	return a.ID == b.ID && a.RemoteAddr == b.RemoteAddr && a.LocalAddr == b.LocalAddr &&
		a.ConnectedAt.Equal(b.ConnectedAt) && a.LastActiveAt.Equal(b.LastActiveAt) &&
		a.BytesIn == b.BytesIn && a.BytesOut == b.BytesOut
}

// waitForNewID returns the ID of the one client that is not in before.
func waitForNewID(t *testing.T, reg *registry.Registry, before []registry.Info) uint64 {
	t.Helper()
	var id uint64
	waitUntil(t, "the new client", func() bool {
		for _, i := range reg.Snapshot() {
			if !slices.ContainsFunc(before, func(b registry.Info) bool { return b.ID == i.ID }) {
				id = i.ID
				return true
			}
		}
		return false
	})
	return id
}

// A restart onto a broken config goes on with the last good one when
// clients were handed over, and says so; a first start with a broken
// config still fails.
func TestRestartOntoBrokenConfigKeepsServing(t *testing.T) {
	store := fdstoretest.New(t)
	t.Setenv("NOTIFY_SOCKET", store.Path())
	dir := shortTempDir(t)
	broken := errors.New(`file /etc/chatd/chatd.yaml: max_clients "lots": not a number`)
	loadBroken := func() (*config.Config, error) { return nil, broken }

	if _, _, err := newInheritance(fdstore.NewFiles(nil)).ConfigOrLastGood(loadBroken); err != broken {
		t.Fatalf("first start with a broken config: err %v, want %v", err, broken)
	}

	old := newTestDaemon(t, dir, "127.0.0.1:0", filepath.Join(dir, "a.sock"))
	old.cfg.MaxClients = 123
	old.surv.inh = newInheritance(fdstore.NewFiles(nil))
	if err := old.Start(); err != nil {
		t.Fatal(err)
	}
	addr := old.Addr().String()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	chat(t, c, "hi", "HI")
	old.RequestRestart()
	old.Stop()
	store.WaitFor(5*time.Second, func([]fdstoretest.Entry) bool { return slices.Contains(store.Names(), fdstore.StateName) })

	in := newInheritance(fdstore.NewFiles(store.Dup(t, "")))
	cfg, why, err := in.ConfigOrLastGood(loadBroken)
	if err != nil || why != broken || cfg.MaxClients != 123 {
		t.Fatalf("restart onto a broken config: cfg %+v, why %v, err %v", cfg, why, err)
	}
	log, _ := logging.New(io.Discard, "text", "error")
	cfg.Admin.Socket = filepath.Join(dir, "b.sock")
	next := New(cfg, log)
	next.Inherit(in, why)
	if err := next.Start(); err != nil {
		t.Fatal(err)
	}
	defer next.Stop()
	chat(t, c, "still", "STILL")
	if s := next.Survival(); s.Degraded != broken.Error() || s.TakenBack != 1 {
		t.Fatalf("survival %+v", s)
	}
	if st := next.servingStatus(); !strings.Contains(st, "LAST GOOD CONFIG") || !strings.Contains(st, broken.Error()) {
		t.Fatalf("STATUS= %q does not say the config is broken", st)
	}
	if a := next.adminCounters().Survival; a.Degraded == "" {
		t.Fatal("the admin API does not see the broken config")
	}
}

// A damaged hand-over costs only the clients whose records it damaged:
// they get the shutdown notice and are closed; the rest are served on.
func TestDamagedHandOverClosesOnlyItsClients(t *testing.T) {
	store := fdstoretest.New(t)
	t.Setenv("NOTIFY_SOCKET", store.Path())
	dir := shortTempDir(t)
	old := newTestDaemon(t, dir, "127.0.0.1:0", filepath.Join(dir, "a.sock"))
	old.surv.inh = newInheritance(fdstore.NewFiles(nil))
	if err := old.Start(); err != nil {
		t.Fatal(err)
	}
	addr := old.Addr().String()
	byID := map[uint64]net.Conn{}
	for i := range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		chat(t, c, "hi\n", "HI\n")
		byID[uint64(i+1)] = c
	}
	waitUntil(t, "both held", func() bool { return old.Survival().Held == 2 })
	old.RequestRestart()
	old.Stop()
	store.WaitFor(5*time.Second, func([]fdstoretest.Entry) bool { return slices.Contains(store.Names(), fdstore.StateName) })

	var files []*os.File
	var st *handover.State
	for _, f := range store.Dup(t, "") {
		if f.Name() != fdstore.StateName {
			files = append(files, f)
			continue
		}
		var err error
		if st, _, err = handover.ReadFile(f); err != nil || len(st.Conns) != 2 {
			t.Fatalf("hand-over: %+v, %v", st, err)
		}
	}
	// Flip one byte inside the second connection's record.
	first := *st
	first.Conns = st.Conns[:1]
	head, _ := handover.Encode(&first)
	data, _ := handover.Encode(st)
	data[len(head)+20] ^= 0x40
	damaged := st.Conns[1].ID
	f, err := os.CreateTemp(dir, "state")
	if err != nil {
		t.Fatal(err)
	}
	f.Write(data)
	// Under the name the store gives it; a duplicate, so that f's own
	// descriptor is closed once, by f.
	dup, err := syscall.Dup(int(f.Fd()))
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, os.NewFile(uintptr(dup), fdstore.StateName))

	next := newTestDaemon(t, dir, addr, filepath.Join(dir, "b.sock"))
	next.surv.inh = newInheritance(fdstore.NewFiles(files))
	if err := next.Start(); err != nil {
		t.Fatal(err)
	}
	defer next.Stop()
	for id, c := range byID {
		if id == damaged {
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			if b, err := io.ReadAll(c); err != nil || string(b) != "*** server shutting down\n" {
				t.Errorf("client %d with the damaged record read %q, %v; want the notice and EOF", id, b, err)
			}
			continue
		}
		chat(t, c, "still\n", "STILL\n")
	}
	if s := next.Survival(); s.TakenBack != 1 || s.Lost != 1 {
		t.Errorf("survival %+v, want 1 taken back and 1 lost", s)
	}
}
