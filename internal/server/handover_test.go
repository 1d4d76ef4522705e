//go:build unix

package server

import (
	"context"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/chatd/chatd/internal/handover"
	"github.com/chatd/chatd/internal/registry"
	"github.com/chatd/chatd/internal/syncbuf"
)

// dupHolder stands in for fdstore.Holder: it keeps a duplicate of every
// added socket, as the holder's in-flight message does, so a test can hand
// a socket from one server to the next exactly as a restart does.
type dupHolder struct {
	mu  sync.Mutex
	fds map[uint64]int
}

func newDupHolder() *dupHolder { return &dupHolder{fds: map[uint64]int{}} }

func (h *dupHolder) Add(id uint64, c syscall.Conn) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var dup int
	var derr error
	if err := rc.Control(func(fd uintptr) { dup, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return err
	}
	if derr != nil {
		return derr
	}
	h.mu.Lock()
	h.fds[id] = dup
	h.mu.Unlock()
	return nil
}

// Forget keeps the duplicate open, as a holder's in-flight copy stays:
// only a shutdown(2) can end such a connection.
func (h *dupHolder) Forget(uint64) {}

// take returns the held socket of id as a net.Conn.
func (h *dupHolder) take(t *testing.T, id uint64) net.Conn {
	t.Helper()
	h.mu.Lock()
	fd, ok := h.fds[id]
	delete(h.fds, id)
	h.mu.Unlock()
	if !ok {
		t.Fatalf("connection %d not held", id)
	}
	f := os.NewFile(uintptr(fd), "held")
	defer f.Close()
	nc, err := net.FileConn(f)
	if err != nil {
		t.Fatal(err)
	}
	return nc
}

func (h *dupHolder) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, fd := range h.fds {
		unix.Close(fd)
		delete(h.fds, id)
	}
}

