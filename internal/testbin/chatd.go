package testbin

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/serverproc"
	"github.com/chatd/chatd/internal/syncbuf"
)

// Options configure a chatd started by StartChatd.
type Options struct {
	// Config is YAML appended to the test's own config (listen on a free
	// loopback port, a private admin socket and state dir, JSON logs).
	Config string
	Env    []string // extra environment
	Args   []string // extra arguments after `run --config FILE`
	// NoWait skips waiting for the "chatd started" line (for tests of
	// start-up failures).
	NoWait bool
	// Binary is the build to run: "chatd" (default), "chatd-release" or
	// "chatd-faultinject".
	Binary string
	// Exe, if set, is the path of the binary to run instead: a copy that
	// the test may remove or replace while chatd runs.
	Exe string
	// Wrapper runs chatd under another command, e.g. prlimit.
	Wrapper []string
}

// Chatd is a chatd child process.
type Chatd struct {
	*serverproc.Chatd
	t    testing.TB
	logs *LockedBuffer
}

// testLogging is the tests' logging: JSON, so that tests can read the
// records, at debug level.
const testLogging = "log:\n  format: json\n  level: debug\n"

// StartChatd runs `chatd run` with a temp config and waits until it
// listens. It is stopped (SIGKILL if SIGTERM does not do it) when the test
// ends.
func StartChatd(t testing.TB, o Options) *Chatd {
	t.Helper()
	// Short path: Unix socket paths are limited to about 100 bytes.
	dir, err := os.MkdirTemp("", "chatd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// Other users (tests that connect as another uid) may look inside.
	os.Chmod(dir, 0o755)
	bin := o.Binary
	if bin == "" {
		bin = "chatd"
	}
	exe := o.Exe
	if exe == "" {
		exe = Path(t, bin)
	}
	c := &Chatd{t: t, logs: &LockedBuffer{}}
	c.Chatd, err = serverproc.StartChatd(serverproc.ChatdOptions{
		Binary: exe, Dir: dir, Config: serverproc.MergeYAML(testLogging, o.Config),
		Args: o.Args, Env: o.Env, Wrapper: o.Wrapper, Output: c.logs,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Stop(10 * time.Second)
		if t.Failed() {
			t.Logf("chatd log:\n%s", c.Logs())
		}
	})
	if o.NoWait {
		return c
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := c.WaitListening(ctx); err != nil {
		t.Fatalf("%v; log:\n%s", err, c.Logs())
	}
	return c
}

// Logs returns everything chatd wrote so far.
func (c *Chatd) Logs() string { return c.logs.String() }

// WaitLog waits until a log line contains substr and returns that line.
func (c *Chatd) WaitLog(substr string, timeout time.Duration) string {
	c.t.Helper()
	var line string
	ok := Poll(timeout, func() bool {
		for _, l := range strings.Split(c.Logs(), "\n") {
			if strings.Contains(l, substr) {
				line = l
				return true
			}
		}
		return false
	})
	if !ok {
		if c.Exited() {
			c.t.Fatalf("chatd exited (%v) before logging %q; log:\n%s", c.Err(), substr, c.Logs())
		}
		c.t.Fatalf("chatd did not log %q within %v; log:\n%s", substr, timeout, c.Logs())
	}
	return line
}

// LogRecords returns the JSON log records whose msg is msg.
func (c *Chatd) LogRecords(msg string) []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(c.Logs()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var rec map[string]any
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// Dial connects a chat client.
func (c *Chatd) Dial() *net.TCPConn {
	c.t.Helper()
	nc, err := net.DialTimeout("tcp", c.Addr, 5*time.Second)
	if err != nil {
		c.t.Fatalf("dial chatd: %v", err)
	}
	return nc.(*net.TCPConn)
}

// Signal sends sig to chatd.
func (c *Chatd) Signal(sig os.Signal) {
	if err := c.Cmd.Process.Signal(sig); err != nil {
		c.t.Fatalf("signal chatd: %v", err)
	}
}

// Wait waits for chatd to exit and returns its exit code (-1 if killed by a
// signal).
func (c *Chatd) Wait(timeout time.Duration) int {
	c.t.Helper()
	select {
	case <-c.Done():
	case <-time.After(timeout):
		c.t.Fatalf("chatd did not exit within %v; log:\n%s", timeout, c.Logs())
	}
	var ee *exec.ExitError
	if err := c.Err(); err != nil && !errors.As(err, &ee) {
		c.t.Fatalf("chatd: %v", err)
	}
	return c.ExitCode()
}

// Poll calls cond every few milliseconds until it returns true or timeout
// passes, and reports whether it did.
func Poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for delay := time.Millisecond; ; delay = min(delay*2, 50*time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(delay)
	}
}

// ReadFull reads exactly n bytes from r within timeout.
func ReadFull(r net.Conn, n int, timeout time.Duration) ([]byte, error) {
	r.SetReadDeadline(time.Now().Add(timeout))
	defer r.SetReadDeadline(time.Time{})
	buf := make([]byte, n)
	_, err := io.ReadFull(r, buf)
	return buf, err
}

// ReadAll reads until EOF within timeout.
func ReadAll(r net.Conn, timeout time.Duration) ([]byte, error) {
	r.SetReadDeadline(time.Now().Add(timeout))
	defer r.SetReadDeadline(time.Time{})
	return io.ReadAll(r)
}

// LockedBuffer is what a child process's output is copied into while the
// test reads it.
type LockedBuffer = syncbuf.Buffer
