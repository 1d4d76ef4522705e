//go:build linux

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/testbin"
)

// pipedChatd is a chatd whose stdout and stderr are one pipe the test
// holds both ends of, as in `chatd run 2>&1 | tee log`.
type pipedChatd struct {
	cmd    *exec.Cmd
	dir    string
	socket string
	addr   string
	logR   *os.File // the reader's end: the test plays tee
	logW   *os.File // the writer's end, shared with chatd
	exited chan struct{}
	err    error
}

// startPiped starts chatd with the pipe as its output and reads the log
// until chatd says it serves.
func startPiped(t *testing.T, extraConfig string) *pipedChatd {
	t.Helper()
	dir, err := os.MkdirTemp("", "chatd-log-") // short: the socket lives here
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	c := &pipedChatd{dir: dir, socket: filepath.Join(dir, "admin.sock"), exited: make(chan struct{})}
	cfg := filepath.Join(dir, "chatd.yaml")
	yaml := fmt.Sprintf("listen: 127.0.0.1:0\nstate_dir: %s\nadmin:\n  socket: %s\nlog:\n  format: json\n  level: debug\n%s",
		filepath.Join(dir, "state"), c.socket, extraConfig)
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	if c.logR, c.logW, err = os.Pipe(); err != nil {
		t.Fatal(err)
	}
	c.cmd = exec.Command(testbin.Path(t, "chatd"), "run", "--config", cfg)
	c.cmd.Stdout, c.cmd.Stderr = c.logW, c.logW
	// The race detector's runtime sleeps a second at exit (to let other
	// threads report): not chatd's time, and the stop tests measure it.
	c.cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0")
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.err = c.cmd.Wait(); close(c.exited) }()
	t.Cleanup(func() {
		c.cmd.Process.Kill()
		<-c.exited
		c.logR.Close()
		c.logW.Close()
	})
	type started struct {
		Msg    string `json:"msg"`
		Listen string `json:"listen"`
	}
	found := make(chan string, 1)
	go func() {
		// Reads only up to the line it wants: nothing after it is read,
		// so the pipe fills if the test never reads again.
		r := bufio.NewReaderSize(c.logR, 16)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				found <- ""
				return
			}
			var rec started
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "chatd started" {
				found <- rec.Listen
				return
			}
		}
	}()
	select {
	case c.addr = <-found:
	case <-time.After(20 * time.Second):
	}
	if c.addr == "" {
		t.Fatalf("chatd did not log that it started (exited: %v)", c.hasExited())
	}
	return c
}

func (c *pipedChatd) hasExited() bool {
	select {
	case <-c.exited:
		return true
	default:
		return false
	}
}

// fillPipe fills the log pipe to the last byte, so that chatd's next
// write to it would wait: a reader that stopped reading. It writes
// through a non-blocking open of its own (the pipe's flags are shared
// with chatd's end, which must stay as chatd found it).
func (c *pipedChatd) fillPipe(t *testing.T) {
	t.Helper()
	f, err := os.OpenFile("/proc/self/fd/"+strconv.Itoa(int(c.logW.Fd())), os.O_WRONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 4096)
	for _, size := range []int{4096, 1} {
		for range 1 << 20 { // bounded: a pipe holds far less
			var werr error
			rc.Write(func(fd uintptr) bool {
				_, werr = syscall.Write(int(fd), chunk[:size])
				return true
			})
			if errors.Is(werr, syscall.EAGAIN) {
				break
			}
			if werr != nil {
				t.Fatalf("fill the log pipe: %v", werr)
			}
		}
	}
}

// echo connects a chat client and checks that it is answered at once.
func (c *pipedChatd) echo(t *testing.T, msg string) net.Conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", c.addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial chatd: %v (exited: %v)", err, c.hasExited())
	}
	t.Cleanup(func() { nc.Close() })
	if _, err := fmt.Fprintf(nc, "%s\n", msg); err != nil {
		t.Fatalf("write: %v", err)
	}
	want := strings.ToUpper(msg) + "\n"
	got, err := testbin.ReadFull(nc, len(want), 10*time.Second)
	if err != nil || string(got) != want {
		t.Fatalf("answer to %q: %q, %v (chatd exited: %v)", msg, got, err, c.hasExited())
	}
	return nc
}