func newBareServer(t *testing.T, h ConnHolder) *Server {
	t.Helper()
	logs := &syncbuf.Buffer{}
	s := New(registry.New(nil), slogTo(logs), defaultSettings())
	if h != nil {
		s.SetHolder(h)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return s
}

// A planned restart: the old server stops between two reads and hands over
// every connection's state; the new one takes it back and the client sees
// one uninterrupted stream, its cut UTF-8 character and its half-sent close
// phrase included.
func TestHandOverRestoresEveryField(t *testing.T) {
	for _, tc := range []struct {
		name       string
		pending    string // sent after "hello w", before the restart
		answered   string // what of it is answered before the restart
		afterSteps [][2]string
	}{
		// A cut two-byte character: its first byte is held, unanswered;
		// its continuation completes it (é → É) after the restart.
		{"cut UTF-8 character", "\xc3", "", [][2]string{{"\xa9 ", "\xc3\x89 "}, {"CLOSE SOC", "CLOSE SOC"}}},
		// The first letters of the close phrase are answered at once; the
		// rest, after the restart, ends the connection.
		{"half-sent close phrase", " CLOSE SOC", " CLOSE SOC", nil},
	} {
		t.Run(tc.name, func(t *testing.T) { testHandOverRestoresEveryField(t, tc.pending, tc.answered, tc.afterSteps) })
	}
}

func testHandOverRestoresEveryField(t *testing.T, pending, answered string, afterSteps [][2]string) {
	h := newDupHolder()
	t.Cleanup(h.closeAll)
	old := startServer(t, defaultSettings(), func(s *Server) { s.SetHolder(h) })
	c := old.dial(t)
	old.waitClients(t, 1)
	mustWrite(t, c, "hello w")
	if got := readN(t, c, 7); got != "HELLO W" {
		t.Fatalf("before: got %q", got)
	}
	mustWrite(t, c, pending)
	if answered != "" {
		if got := readN(t, c, len(answered)); got != answered {
			t.Fatalf("before: got %q, want %q", got, answered)
		}
	}
	wantIn, wantOut := uint64(7+len(pending)), uint64(7+len(answered))
	// The counters move just after the read and the write they count.
	if !poll(5*time.Second, func() bool {
		info, _ := old.srv.Registry().Get(1)
		return info.BytesIn == wantIn && info.BytesOut == wantOut
	}) {
		t.Fatal("the server never read the pending bytes")
	}
	before, _ := old.srv.Registry().Get(1)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	handed, err := old.srv.HandOver(ctx)
	if err != nil || len(handed) != 1 {
		t.Fatalf("HandOver = %d conns, %v; want 1, nil", len(handed), err)
	}
	got := handed[0]
	if got.ID != 1 || got.BytesIn != wantIn || got.BytesOut != wantOut || !got.ConnectedAt.Equal(before.ConnectedAt) ||
		!got.LastActive.Equal(before.LastActiveAt) || got.Remote != c.LocalAddr().String() || got.Local != c.RemoteAddr().String() {
		t.Fatalf("handed over %+v, registry had %+v", got, before)
	}

	// The state goes through the real encoding, as between processes.
	data, err := handover.Encode(&handover.State{Conns: handed})
	if err != nil {
		t.Fatal(err)
	}
	st, problems, err := handover.Decode(data)
	if err != nil || len(problems) > 0 {
		t.Fatalf("decode: %v %v", problems, err)
	}

	next := newBareServer(t, h)
	if err := next.Restore(h.take(t, 1), st.Conns[0]); err != nil {
		t.Fatal(err)
	}
	after, ok := next.Registry().Get(1)
	if !ok || after.BytesIn != before.BytesIn || after.BytesOut != before.BytesOut ||
		!after.ConnectedAt.Equal(before.ConnectedAt) || after.RemoteAddr != before.RemoteAddr {
		t.Fatalf("restored %+v, want %+v", after, before)
	}
	for _, step := range afterSteps {
		mustWrite(t, c, step[0])
		if got := readN(t, c, len(step[1])); got != step[1] {
			t.Fatalf("after: sent %q, got %q, want %q", step[0], got, step[1])
		}
	}
	// The phrase's last letters end the connection: nothing of them, or of
	// what follows, is answered.
	mustWrite(t, c, "KET and nothing after")
	if got := readToEOF(t, c); got != "" {
		t.Fatalf("after the phrase: got %q, want nothing", got)
	}
	if next.Stats().Restored.Load() != 1 {
		t.Fatalf("Restored = %d, want 1", next.Stats().Restored.Load())
	}
}

// After a crash only the ID is known: the connection is served again under
// it, and an ID already in use is refused.
func TestRestoreWithIDOnly(t *testing.T) {
	h := newDupHolder()
	t.Cleanup(h.closeAll)
	old := startServer(t, defaultSettings(), func(s *Server) { s.SetHolder(h) })
	c := old.dial(t)
	old.waitClients(t, 1)
	nc := h.take(t, 1)

	next := newBareServer(t, newDupHolder())
	if err := next.Restore(nc, handover.Conn{ID: 41}); err != nil {
		t.Fatal(err)
	}
	// The old server still answers on its own descriptor until it goes;
	// a second restore under the same ID must fail.
	if err := next.Restore(nc, handover.Conn{ID: 41}); err == nil {
		t.Fatal("a second restore under ID 41 succeeded")
	}
	if _, ok := next.Registry().Get(41); !ok {
		t.Fatal("client 41 not registered")
	}
	_ = c
}

// A held connection that ends is shut down, so its client sees the end
// although the holder still has a duplicate of the socket.
func TestHeldConnectionEndsDespiteDuplicate(t *testing.T) {
	h := newDupHolder()
	t.Cleanup(h.closeAll)
	ts := startServer(t, defaultSettings(), func(s *Server) { s.SetHolder(h) })
	c := ts.dial(t)
	ts.waitClients(t, 1)
	if err := ts.srv.Registry().Kick(1, "test"); err != nil {
		t.Fatal(err)
	}
	if got := readToEOF(t, c); got != "*** kicked by operator: test\n" {
		t.Fatalf("got %q", got)
	}
	c2 := ts.dial(t)
	ts.waitClients(t, 1)
	mustWrite(t, c2, "x")
	readN(t, c2, 1)
	c2.CloseWrite()
	if got := readToEOF(t, c2); got != "" {
		t.Fatalf("got %q after EOF", got)
	}
}
