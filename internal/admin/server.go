// Package admin is chatd's admin API: HTTP/1.1 and JSON on a Unix domain
// socket, separate from the chat port, in the manner of Docker's socket and
// tailscale's LocalAPI. It lists connected clients, kicks them, reports the
// daemon's status and serves Prometheus metrics. Every request is
// authorized by the caller's peer credentials: root, the daemon's own user
// and the members of admin.group may use it; everyone else gets 403.
package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/chatd/chatd/internal/admin/adminapi"
	"github.com/chatd/chatd/internal/idstate"
	"github.com/chatd/chatd/internal/registry"
)

// Limits that keep a slow or hostile admin client from tying the server up.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	// writeTimeout leaves room for a kick's wait for the client to go.
	writeTimeout   = kickWait + 10*time.Second
	idleTimeout    = 60 * time.Second
	maxHeaderBytes = 8 << 10
	// maxBodyBytes: only the bulk kick takes a body (it has a limit of its
	// own); a little slack for clients that send an empty JSON object to
	// the others anyway.
	maxBodyBytes = 1 << 10
)

// Clients is the client registry as the API sees it; *registry.Registry
// implements it.
type Clients interface {
	Snapshot() []registry.Info
	Totals() registry.Totals
	Get(id uint64) (registry.Info, bool)
	Kick(id uint64, reason string) error
	KickMany(all bool, ids []uint64, reason string) (kicked []registry.Kicked, missing []uint64)
	Len() int
	Total() uint64
}

// Counters are the chat server's cumulative counters at one moment.
type Counters struct {
	AcceptErrors   uint64
	Rejected       uint64
	SourceFull     uint64 // turned away by max_clients_per_source
	ClosedBytesIn  uint64 // bytes of connections that have ended
	ClosedBytesOut uint64
	Disconnects    map[string]uint64 // by reason, every reason present
	LogDropped     uint64            // log lines lost to a slow or broken log output
	Survival       adminapi.Survival // restart survival
	// Handshakes are the listeners' pending and failed handshakes, per
	// kind ("proxy", "tls"), every failure reason present.
	Handshakes []adminapi.Handshakes
	// RestartFailures counts restarts that failed and left this process
	// serving on.
	RestartFailures uint64
}

// Info describes the running daemon for the status endpoint and metrics.
type Info struct {
	Version    string
	PID        int
	StartedAt  time.Time
	Listen     string
	ConfigFile string
	MaxClients int
}

// Options configure the admin server.
type Options struct {
	Socket string      // path of the Unix socket
	Mode   os.FileMode // permissions of the socket file
	Group  string      // group of the socket and of its users; "" for none

	Clients  Clients
	Counters func() Counters // read at request and scrape time
	Info     func() Info
	// IDs reports whether client IDs are being saved; nil for a registry
	// that keeps them in memory only.
	IDs func() idstate.State
	// Reload re-reads the daemon's configuration (POST /v1/reload); nil
	// answers 501.
	Reload ReloadFunc
	// Restart starts a planned restart (POST /v1/restart); nil answers 501.
	Restart RestartFunc
	// RestartState tells which image answers and how restarts fared
	// (GET /v1/restart); nil answers 501.
	RestartState func() adminapi.RestartState

	Log *slog.Logger
}

// Server is a running admin API.
type Server struct {
	opts   Options
	log    *slog.Logger
	policy policy
	bytes  monotonicBytes

	metrics http.Handler
	table   []route
	http    *http.Server
	socket  *socketFile
	served  chan error

	shutdownOnce sync.Once
	shutdownErr  error
}

// Start sets up the socket (see listenSocket for what it checks and
// refuses) and serves the API in the background until Shutdown.
func Start(opts Options) (*Server, error) {
	s, err := newServer(opts)
	if err != nil {
		return nil, err
	}
	gid := -1
	if opts.Group != "" {
		gid = int(s.policy.gid)
	}
	ln, own, removedStale, err := listenSocket(opts.Socket, opts.Mode, gid)
	if err != nil {
		return nil, err
	}
	if removedStale {
		s.log.Info("removed stale admin socket left by an earlier chatd", "socket", opts.Socket)
	}
	s.socket = own
	limited := newConnLimit(ln, maxConns, s.log)
	s.http = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ConnContext:       connContext,
		ConnState:         connState,
		// "OPTIONS *" would otherwise get net/http's own 200, bypassing
		// the handler and so the authorization of every request.
		DisableGeneralOptionsHandler: true,
		ErrorLog:                     slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	s.served = make(chan error, 1)
	go func() { s.served <- s.http.Serve(limited) }()
	s.log.Info("admin API listening", "socket", opts.Socket, "mode", fmt.Sprintf("%04o", opts.Mode),
		"group", opts.Group)
	return s, nil
}

// newServer checks the options and builds a server that does not listen
// yet.
func newServer(opts Options) (*Server, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	p, err := newPolicy(uint32(os.Geteuid()), opts.Group)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, log: opts.Log, policy: p}
	s.metrics = metricsHandler(s)
	s.table = s.routes()
	return s, nil
}

// Shutdown stops accepting, waits for requests in progress until ctx ends,
// and removes the socket if it is still ours. Later calls return the
// first one's result.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdownOnce.Do(func() { s.shutdownErr = s.shutdown(ctx) })
	return s.shutdownErr
}

func (s *Server) shutdown(ctx context.Context) error {
	err := s.http.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		s.http.Close()
	}
	if serr := <-s.served; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		s.log.Warn("admin API stopped with an error", "err", serr.Error())
	}
	if rerr := s.socket.remove(); rerr != nil {
		return errors.Join(err, rerr)
	}
	return err
}
