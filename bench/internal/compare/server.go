package compare

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/chatd/chatd/internal/serverproc"
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

	pprof string // a benchprofile build's pprof address
	proc  *serverproc.Process
	logf  *os.File
}

// chatdConfig is what compare sets beyond what serverproc.StartChatd
// writes (where it listens and keeps its files).
var chatdConfig = fmt.Sprintf("# written by bench/compare: chatd's defaults except where it listens,\n"+
	"# how many clients it takes and where it keeps its files.\nmax_clients: %d\n", chatdMaxClients)

// StartChatd starts chatd as shipped — `chatd run` with the default info
// logging on stderr, a pipe drained into a file — on 127.0.0.1:0, with its
// admin socket, state and config in dir.
func StartChatd(ctx context.Context, bin, dir string) (*Server, error) {
	return startChatd(ctx, bin, dir, nil)
}

func startChatd(ctx context.Context, bin, dir string, env []string) (*Server, error) {
	s, err := newServer(NameChatd, dir)
	if err != nil {
		return nil, err
	}
	c, err := serverproc.StartChatd(serverproc.ChatdOptions{Binary: bin, Dir: dir,
		Config: chatdConfig, Env: env, Output: s.logf})
	if err != nil {
		s.logf.Close()
		return nil, err
	}
	s.Admin = c.Socket
	return s, s.started(ctx, c.Process)
}

// baselineListening recognises the baseline's "listening on ADDR" line.
func baselineListening(line []byte) (string, bool) {
	if m := baselineListeningRE.FindSubmatch(line); m != nil {
		return string(m[1]), true
	}
	return "", false
}

var baselineListeningRE = regexp.MustCompile(`^listening on (\S+)`)

// StartBaseline starts the baseline on 127.0.0.1:0; its output goes to a
// file in dir.
func StartBaseline(ctx context.Context, bin, dir string) (*Server, error) {
	s, err := newServer(NameBaseline, dir)
	if err != nil {
		return nil, err
	}
	p, err := serverproc.Start(serverproc.Spec{Name: NameBaseline,
		Argv: []string{bin, "-addr", "127.0.0.1:0"}, Output: s.logf, Listening: baselineListening})
	if err != nil {
		s.logf.Close()
		return nil, err
	}
	return s, s.started(ctx, p)
}

// newServer makes dir and the log file in it.
func newServer(name, dir string) (*Server, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	s := &Server{Name: name, Log: filepath.Join(dir, name+".log")}
	var err error
	if s.logf, err = os.Create(s.Log); err != nil {
		return nil, err
	}
	return s, nil
}

// started waits until p listens, within startTimeout.
func (s *Server) started(ctx context.Context, p *serverproc.Process) error {
	s.proc, s.PID = p, p.Pid()
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	addr, err := p.WaitListening(ctx)
	if err != nil {
		s.Stop()
		return fmt.Errorf("%w; see %s", err, s.Log)
	}
	s.Addr = addr
	return nil
}

// Stop ends the server: SIGTERM, then SIGKILL if it has not exited within
// stopTimeout. It returns the exit error unless the server exited cleanly
// or had to be killed.
func (s *Server) Stop() error {
	if s == nil || s.proc == nil {
		return nil
	}
	err := s.proc.Stop(stopTimeout)
	s.logf.Close() // the process has ended and its output is copied
	return err
}

// Exited reports whether the process has ended.
func (s *Server) Exited() bool { return s.proc.Exited() }
