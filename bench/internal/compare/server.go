package compare

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Server names.
const (
	NameChatd    = "chatd"
	NameBaseline = "baseline"
)

const (
	// startTimeout bounds a server's start until it says where it listens.
	startTimeout = 15 * time.Second
	// stopTimeout bounds a server's drain after SIGTERM; then it is killed.
	// chatd's shutdown_grace is 5s and its admin API gets 2s before that.
	stopTimeout = 15 * time.Second
	// chatdMaxClients lets chatd hold the largest count plus the chat
	// traffic beside it; the open-file limit (20,000) is the real cap.
	chatdMaxClients = 19900
)

// Server is a server process started for a measurement.
type Server struct {
	Name  string
	Addr  string // chat listener, host:port
	PID   int
	Admin string // chatd's admin socket; "" for the baseline
	Log   string // where its output went

	pprof  string // a benchprofile build's pprof address
	cmd    *exec.Cmd
	exited chan struct{} // closed once Wait returned
	err    error         // Wait's error
}

// StartChatd starts chatd as shipped — `chatd run` with the default info
// logging on stderr, a pipe drained into a file — on 127.0.0.1:0, with its
// admin socket, state and config in dir.
func StartChatd(ctx context.Context, bin, dir string) (*Server, error) {
	return startChatd(ctx, bin, dir, nil)
}

func startChatd(ctx context.Context, bin, dir string, env []string) (*Server, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	cfg := filepath.Join(dir, "chatd.yaml")
	admin := filepath.Join(dir, "admin.sock")
	body := fmt.Sprintf("# written by bench/compare: chatd's defaults except where it listens,\n"+
		"# how many clients it takes and where it keeps its files.\n"+
		"listen: \"127.0.0.1:0\"\nmax_clients: %d\nstate_dir: %q\nadmin:\n  socket: %q\n",
		chatdMaxClients, filepath.Join(dir, "state"), admin)
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		return nil, err
	}
	s := &Server{Name: NameChatd, Admin: admin, Log: filepath.Join(dir, "chatd.log")}
	// slog's text format: … msg="chatd started" listen=127.0.0.1:PORT …
	re := regexp.MustCompile(`msg="chatd started".* listen=(\S+)`)
	cmd := exec.Command(bin, "run", "--config", cfg)
	cmd.Env = append(serverEnv(), env...)
	return s, s.start(ctx, cmd, re, false)
}

// StartBaseline starts the baseline on 127.0.0.1:0; its output goes to a
// file in dir.
func StartBaseline(ctx context.Context, bin, dir string) (*Server, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	s := &Server{Name: NameBaseline, Log: filepath.Join(dir, "baseline.log")}
	re := regexp.MustCompile(`^listening on (\S+)`)
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0")
	cmd.Env = serverEnv()
	return s, s.start(ctx, cmd, re, true)
}

// start runs cmd with its stdout and stderr copied into the log file and
// waits until a line of one of them (stdout when onStdout) matches re,
// whose first group is the address the server listens on. os/exec copies
// the output through pipes for as long as the process writes, so a server
// that logs a line per connection is never held up by a full pipe.
func (s *Server) start(ctx context.Context, cmd *exec.Cmd, re *regexp.Regexp, onStdout bool) error {
	logf, err := os.Create(s.Log)
	if err != nil {
		return err
	}
	w := &watcher{w: logf, re: re, found: make(chan string, 1)}
	plain := &lockedWriter{w: logf}
	w.mu = &plain.mu
	cmd.Stdout, cmd.Stderr = plain, w
	if onStdout {
		cmd.Stdout, cmd.Stderr = w, plain
	}
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("%s: %w", s.Name, err)
	}
	s.cmd, s.PID = cmd, cmd.Process.Pid
	s.exited = make(chan struct{})
	go func() {
		defer close(s.exited)
		s.err = cmd.Wait() // returns once the output is copied
		logf.Close()
	}()
	t := time.NewTimer(startTimeout)
	defer t.Stop()
	select {
	case addr := <-w.found:
		s.Addr = addr
		return nil
	case <-s.exited:
		return fmt.Errorf("%s exited before listening (%v); see %s", s.Name, s.err, s.Log)
	case <-t.C:
		s.Stop()
		return fmt.Errorf("%s did not say where it listens within %v; see %s", s.Name, startTimeout, s.Log)
	case <-ctx.Done():
		s.Stop()
		return ctx.Err()
	}
}

// watcher writes through to w and looks at each line until one matches re.
type watcher struct {
	mu    *sync.Mutex // shared with the other stream's writer
	w     io.Writer
	re    *regexp.Regexp
	found chan string
	line  []byte
	done  bool
}

func (w *watcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.line = append(w.line, p...)
		for !w.done {
			i := bytes.IndexByte(w.line, '\n')
			if i < 0 {
				break
			}
			if m := w.re.FindSubmatch(w.line[:i]); m != nil {
				w.found <- string(m[1])
				w.done, w.line = true, nil
				break
			}
			w.line = w.line[i+1:]
		}
		if len(w.line) > 64<<10 {
			w.line = w.line[len(w.line)-(64<<10):]
		}
	}
	return w.w.Write(p)
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Stop ends the server: SIGTERM, then SIGKILL if it has not exited within
// stopTimeout. It returns the exit error unless the server exited cleanly
// or had to be killed.
func (s *Server) Stop() error {
	if s == nil || s.cmd == nil {
		return nil
	}
	select {
	case <-s.exited:
	default:
		s.cmd.Process.Signal(syscall.SIGTERM)
		t := time.NewTimer(stopTimeout)
		select {
		case <-s.exited:
			t.Stop()
		case <-t.C:
			s.cmd.Process.Kill()
			<-s.exited
			return fmt.Errorf("%s did not stop within %v of SIGTERM; killed", s.Name, stopTimeout)
		}
	}
	var ee *exec.ExitError
	if errors.As(s.err, &ee) && !ee.Exited() {
		return fmt.Errorf("%s ended by %v", s.Name, ee)
	}
	if s.err != nil {
		return fmt.Errorf("%s: %w", s.Name, s.err)
	}
	return nil
}

// Exited reports whether the process has ended.
func (s *Server) Exited() bool {
	select {
	case <-s.exited:
		return true
	default:
		return false
	}
}

// serverEnv is this process's environment without CHATD_* variables, so
// that chatd runs on its defaults and the config file alone.
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CHATD_") {
			env = append(env, kv)
		}
	}
	return env
}