// closeClient ends a client with the close phrase, waits for chatd's FIN
// and closes its side too (else chatd lingers for it).
func closeClient(t *testing.T, nc net.Conn) {
	t.Helper()
	if _, err := io.WriteString(nc, "CLOSE SOCKET"); err != nil {
		t.Fatal(err)
	}
	if _, err := testbin.ReadAll(nc, 10*time.Second); err != nil {
		t.Fatalf("close: %v", err)
	}
	nc.Close()
}

// connectedPerChatctl is what `chatctl status` says is connected.
func (c *pipedChatd) connectedPerChatctl(t *testing.T) int {
	t.Helper()
	out, err := exec.Command(testbin.Path(t, "chatctl"), "--socket", c.socket, "status", "-o", "json").CombinedOutput()
	if err != nil {
		t.Fatalf("chatctl status: %v: %s", err, out)
	}
	var st struct {
		Connected int `json:"clients_connected"`
	}
	if err := json.Unmarshal(out, &st); err != nil {
		t.Fatalf("chatctl status -o json: %v: %s", err, out)
	}
	return st.Connected
}

// metric reads one of chatd's Prometheus counters over the admin socket.
func (c *pipedChatd) metric(t *testing.T, name string) float64 {
	t.Helper()
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", c.socket)
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

// stopWithin sends SIGTERM and wants exit status 0 within d.
func (c *pipedChatd) stopWithin(t *testing.T, d time.Duration) {
	t.Helper()
	sent := time.Now()
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(d):
		t.Fatalf("chatd did not exit within %v of SIGTERM", d)
	}
	took := time.Since(sent).Round(time.Millisecond)
	if c.err != nil {
		t.Fatalf("chatd exited after %v: %v", took, c.err)
	}
	t.Logf("chatd exited %v after SIGTERM", took)
}

// `chatd run 2>&1 | tee log`, then tee ends: chatd keeps serving, counts
// the lines it cannot write, and stops cleanly.
func TestBrokenLogPipeDoesNotKillChatd(t *testing.T) {
	c := startPiped(t, "")
	c.logR.Close() // tee ends
	const clients = 10
	for i := range clients {
		closeClient(t, c.echo(t, fmt.Sprintf("still here %d", i)))
	}
	// Each client logged at least its connect and disconnect lines.
	if !testbin.Poll(10*time.Second, func() bool { return c.metric(t, "chatd_log_lines_dropped_total") >= 2*clients }) {
		t.Fatalf("chatd_log_lines_dropped_total = %v, want ≥ %d", c.metric(t, "chatd_log_lines_dropped_total"), 2*clients)
	}
	c.stopWithin(t, 10*time.Second)
}

// A log pipe nobody drains: clients are answered, chatctl status follows
// them as they come and go, and SIGTERM ends chatd within shutdown_grace.
func TestStalledLogPipeBlocksNothing(t *testing.T) {
	const grace = 3 * time.Second
	c := startPiped(t, fmt.Sprintf("shutdown_grace: %s\n", grace))
	c.fillPipe(t)

	var stay []net.Conn
	for i := range 6 {
		nc := c.echo(t, fmt.Sprintf("hello %d", i))
		if i%2 == 0 {
			closeClient(t, nc)
		} else {
			stay = append(stay, nc)
		}
	}
	if !testbin.Poll(10*time.Second, func() bool { return c.connectedPerChatctl(t) == len(stay) }) {
		t.Fatalf("chatctl status: %d connected, want %d (the ones that left are gone)", c.connectedPerChatctl(t), len(stay))
	}
	for _, nc := range stay {
		closeClient(t, nc)
	}
	if !testbin.Poll(10*time.Second, func() bool { return c.connectedPerChatctl(t) == 0 }) {
		t.Fatalf("chatctl status: %d connected after all left", c.connectedPerChatctl(t))
	}
	// A client connected while SIGTERM comes reads the notice and goes,
	// so the drain itself takes no time: what is left to wait for is
	// the log.
	last := c.echo(t, "one more")
	go func() { testbin.ReadAll(last, 2*grace); last.Close() }()
	c.stopWithin(t, grace)
}
