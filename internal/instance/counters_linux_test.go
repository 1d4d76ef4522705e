package instance

import (
	"bufio"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/fdstore"
	"github.com/chatd/chatd/internal/fdstore/fdstoretest"
)

// endedClients are clients whose connection chatd ended while their own
// side stays open: a kicked one that read its notice, and one that sent
// the close phrase. Their sockets stay referenced in the holder.
func endedClients(t *testing.T, d *Instance) {
	t.Helper()
	addr := d.Addr().String()
	kicked, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kicked.Close() })
	closer, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closer.Close() })
	chat(t, kicked, "k\n", "K\n")
	chat(t, closer, "c\n", "C\n")
	waitUntil(t, "every client sent into the holder", func() bool { return d.Survival().Held == d.reg.Len() })

	var kickedID uint64
	for _, in := range d.reg.Snapshot() {
		kickedID = max(kickedID, in.ID)
	}
	kickedID-- // the closer dialled last
	if err := d.reg.Kick(kickedID, "test"); err != nil {
		t.Fatal(err)
	}
	kicked.SetReadDeadline(time.Now().Add(10 * time.Second))
	if line, err := bufio.NewReader(kicked).ReadString('\n'); err != nil || !strings.HasPrefix(line, "*** kicked") {
		t.Fatalf("kicked client got %q, %v", line, err)
	}
	io.WriteString(closer, "CLOSE SOCKET")
	closer.SetReadDeadline(time.Now().Add(10 * time.Second))
	if rest, err := io.ReadAll(closer); err != nil || len(rest) != 0 {
		t.Fatalf("after the close phrase: %q, %v", rest, err)
	}
}

// Kicked and closing clients that have not closed their side are handed
// to the next process with the rest (their sockets cannot be taken out of
// the holder), but they are neither served again nor counted as taken
// back or lost, after a planned restart or a crash; and the counters go
// on from the previous process's figures through both.
func TestEndedClientsAreNotLostAndCountersCarryOver(t *testing.T) {
	store := fdstoretest.New(t)
	t.Setenv("NOTIFY_SOCKET", store.Path())
	dir := shortTempDir(t)

	first := newTestDaemon(t, dir, "127.0.0.1:0", filepath.Join(dir, "a.sock"))
	first.surv.inh = newInheritance(fdstore.NewFiles(nil))
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	addr := first.Addr().String()
	var live []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		chat(t, c, "hi\n", "HI\n")
		live = append(live, c)
	}
	endedClients(t, first)
	waitUntil(t, "the ended clients unregistered", func() bool { return first.reg.Len() == 2 })

	// A planned restart.
	first.RequestRestart()
	if err := first.Stop(); err != nil {
		t.Fatal(err)
	}
	store.WaitFor(5*time.Second, func([]fdstoretest.Entry) bool { return hasPrefix(store.Names(), fdstore.StateName) })
	second := newTestDaemon(t, dir, addr, filepath.Join(dir, "b.sock"))
	second.surv.inh = newInheritance(fdstore.NewFiles(store.Dup(t, "")))
	if err := second.Start(); err != nil {
		t.Fatal(err)
	}
	if s := second.Survival(); s.Restarts != 1 || s.TakenBack != 2 || s.Lost != 0 || second.reg.Len() != 2 {
		t.Fatalf("after a planned restart: survival %+v, %d clients; want 1 restart, 2 taken back, 0 lost, 2 clients", s, second.reg.Len())
	}
	for _, c := range live {
		chat(t, c, "again\n", "AGAIN\n")
	}

	// A crash, with ended clients in the holder again.
	endedClients(t, second)
	waitUntil(t, "the ended clients unregistered", func() bool { return second.reg.Len() == 2 })
	crashAfterStopping(t, second)
	third := newTestDaemon(t, dir, addr, filepath.Join(dir, "c.sock"))
	third.surv.inh = newInheritance(fdstore.NewFiles(store.Dup(t, "")))
	if err := third.Start(); err != nil {
		t.Fatal(err)
	}
	defer third.Stop()
	if s := third.Survival(); s.Restarts != 2 || s.TakenBack != 4 || s.Lost != 0 || third.reg.Len() != 2 {
		t.Fatalf("after a crash: survival %+v, %d clients; want 2 restarts, 4 taken back, 0 lost, 2 clients", s, third.reg.Len())
	}
	for _, c := range live {
		chat(t, c, "once more\n", "ONCE MORE\n")
	}
}
