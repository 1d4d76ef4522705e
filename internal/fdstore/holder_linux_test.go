package fdstore_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/chatd/chatd/internal/fdstore"
	"github.com/chatd/chatd/internal/fdstore/fdstoretest"
)

// server is a running holderServer child.
type server struct {
	cmd   *exec.Cmd
	lines *bufio.Scanner
	addr  string
	first string // its first line
}

func startServer(t *testing.T, store *fdstoretest.Store, inherit bool) *server {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "HOLDER_ROLE=server")
	if inherit {
		store.HandTo(t, cmd)
	} else {
		cmd.Env = append(cmd.Env, "NOTIFY_SOCKET="+store.Path())
	}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	s := &server{cmd: cmd, lines: bufio.NewScanner(out)}
	if !s.lines.Scan() {
		t.Fatalf("server printed nothing: %v", s.lines.Err())
	}
	s.first = s.lines.Text()
	if _, err := fmt.Sscanf(s.first, "addr %s", &s.addr); err != nil {
		t.Fatalf("server said %q", s.first)
	}
	go io.Copy(io.Discard, out)
	return s
}

type client struct {
	c net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return &client{c: c, r: bufio.NewReader(c)}
}

// ask sends line and returns the answer, within a deadline.
func (c *client) ask(t *testing.T, line string) string {
	t.Helper()
	c.c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := fmt.Fprintf(c.c, "%s\n", line); err != nil {
		t.Fatalf("send %q: %v", line, err)
	}
	return c.read(t)
}

func (c *client) read(t *testing.T) string {
	t.Helper()
	c.c.SetDeadline(time.Now().Add(20 * time.Second))
	s, err := c.r.ReadString('\n')
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	return strings.TrimSuffix(s, "\n")
}

// answer parses "<pid> <id> <text>".
func answer(t *testing.T, s string) (pid int, id uint64, text string) {
	t.Helper()
	if _, err := fmt.Sscanf(s, "%d %d", &pid, &id); err != nil {
		t.Fatalf("answer %q: %v", s, err)
	}
	parts := strings.SplitN(s, " ", 3)
	return pid, id, parts[2]
}

func hasPrefixEntry(entries []fdstoretest.Entry, prefix string) bool {
	for _, e := range entries {
		if strings.HasPrefix(e.Name, prefix) {
			return true
		}
	}
	return false
}

// A server killed with SIGKILL leaves its listener and its connections in
// the store; the next process takes them back and answers the same TCP
// connections, and connections made while no process ran wait in the
// listener's backlog and are served too.
func TestHolderKeepsConnectionsAcrossKill(t *testing.T) {
	store := fdstoretest.New(t)
	old := startServer(t, store, false)
	const n = 40
	clients := make([]*client, n)
	ids := make([]uint64, n)
	for i := range clients {
		clients[i] = dial(t, old.addr)
		pid, id, text := answer(t, clients[i].ask(t, fmt.Sprintf("hello %d", i)))
		if pid != old.cmd.Process.Pid || text != fmt.Sprintf("HELLO %d", i) {
			t.Fatalf("client %d: pid %d text %q", i, pid, text)
		}
		ids[i] = id
	}
	if got := clients[0].ask(t, "SYNC"); got != fmt.Sprintf("SYNCED %d <nil>", n) {
		t.Fatalf("SYNC: %q", got)
	}
	if !store.WaitFor(5*time.Second, func(es []fdstoretest.Entry) bool {
		return len(es) == 2 && es[0].Name == fdstore.ListenerName && es[0].Poll &&
			strings.HasPrefix(es[1].Name, fdstore.HolderPrefix) && !es[1].Poll
	}) {
		t.Fatalf("store holds %q, want the listener (polled) and one holder shard (FDPOLL=0)", store.Names())
	}
	oldShard := store.Names()[1]

	if err := old.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	old.cmd.Wait()

	// No process is serving now: a connect still succeeds (backlog).
	late := dial(t, old.addr)
	if _, err := fmt.Fprintf(late.c, "while down\n"); err != nil {
		t.Fatal(err)
	}

	next := startServer(t, store, true)
	if want := fmt.Sprintf("addr %s drained %d errors 0", old.addr, n); next.first != want {
		t.Fatalf("new server said %q, want %q", next.first, want)
	}
	newPid := next.cmd.Process.Pid
	for i, c := range clients {
		pid, id, text := answer(t, c.ask(t, fmt.Sprintf("again %d", i)))
		if pid != newPid || id != ids[i] || text != fmt.Sprintf("AGAIN %d", i) {
			t.Fatalf("client %d after the kill: pid %d (want %d) id %d (want %d) %q", i, pid, newPid, id, ids[i], text)
		}
	}
	pid, id, text := answer(t, late.read(t))
	if pid != newPid || id <= ids[n-1] || text != "WHILE DOWN" {
		t.Fatalf("connection made while down: pid %d id %d %q", pid, id, text)
	}
	if !store.WaitFor(5*time.Second, func(es []fdstoretest.Entry) bool {
		for _, e := range es {
			if e.Name == oldShard {
				return false
			}
		}
		return len(es) == 2 && hasPrefixEntry(es, fdstore.HolderPrefix)
	}) {
		t.Fatalf("store holds %q; want the listener and a new shard, not %s", store.Names(), oldShard)
	}
}

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T, ln net.Listener) (server, client net.Conn) {
	t.Helper()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return server, client
}

