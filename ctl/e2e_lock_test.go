package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/admin/adminapi"
	"github.com/chatd/chatd/internal/lockfile"
	"github.com/chatd/chatd/internal/testbin"
)

// staleSocket leaves at path what a chatd killed with SIGKILL leaves: a
// socket file nobody listens on.
func staleSocket(t *testing.T, path string) {
	t.Helper()
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
}

// raceTwo starts two chatd at once and waits until one has started and
// the other has exited. It returns them as (winner, loser).
func raceTwo(t *testing.T, a, b testbin.Options) (*testbin.Chatd, *testbin.Chatd) {
	t.Helper()
	a.NoWait, b.NoWait = true, true
	first, second := testbin.StartChatd(t, a), testbin.StartChatd(t, b)
	var loser *testbin.Chatd
	if !testbin.Poll(30*time.Second, func() bool {
		switch {
		case first.Exited():
			loser = first
		case second.Exited():
			loser = second
		}
		return loser != nil
	}) {
		t.Fatalf("both chatd are running:\n--- first:\n%s\n--- second:\n%s", first.Logs(), second.Logs())
	}
	winner := first
	if loser == first {
		winner = second
	}
	line := winner.WaitLog("chatd started", 20*time.Second)
	var rec struct {
		Listen string `json:"listen"`
	}
	if err := json.Unmarshal([]byte(line), &rec); err != nil || rec.Listen == "" {
		t.Fatalf("cannot read the listen address from %q: %v", line, err)
	}
	winner.Addr = rec.Listen // StartChatd reads it only when it waits
	if code := loser.Wait(5 * time.Second); code != 1 {
		t.Fatalf("the chatd that lost exited %d, want 1:\n%s", code, loser.Logs())
	}
	return winner, loser
}

// Two chatd starting together over a stale admin socket: exactly one
// serves it; the other exits 1 with one line naming the winner's PID, and
// the winner can still be managed (its socket was not removed from under
// it).
func TestTwoChatdStartingTogetherOverAStaleSocket(t *testing.T) {
	const rounds = 5
	for round := range rounds {
		sock := filepath.Join(publicDir(t), "admin.sock")
		staleSocket(t, sock)
		cfg := fmt.Sprintf("admin:\n  socket: %s\n", sock)
		winner, loser := raceTwo(t, testbin.Options{Config: cfg}, testbin.Options{Config: cfg})

		want := fmt.Sprintf("chatd: admin API: another chatd (pid %d) is already serving the admin socket %s", winner.Pid(), sock)
		if lines := plainLines(loser.Logs()); len(lines) != 1 || lines[0] != want {
			t.Fatalf("round %d: the loser said %q\nwant one line: %q", round, lines, want)
		}
		r := ctl(t, nil, "--socket", sock, "status", "-o", "json").mustOK(t)
		var st adminapi.Status
		if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || st.PID != winner.Pid() {
			t.Fatalf("round %d: status over the socket: pid %d (%v), want the winner %d", round, st.PID, err, winner.Pid())
		}
		dial(t, winner).say("still served")
		stopChatd(t, winner)
		if _, err := os.Stat(sock + ".lock"); !os.IsNotExist(err) {
			t.Fatalf("round %d: lock file left after a clean stop: %v", round, err)
		}
	}
}

// The moment the race above turns on, made to last: a chatd that holds
// the socket's lock but does not listen yet (here the test process plays
// it). A second chatd must leave the stale socket alone and name the
// holder, not remove the socket and take it over.
func TestChatdLeavesASocketMidStartAlone(t *testing.T) {
	sock := filepath.Join(publicDir(t), "admin.sock")
	staleSocket(t, sock)
	lock, err := lockfile.Acquire(sock + ".lock")
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	ino := inode(t, sock)
	d := testbin.StartChatd(t, testbin.Options{NoWait: true, Config: fmt.Sprintf("admin:\n  socket: %s\n", sock)})
	if code := d.Wait(30 * time.Second); code != 1 {
		t.Fatalf("chatd exited %d, want 1:\n%s", code, d.Logs())
	}
	want := fmt.Sprintf("chatd: admin API: another chatd (pid %d) is already serving the admin socket %s", os.Getpid(), sock)
	if lines := plainLines(d.Logs()); len(lines) != 1 || lines[0] != want {
		t.Fatalf("chatd said %q\nwant one line: %q", lines, want)
	}
	if inode(t, sock) != ino {
		t.Fatal("chatd replaced a socket whose owner holds the lock")
	}
}

// A second chatd given the state directory of a running one (started
// without its own state_dir) refuses to start: both would reserve client
// IDs from the same file and could hand out the same ones.
func TestSecondChatdOnTheSameStateDirRefuses(t *testing.T) {
	state := filepath.Join(publicDir(t), "state")
	cfg := "state_dir: " + state + "\n"
	winner, loser := raceTwo(t, testbin.Options{Config: cfg}, testbin.Options{Config: cfg})
	// It names the winner: the operator then knows which chatd to stop.
	want := fmt.Sprintf("chatd: state_dir %s is in use by another chatd (pid %d); give this one its own state_dir (--state-dir, or state_dir in its config)",
		state, winner.Cmd.Process.Pid)
	if lines := plainLines(loser.Logs()); len(lines) != 1 || lines[0] != want {
		t.Fatalf("the loser said %q\nwant one line: %q", lines, want)
	}
	if strings.Contains(loser.Logs(), "client-ID") {
		t.Fatalf("the loser touched the state file:\n%s", loser.Logs())
	}
	dial(t, winner).say("still served")
	// Once the first is gone the directory is free again.
	stopChatd(t, winner)
	testbin.StartChatd(t, testbin.Options{Config: cfg})
}
