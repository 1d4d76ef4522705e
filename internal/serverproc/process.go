// Package serverproc runs a server as a child process — chatd, or any
// program that prints where it listens — and stops it again: the one way
// the end-to-end tests (through internal/testbin) and the benchmark
// (bench/internal/compare) start chatd.
//
// A server started here gets the parent's environment without CHATD_*
// variables, so a developer's shell cannot change what it runs; its stdout
// and stderr go, in the order written, to one writer the caller chooses;
// and on Linux the kernel kills it if the parent dies without stopping it.
package serverproc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Spec is a server to start.
type Spec struct {
	// Name is what errors call the server ("chatd", "baseline").
	Name string
	// Argv is the command line; Argv[0] is the program.
	Argv []string
	// Env is added to the parent's environment (without CHATD_*).
	Env []string
	// Output receives the server's stdout and stderr; nil discards them.
	Output io.Writer
	// Listening recognises the output line that says where the server
	// listens and returns that address.
	Listening func(line []byte) (addr string, ok bool)
}

// Process is a running (or ended) server.
type Process struct {
	Name string
	Cmd  *exec.Cmd
	// Addr is where it listens, once WaitListening returned it.
	Addr string

	out    *watcher
	exited chan struct{} // closed once Wait returned
	err    error         // Wait's error
}

// Start starts the server; it does not wait for it to listen (see
// WaitListening).
func Start(spec Spec) (*Process, error) {
	if len(spec.Argv) == 0 {
		return nil, errors.New("serverproc: no command")
	}
	if spec.Output == nil {
		spec.Output = io.Discard
	}
	p := &Process{Name: spec.Name, exited: make(chan struct{}),
		out: &watcher{w: spec.Output, match: spec.Listening, found: make(chan string, 1)}}
	p.Cmd = exec.Command(spec.Argv[0], spec.Argv[1:]...)
	p.Cmd.Env = append(CleanEnv(), spec.Env...)
	// The same writer for both: os/exec then gives the child one pipe for
	// both streams, so lines keep the order in which they were written.
	p.Cmd.Stdout, p.Cmd.Stderr = p.out, p.out
	// Once the server has exited, a process it left behind holding the
	// pipe cannot hold up Wait (and Stop) for longer than this.
	p.Cmd.WaitDelay = 5 * time.Second
	DieWithParent(p.Cmd)
	if err := p.Cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	go func() {
		// Wait returns once the output is copied: a server that logs a
		// line per connection is never held up by a full pipe.
		p.err = p.Cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// CleanEnv is this process's environment without CHATD_* variables and
// without CHAT_ADDR, so that a server runs on its config file alone.
func CleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CHATD_") && !strings.HasPrefix(kv, "CHAT_ADDR=") {
			env = append(env, kv)
		}
	}
	return env
}

// WaitListening waits until the server says where it listens, sets Addr
// and returns it. It fails when the server exits first or ctx ends.
func (p *Process) WaitListening(ctx context.Context) (string, error) {
	select {
	case addr := <-p.out.found:
		p.Addr = addr
		return addr, nil
	case <-p.exited:
		// The line may have been the last thing it wrote.
		select {
		case addr := <-p.out.found:
			p.Addr = addr
			return addr, nil
		default:
		}
		return "", fmt.Errorf("%s exited before listening (%v)", p.Name, p.err)
	case <-ctx.Done():
		return "", fmt.Errorf("%s did not say where it listens: %w", p.Name, ctx.Err())
	}
}

// Pid is the server's process ID.
func (p *Process) Pid() int { return p.Cmd.Process.Pid }

// Done is closed once the server has exited.
func (p *Process) Done() <-chan struct{} { return p.exited }

// Exited reports whether the server has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// Err is how the server ended (exec.Cmd.Wait's error); valid once Done is
// closed.
func (p *Process) Err() error { return p.err }

// ExitCode is the server's exit status, -1 if a signal ended it; valid
// once Done is closed.
func (p *Process) ExitCode() int { return p.Cmd.ProcessState.ExitCode() }

// Stop ends the server: SIGTERM, then SIGKILL if it has not exited within
// grace. It returns nil when the server exited with status 0 (now or
// before), and otherwise says how it ended.
func (p *Process) Stop(grace time.Duration) error {
	select {
	case <-p.exited:
	default:
		p.Cmd.Process.Signal(syscall.SIGTERM)
		t := time.NewTimer(grace)
		select {
		case <-p.exited:
			t.Stop()
		case <-t.C:
			p.Cmd.Process.Kill()
			<-p.exited
			return fmt.Errorf("%s did not stop within %v of SIGTERM; killed", p.Name, grace)
		}
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) && !ee.Exited() {
		return fmt.Errorf("%s ended by %v", p.Name, ee)
	}
	if p.err != nil {
		return fmt.Errorf("%s: %w", p.Name, p.err)
	}
	return nil
}

// watcher writes the output through to w and looks at each line until
// match recognises one.
type watcher struct {
	mu    sync.Mutex
	w     io.Writer
	match func([]byte) (string, bool)
	found chan string
	line  []byte // the unfinished line
	done  bool
}

// maxLine bounds the unfinished line kept while looking.
const maxLine = 64 << 10

func (w *watcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done && w.match != nil {
		w.line = append(w.line, p...)
		for !w.done {
			i := bytes.IndexByte(w.line, '\n')
			if i < 0 {
				break
			}
			if addr, ok := w.match(w.line[:i]); ok {
				w.found <- addr
				w.done, w.line = true, nil
				break
			}
			w.line = w.line[i+1:]
		}
		if len(w.line) > maxLine {
			w.line = w.line[len(w.line)-maxLine:]
		}
	}
	return w.w.Write(p)
}
