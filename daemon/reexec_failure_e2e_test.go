//go:build unix

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/testbin"
)

// chatter is a connected client that checks every answer.
type chatter struct {
	c net.Conn
	r *bufio.Reader
}

func newChatter(t *testing.T, d *testbin.Chatd) *chatter {
	t.Helper()
	c := d.Dial()
	t.Cleanup(func() { c.Close() })
	return &chatter{c: c, r: bufio.NewReader(c)}
}

// ask sends send and wants want back at once.
func (ch *chatter) ask(t *testing.T, d *testbin.Chatd, send, want string) {
	t.Helper()
	ch.c.SetDeadline(time.Now().Add(10 * time.Second))
	defer ch.c.SetDeadline(time.Time{})
	if _, err := io.WriteString(ch.c, send); err != nil {
		t.Fatalf("write %q: %v", send, err)
	}
	got, err := ch.r.ReadString('\n')
	if err != nil || got != want {
		t.Fatalf("sent %q: got %q, %v; want %q\nlog:\n%s", send, got, err, want, d.Logs())
	}
}

// listedIDs are the client IDs chatctl list shows.
func listedIDs(t *testing.T, d *testbin.Chatd) []uint64 {
	t.Helper()
	code, out, errOut := chatctl(t, d, "list", "-o", "json")
	if code != 0 {
		t.Fatalf("chatctl list: %d %s", code, errOut)
	}
	var list struct {
		Clients []struct{ ID uint64 } `json:"clients"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("chatctl list -o json: %v: %s", err, out)
	}
	ids := make([]uint64, len(list.Clients))
	for i, c := range list.Clients {
		ids[i] = c.ID
	}
	return ids
}

// adminMetric reads one of chatd's Prometheus series over the admin socket.
func adminMetric(t *testing.T, d *testbin.Chatd, name string) float64 {
	t.Helper()
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", d.Socket)
		}}}
	resp, err := hc.Get("http://chatd/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metric %s: %v", name, err)
			}
			return f
		}
	}
	t.Fatalf("no metric %s in /metrics", name)
	return 0
}

func copyBinary(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(to) // a new file, not the running one rewritten (ETXTBSY)
	if err := os.WriteFile(to, data, 0o755); err != nil {
		t.Fatal(err)
	}
}

// hasAll wants every ID of want among got (new clients come and stay).
func hasAll(t *testing.T, what string, got, want []uint64) {
	t.Helper()
	listed := map[uint64]bool{}
	for _, id := range got {
		listed[id] = true
	}
	for _, id := range want {
		if !listed[id] {
			t.Fatalf("%s: client %d is gone: listed %v, want %v among them", what, id, got, want)
		}
	}
}

func errorLines(d *testbin.Chatd) int {
	return strings.Count(d.Logs(), `"level":"ERROR"`)
}

// A restart in place that cannot exec the binary (removed by an upgrade,
// replaced by something that is not a program, not executable) is never a
// stop: every client chats on
// with its ID and its half-sent character, new clients are served, one
// error line says why, chatctl restart exits 1 with the reason, and
// chatd_restart_failures_total counts it. A good binary then restarts as
// usual.
func TestFailedRestartInPlaceServesEveryClientOn(t *testing.T) {
	exe := filepath.Join(t.TempDir(), "chatd")
	good := testbin.Path(t, "chatd")
	copyBinary(t, good, exe)
	d := testbin.StartChatd(t, testbin.Options{Exe: exe})
	pid := d.Cmd.Process.Pid
	clients := make([]*chatter, 4)
	for i := range clients {
		clients[i] = newChatter(t, d)
		clients[i].ask(t, d, "hello\n", "HELLO\n")
	}
	ids := listedIDs(t, d)
	// The first byte of é, held by the protocol across every attempt.
	clients[0].c.Write([]byte("caf\xc3"))

	failures := 0
	check := func(t *testing.T, what string) {
		t.Helper()
		failures++
		if got := adminMetric(t, d, "chatd_restart_failures_total"); got != float64(failures) {
			t.Fatalf("%s: chatd_restart_failures_total %v, want %d", what, got, failures)
		}
		if n := errorLines(d); n != failures {
			t.Fatalf("%s: %d error lines, want %d (one per failure)\nlog:\n%s", what, n, failures, d.Logs())
		}
		if d.Exited() || d.Cmd.Process.Pid != pid {
			t.Fatalf("%s: chatd exited: %v", what, d.Err())
		}
		for i, c := range clients[1:] {
			c.ask(t, d, what+" "+strconv.Itoa(i)+"\n", strings.ToUpper(what)+" "+strconv.Itoa(i)+"\n")
		}
		hasAll(t, what, listedIDs(t, d), ids)
		newChatter(t, d).ask(t, d, "new\n", "NEW\n")
		if strings.Contains(d.Logs(), "shutting down") {
			t.Fatalf("%s: a client was told the server shuts down\nlog:\n%s", what, d.Logs())
		}
	}
	restartFails := func(t *testing.T, what, reason string) {
		t.Helper()
		code, out, errOut := chatctl(t, d, "restart")
		if code != 1 || !strings.Contains(errOut, reason) {
			t.Fatalf("%s: chatctl restart exited %d, stdout %q, stderr %q; want 1 and %q", what, code, out, errOut, reason)
		}
		check(t, what)
	}

	os.Remove(exe)
	restartFails(t, "removed", "no such file or directory")

	if err := os.WriteFile(exe, []byte("not a program\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// Past every check before the exec: the exec itself fails, after
	// the hand-over, and the process takes its own hand-over back.
	restartFails(t, "garbage", "restart failed: re-exec "+exe+": exec format error")
	// The same through SIGUSR2, twice in a row.
	for range 2 {
		before := errorLines(d)
		d.Signal(syscall.SIGUSR2)
		if !testbin.Poll(20*time.Second, func() bool { return errorLines(d) > before }) {
			t.Fatalf("no error line after SIGUSR2 onto garbage\nlog:\n%s", d.Logs())
		}
		check(t, "sigusr")
	}

	copyBinary(t, good, exe)
	os.Chmod(exe, 0o644)
	restartFails(t, "not executable", "permission denied")

	os.Chmod(exe, 0o755)
	if code, out, errOut := chatctl(t, d, "restart"); code != 0 {
		t.Fatalf("chatctl restart onto a good binary: %d %q %q", code, out, errOut)
	}
	clients[0].ask(t, d, "\xa9 ok\n", "CAF\xc3\x89 OK\n")
	hasAll(t, "after the good restart", listedIDs(t, d), ids)
}
