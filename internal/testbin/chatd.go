package testbin

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
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
	// Wrapper runs chatd under another command, e.g. prlimit.
	Wrapper []string
}

// Chatd is a chatd child process.
type Chatd struct {
	t       testing.TB
	Cmd     *exec.Cmd
	Addr    string // chat listen address
	Dir     string // private temp dir: config, socket, state
	Socket  string // admin socket path
	Config  string // config file path
	logs    *lockedBuffer
	exited  chan struct{}
	exitErr error
}

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
	os.Chmod(dir, 0o755)
	c := &Chatd{t: t, Dir: dir, Socket: filepath.Join(dir, "run", "admin.sock"),
		Config: filepath.Join(dir, "chatd.yaml"), logs: &lockedBuffer{}, exited: make(chan struct{})}
	base := fmt.Sprintf("listen: 127.0.0.1:0\nstate_dir: %s\nadmin:\n  socket: %s\nlog:\n  format: json\n  level: debug\n",
		filepath.Join(dir, "state"), c.Socket)
	cfg := mergeYAML(base, o.Config)
	if err := os.WriteFile(c.Config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"run", "--config", c.Config}, o.Args...)
	bin := o.Binary
	if bin == "" {
		bin = "chatd"
	}
	argv := append(append(append([]string{}, o.Wrapper...), Path(t, bin)), args...)
	c.Cmd = exec.Command(argv[0], argv[1:]...)
	c.Cmd.Env = append(cleanEnv(), o.Env...)
	c.Cmd.Stdout = c.logs
	c.Cmd.Stderr = c.logs
	if err := c.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		c.exitErr = c.Cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() {
		c.Cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.exited:
		case <-time.After(10 * time.Second):
			c.Cmd.Process.Kill()
			<-c.exited
		}
		if t.Failed() {
			t.Logf("chatd log:\n%s", c.Logs())
		}
	})
	if o.NoWait {
		return c
	}
	line := c.WaitLog("chatd started", 20*time.Second)
	var rec struct {
		Listen string `json:"listen"`
	}
	if err := json.Unmarshal([]byte(line), &rec); err != nil || rec.Listen == "" {
		t.Fatalf("cannot read the listen address from %q: %v", line, err)
	}
	c.Addr = rec.Listen
	return c
}

// mergeYAML appends extra to base, replacing base's top-level sections
// that extra redefines (a YAML mapping may not repeat a key).
func mergeYAML(base, extra string) string {
	if extra == "" {
		return base
	}
	redefined := map[string]bool{}
	for _, l := range strings.Split(extra, "\n") {
		if l != "" && l[0] != ' ' && l[0] != '#' {
			if i := strings.Index(l, ":"); i > 0 {
				redefined[l[:i]] = true
			}
		}
	}
	var out []string
	skip := false
	for _, l := range strings.Split(base, "\n") {
		if l != "" && l[0] != ' ' {
			i := strings.Index(l, ":")
			skip = i > 0 && redefined[l[:i]]
		}
		if !skip {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n") + "\n" + extra + "\n"
}

// cleanEnv is the test's environment without CHATD_* variables, so that a
// developer's shell cannot change what a test runs.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CHATD_") && !strings.HasPrefix(kv, "CHAT_ADDR=") {
			env = append(env, kv)
		}
	}
	return env
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
		select {
		case <-c.exited:
			c.t.Fatalf("chatd exited (%v) before logging %q; log:\n%s", c.exitErr, substr, c.Logs())
		default:
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
	case <-c.exited:
	case <-time.After(timeout):
		c.t.Fatalf("chatd did not exit within %v; log:\n%s", timeout, c.Logs())
	}
	var ee *exec.ExitError
	if errors.As(c.exitErr, &ee) {
		return ee.ExitCode()
	}
	if c.exitErr != nil {
		c.t.Fatalf("chatd: %v", c.exitErr)
	}
	return 0
}

// Exited reports whether chatd has exited.
func (c *Chatd) Exited() bool {
	select {
	case <-c.exited:
		return true
	default:
		return false
	}
}

// Pid is chatd's process ID.
func (c *Chatd) Pid() int { return c.Cmd.Process.Pid }

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

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
