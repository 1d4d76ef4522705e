package adminclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatd/chatd/internal/cliutil"
)

// NewCommand returns a client that reaches a chatd's admin API through a
// command that joins its stdin and stdout to the admin socket, such as
// `ssh host chatctl dial-stdio`: each connection the client needs runs
// argv once and speaks HTTP over its stdin and stdout. name says where the
// command leads, for messages. Errors from the command itself come back as
// a *CommandError.
func NewCommand(name string, argv []string) *Client {
	argv = append([]string(nil), argv...)
	c := newClient(name, func(context.Context) (net.Conn, error) {
		return dialCommand(name, argv)
	})
	c.viaCommand = true
	return c
}

// CommandError says that the command a client runs to reach chatd failed:
// it could not be started, or it ended with an error status.
type CommandError struct {
	Command string // the program, "ssh"
	Err     error  // why it could not be started, or nil
	Status  int    // exit status when it ran; -1 when killed by a signal
	// Stderr is the last line the command wrote on standard error (the
	// one that says why), printable.
	Stderr string
}

func (e *CommandError) Error() string {
	switch {
	case e.Err != nil:
		return fmt.Sprintf("cannot run %s: %v", e.Command, e.Err)
	case e.Stderr != "":
		return fmt.Sprintf("%s exited with status %d: %s", e.Command, e.Status, e.Stderr)
	}
	return fmt.Sprintf("%s exited with status %d", e.Command, e.Status)
}

func (e *CommandError) Unwrap() error { return e.Err }

// stderrKeep bounds what is kept of the command's standard error: its
// last lines say why it failed.
const stderrKeep = 4 << 10

// commandWaitDelay bounds the wait for the command's standard error after
// it exited: an ssh that left a multiplexing master behind, which holds
// the stream open, must not hold chatctl.
const commandWaitDelay = 2 * time.Second

// commandConn is a net.Conn over a child process's stdin and stdout, in
// the manner of Docker's commandconn. Reading the end of its output waits
// for the process and turns a failed exit into a *CommandError, so the
// reason the command gave reaches the operator instead of "EOF".
type commandConn struct {
	name   string
	cmd    *exec.Cmd
	stdin  *os.File // our end of the command's stdin
	stdout *os.File // our end of the command's stdout
	stderr *tail

	closed   atomic.Bool
	waitOnce sync.Once
	waitErr  error
}

func dialCommand(name string, argv []string) (net.Conn, error) {
	prog := argv[0]
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, &CommandError{Command: prog, Err: err}
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, &CommandError{Command: prog, Err: err}
	}
	c := &commandConn{name: name, stdin: inW, stdout: outR, stderr: &tail{max: stderrKeep}}
	c.cmd = exec.Command(prog, argv[1:]...)
	c.cmd.Stdin, c.cmd.Stdout, c.cmd.Stderr = inR, outW, c.stderr
	c.cmd.WaitDelay = commandWaitDelay
	err = c.cmd.Start()
	inR.Close() // the child has its copies
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return nil, &CommandError{Command: prog, Err: err}
	}
	return c, nil
}

func (c *commandConn) Read(p []byte) (int, error) {
	n, err := c.stdout.Read(p)
	if err != nil && !c.closed.Load() && !errors.Is(err, os.ErrDeadlineExceeded) {
		if werr := c.wait(); werr != nil {
			return n, werr
		}
	}
	return n, err
}

func (c *commandConn) Write(p []byte) (int, error) {
	n, err := c.stdin.Write(p)
	if err != nil && !c.closed.Load() && !errors.Is(err, os.ErrDeadlineExceeded) {
		// Its stdin is closed: the command has ended, or is ending.
		if werr := c.wait(); werr != nil {
			return n, werr
		}
	}
	return n, err
}

// Close ends the command: the connection is all it is for.
func (c *commandConn) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	c.stdin.Close()
	c.stdout.Close()
	c.cmd.Process.Kill() // an error only says it has exited already
	c.wait()
	return nil
}

// wait waits for the command to exit, once, and says how it failed.
func (c *commandConn) wait() error {
	c.waitOnce.Do(func() {
		err := c.cmd.Wait()
		if c.closed.Load() {
			return // killed by Close: nothing to report
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			c.waitErr = &CommandError{Command: c.cmd.Args[0], Status: ee.ExitCode(), Stderr: c.stderr.lastLine()}
		} else if err != nil && !errors.Is(err, exec.ErrWaitDelay) {
			c.waitErr = &CommandError{Command: c.cmd.Args[0], Err: err}
		}
	})
	return c.waitErr
}

func (c *commandConn) LocalAddr() net.Addr  { return commandAddr("chatctl") }
func (c *commandConn) RemoteAddr() net.Addr { return commandAddr(c.name) }

func (c *commandConn) SetDeadline(t time.Time) error {
	return errors.Join(c.stdin.SetWriteDeadline(t), c.stdout.SetReadDeadline(t))
}
func (c *commandConn) SetReadDeadline(t time.Time) error  { return c.stdout.SetReadDeadline(t) }
func (c *commandConn) SetWriteDeadline(t time.Time) error { return c.stdin.SetWriteDeadline(t) }

// commandAddr names the ends of a commandConn.
type commandAddr string

func (a commandAddr) Network() string { return "cmd" }
func (a commandAddr) String() string  { return string(a) }

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

// lastLine is the last non-blank line written, made printable.
func (t *tail) lastLine() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := strings.Split(strings.ReplaceAll(string(t.buf), "\r", ""), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			return cliutil.Printable(l)
		}
	}
	return ""
}
