package integration

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// holderAddr is where the holder demo listens inside the sandbox's own
// network namespace.
const holderAddr = "127.0.0.1:7999"

// holderUnit runs the fdstore package's test binary as its small demo
// server (HOLDER_ROLE=server): it stores its listener and keeps every
// connection in a holder socket in the fd store, takes them back when
// restarted, and on SIGTERM asks systemd whether it is being restarted.
const holderUnit = `[Unit]
Description=fd store holder demo (chatd test)

[Service]
Type=simple
NotifyAccess=main
ExecStart=%s
Environment=HOLDER_ROLE=server HOLDER_ADDR=` + holderAddr + ` HOLDER_SIGTERM_REPORT=/run/holderdemo.sigterm
FileDescriptorStoreMax=64
Restart=always
RestartSec=200ms
`

type holderClient struct {
	c net.Conn
	r *bufio.Reader
}

// ask sends a line and returns the demo's answer "PID ID TEXT".
func (hc *holderClient) ask(t *testing.T, line string) (pid int, id uint64, text string) {
	t.Helper()
	hc.c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := fmt.Fprintf(hc.c, "%s\n", line); err != nil {
		t.Fatalf("send %q: %v", line, err)
	}
	return hc.answer(t)
}

func (hc *holderClient) answer(t *testing.T) (pid int, id uint64, text string) {
	t.Helper()
	hc.c.SetDeadline(time.Now().Add(30 * time.Second))
	s, err := hc.r.ReadString('\n')
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	if _, err := fmt.Sscanf(s, "%d %d", &pid, &id); err != nil {
		t.Fatalf("answer %q: %v", s, err)
	}
	return pid, id, strings.TrimSuffix(strings.SplitN(s, " ", 3)[2], "\n")
}