func drainStore(t *testing.T, store *fdstoretest.Store) []fdstore.Held {
	t.Helper()
	files := store.Dup(t, fdstore.HolderPrefix)
	held, errs := fdstore.Drain(files)
	for _, err := range errs {
		t.Errorf("drain: %v", err)
	}
	t.Cleanup(func() {
		for _, h := range held {
			h.Conn.Close()
		}
	})
	return held
}

// Once ended connections outnumber the live ones the holder moves the live
// ones into a new shard and removes the old one from the store; a peer of a
// connection ended with CloseHeld sees EOF at once, store or not.
func TestHolderRebuildsWhenDeadPileUp(t *testing.T) {
	store := fdstoretest.New(t)
	n, err := fdstore.NewNotifierAt(store.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	h, err := fdstore.NewHolder(n, fdstore.HolderOptions{RebuildMinDead: 4, BatchInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const total, keep = 10, 2
	servers := make([]net.Conn, total)
	clients := make([]net.Conn, total)
	for i := range servers {
		servers[i], clients[i] = tcpPair(t, ln)
		if err := h.Add(uint64(i+1), servers[i].(syscall.Conn)); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.Flush(); err != nil {
		t.Fatal(err)
	}
	first := h.Names()
	for i := range total - keep {
		fdstore.CloseHeld(servers[i])
		h.Forget(uint64(i + 1))
		clients[i].SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := clients[i].Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("peer of ended connection %d: %v, want EOF", i+1, err)
		}
	}
	// A rebuild may already have run midway (at 4 dead of 6 live); wait
	// until one has run after the last Forget.
	deadline := time.Now().Add(5 * time.Second)
	for st := h.Stats(); (st.Rebuilds == 0 || st.Dead != 0) && time.Now().Before(deadline); st = h.Stats() {
		time.Sleep(5 * time.Millisecond)
	}
	st := h.Stats()
	if st.Rebuilds == 0 || st.Live != keep || st.Dead != 0 {
		t.Fatalf("stats after the dead piled up: %+v", st)
	}
	if !store.WaitFor(5*time.Second, func(es []fdstoretest.Entry) bool {
		return len(es) == 1 && es[0].Name == h.Names()[0] && es[0].Name != first[0]
	}) {
		t.Fatalf("store holds %q; want only the new shard (old %q, new %q)", store.Names(), first, h.Names())
	}
	held := drainStore(t, store)
	if len(held) != keep {
		t.Fatalf("drained %d connections, want %d", len(held), keep)
	}
	for _, c := range held {
		i := int(c.ID) - 1
		if i < total-keep || i >= total {
			t.Fatalf("drained ID %d, want only the live ones", c.ID)
		}
		// The drained descriptor is the same socket: what goes in there
		// comes out at the client.
		msg := fmt.Sprintf("via drained %d\n", c.ID)
		if _, err := io.WriteString(c.Conn, msg); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, len(msg))
		clients[i].SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(clients[i], buf); err != nil || string(buf) != msg {
			t.Fatalf("client %d read %q, %v", c.ID, buf, err)
		}
	}
}

// A shard whose send buffer is full makes the holder open another shard;
// every connection is still handed back exactly once.
func TestHolderShardsWhenBufferFull(t *testing.T) {
	store := fdstoretest.New(t)
	n, err := fdstore.NewNotifierAt(store.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	// The smallest buffer the kernel allows holds a few messages only.
	h, err := fdstore.NewHolder(n, fdstore.HolderOptions{SendBuffer: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	const total = 1500
	for i := range total {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		a, b := os.NewFile(uintptr(fds[0]), "a"), os.NewFile(uintptr(fds[1]), "b")
		defer a.Close()
		defer b.Close()
		if err := h.Add(uint64(i+1), a); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.Flush(); err != nil {
		t.Fatal(err)
	}
	st := h.Stats()
	t.Logf("%d descriptors in %d shards after %d full buffers, %d messages", st.Sent, st.Shards, st.Full, st.Messages)
	if st.Shards < 2 || st.Full == 0 || st.Sent != total {
		t.Fatalf("stats: %+v; want more than one shard and all %d sent", st, total)
	}
	if !store.WaitFor(5*time.Second, func(es []fdstoretest.Entry) bool { return len(es) == st.Shards }) {
		t.Fatalf("store holds %q, want %d shards", store.Names(), st.Shards)
	}
	held := drainStore(t, store)
	seen := map[uint64]bool{}
	for _, c := range held {
		if c.ID < 1 || c.ID > total || seen[c.ID] {
			t.Fatalf("drained ID %d twice or out of range", c.ID)
		}
		seen[c.ID] = true
	}
	if len(seen) != total {
		t.Fatalf("drained %d, want %d", len(seen), total)
	}
}