// TestFDStoreHolderUnderSystemd proves the restart-survival mechanism under
// the real systemd: connections held in one holder socket in the fd store
// survive kill -9 and systemctl restart on their original sockets, a
// connection made while no process runs is served, SIGTERM tells a restart
// from a stop, and a stop leaves nothing in the store.
func TestFDStoreHolderUnderSystemd(t *testing.T) {
	root := requireSandbox(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	bin := filepath.Join(t.TempDir(), "holderdemo")
	build := exec.CommandContext(ctx, "go", "test", "-c", "-o", bin, "./internal/fdstore")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the holder demo: %v\n%s", err, out)
	}
	env := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=/root", "LANG=C.UTF-8", "SYSTEMD_PAGER=", "SYSTEMD_COLORS=0"}
	sb := bootSandbox(t, ctx, overlayDirs("/etc", "/var", "/tmp", "/root"), env)
	sb.sh(ctx, 30*time.Second, "cat >/etc/systemd/system/holderdemo.service <<'EOF'\n"+
		fmt.Sprintf(holderUnit, bin)+"EOF\nsystemctl daemon-reload && systemctl start holderdemo")
	show := func(prop string) string {
		return strings.TrimSpace(sb.must(ctx, 10*time.Second, "systemctl", "show", "-p", prop, "--value", "holderdemo"))
	}
	connect := func() *holderClient {
		t.Helper()
		var c net.Conn
		if !poll(ctx, 20*time.Second, func() bool {
			var err error
			c, err = sb.dial(holderAddr)
			return err == nil
		}) {
			t.Fatalf("cannot connect to the holder demo")
		}
		t.Cleanup(func() { c.Close() })
		return &holderClient{c: c, r: bufio.NewReader(c)}
	}

	n := 20
	if v, err := strconv.Atoi(os.Getenv("HOLDER_SANDBOX_CLIENTS")); err == nil && v > 0 {
		n = v // for measuring at scale by hand; CI keeps it small
	}
	clients := make([]*holderClient, n)
	ids := make([]uint64, n)
	firstPID := 0
	for i := range clients {
		clients[i] = connect()
		pid, id, text := clients[i].ask(t, fmt.Sprintf("hello %d", i))
		if text != fmt.Sprintf("HELLO %d", i) || (firstPID != 0 && pid != firstPID) {
			t.Fatalf("client %d: pid %d %q", i, pid, text)
		}
		firstPID, ids[i] = pid, id
	}
	clients[0].c.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(clients[0].c, "SYNC\n")
	if s, err := clients[0].r.ReadString('\n'); err != nil || s != fmt.Sprintf("SYNCED %d <nil>\n", n) {
		t.Fatalf("SYNC: %q %v", s, err)
	}
	if got := show("NFileDescriptorStore"); got != "2" {
		t.Fatalf("NFileDescriptorStore=%s, want 2 (the listener and one holder shard)", got)
	}

	// everyAnswers checks that every client is answered by a new process
	// under its old ID and returns that process's PID.
	everyAnswers := func(step string, notPID int) int {
		t.Helper()
		newPID := 0
		for i, c := range clients {
			pid, id, text := c.ask(t, fmt.Sprintf("%s %d", step, i))
			if pid == notPID || (newPID != 0 && pid != newPID) || id != ids[i] || text != strings.ToUpper(fmt.Sprintf("%s %d", step, i)) {
				t.Fatalf("%s: client %d answered by pid %d (old %d) as ID %d (want %d): %q", step, i, pid, notPID, id, ids[i], text)
			}
			newPID = pid
		}
		return newPID
	}

	// --- kill -9: systemd restarts it, the store hands everything back
	start := time.Now()
	sb.must(ctx, 10*time.Second, "kill", "-9", show("MainPID"))
	late := connect() // while no process may be serving: waits in the backlog
	fmt.Fprintf(late.c, "while down\n")
	crashPID := everyAnswers("after crash", firstPID)
	t.Logf("kill -9: all %d clients answered by the new process %v after the kill", n, time.Since(start).Round(time.Millisecond))
	if pid, id, text := late.answer(t); pid != crashPID || id <= ids[n-1] || text != "WHILE DOWN" {
		t.Fatalf("connection made during the crash: pid %d id %d %q", pid, id, text)
	}
	if got := show("NRestarts"); got != "1" {
		t.Errorf("NRestarts=%s after one kill -9, want 1", got)
	}

	// --- systemctl restart: SIGTERM says restart, everything is kept
	start = time.Now()
	sb.must(ctx, 30*time.Second, "systemctl", "restart", "holderdemo")
	if got := strings.TrimSpace(sb.must(ctx, 10*time.Second, "cat", "/run/holderdemo.sigterm")); got != "restart" {
		t.Fatalf("on SIGTERM during systemctl restart the demo decided %q, want restart", got)
	}
	everyAnswers("after restart", crashPID)
	t.Logf("systemctl restart: all %d clients answered by the new process %v after the restart began", n, time.Since(start).Round(time.Millisecond))

	// --- systemctl stop: SIGTERM says stop, every client is told and
	// closed, nothing is left in the store
	sb.must(ctx, 30*time.Second, "systemctl", "stop", "holderdemo")
	if got := strings.TrimSpace(sb.must(ctx, 10*time.Second, "cat", "/run/holderdemo.sigterm")); got != "stop" {
		t.Fatalf("on SIGTERM during systemctl stop the demo decided %q, want stop", got)
	}
	for i, c := range append(clients, late) {
		c.c.SetDeadline(time.Now().Add(30 * time.Second))
		s, err := c.r.ReadString('\n')
		if s != "SHUTDOWN\n" || err != nil {
			t.Fatalf("client %d on stop read %q, %v; want the shutdown notice", i, s, err)
		}
		if _, err := c.r.ReadByte(); err == nil {
			t.Fatalf("client %d: more after the shutdown notice, want EOF", i)
		}
	}
	if got := show("NFileDescriptorStore"); got != "0" {
		t.Errorf("NFileDescriptorStore=%s after stop, want 0", got)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatal(err)
	}
}
