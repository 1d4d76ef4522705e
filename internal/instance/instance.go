// Package instance assembles a running chatd from its configuration: the chat
// listener and server, the client registry, and the admin API. It is what
// `chatd run` (in the foreground or under a service manager) starts and
// stops.
package instance

import (
	"context"
	"net"
	"os"
	"sync"
	"time"

	"github.com/chatd/chatd/internal/admin"
	"github.com/chatd/chatd/internal/chatlisten"
	"github.com/chatd/chatd/internal/config"
	"github.com/chatd/chatd/internal/idstate"
	"github.com/chatd/chatd/internal/logging"
	"github.com/chatd/chatd/internal/registry"
	"github.com/chatd/chatd/internal/server"
)

// Instance is one running chatd.
type Instance struct {
	log *logging.Logger
	ids *idstate.Source
	reg *registry.Registry
	srv *server.Server

	mu        sync.Mutex
	cfg       *config.Config
	started   time.Time
	ln        net.Listener    // the first chat listener (Addr)
	listeners *chatlisten.Set // every chat listener, and the TLS certificate
	served    chan error
	admin     *admin.Server
	// adminDirs are the directories chatd made for the admin socket, to
	// remove at exit when empty.
	adminDirs []string

	reload   reloadState
	surv     survival      // survive.go
	restarts restartRecord // restartstate.go
}

// New prepares a daemon; nothing listens until Start.
func New(cfg *config.Config, log *logging.Logger) *Instance {
	ids := idstate.Open(cfg.StateDir, idstate.DefaultBlock, log.Logger)
	reg := registry.New(ids)
	return &Instance{
		log: log,
		ids: ids,
		reg: reg,
		srv: newServer(reg, log, cfg),
		cfg: cfg,
	}
}

func newServer(reg *registry.Registry, log *logging.Logger, cfg *config.Config) *server.Server {
	warnIfMaxClientsLowered(log.Logger, cfg.MaxClients)
	return server.New(reg, log.Logger, settingsOf(cfg))
}

// settingsOf picks the server's live tunables out of a config.
func settingsOf(cfg *config.Config) server.Settings {
	return server.Settings{
		MaxClients:   fitMaxClients(cfg.MaxClients),
		WriteTimeout: cfg.WriteTimeout,
		IdleTimeout:  cfg.IdleTimeout,
		Greeting:     cfg.Greeting,
		KickNotice:   cfg.Notices.Kick,
		ShutdownNote: cfg.Notices.Shutdown,
		IdleNotice:   cfg.Notices.Idle,
		FullNotice:   cfg.Notices.ServerFull,

		MaxClientsPerSource: cfg.MaxClientsPerSource,
		SourceFullNotice:    cfg.Notices.SourceFull,
	}
}

// Start opens the chat listener and the admin socket and starts serving in
// the background. It does not block. If the admin socket cannot be set up
// (another chatd serves it, say), nothing is left listening.
func (d *Instance) Start() error {
	if err := d.ids.Err(); err != nil {
		return err
	}
	d.restarts.ready.Store(false)
	d.setUpSurvival()
	set, err := d.openListeners(context.Background())
	if err != nil {
		return err
	}
	ln := set.Listeners[0].Listener
	d.mu.Lock()
	d.ln = ln
	d.listeners = set
	d.started = time.Now()
	d.served = make(chan error, len(set.Listeners))
	d.mu.Unlock()
	if err := d.startAdmin(); err != nil {
		set.Close()
		d.mu.Lock()
		d.ln, d.listeners = nil, nil
		d.mu.Unlock()
		return err
	}
	d.takeBack()
	d.keepConfig()
	d.serveListeners(set)
	d.log.Info("chatd started", "listen", ln.Addr().String(), "listeners", listenerNames(set),
		"max_clients", d.srv.Settings().MaxClients, "pid", os.Getpid(), "config", configName(d.cfg.File))
	d.restarts.ready.Store(true)
	d.notifyReady()
	return nil
}

func configName(f string) string {
	if f == "" {
		return "(none: built-in defaults)"
	}
	return f
}

// Addr is the chat listener's address (useful with port 0).
func (d *Instance) Addr() net.Addr {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ln == nil {
		return nil
	}
	return d.ln.Addr()
}

// Registry is the daemon's client registry.
func (d *Instance) Registry() *registry.Registry { return d.reg }

// Server is the daemon's chat server.
func (d *Instance) Server() *server.Server { return d.srv }

// Config returns the config in force.
func (d *Instance) Config() *config.Config {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cfg
}

// StartedAt is when Start succeeded.
func (d *Instance) StartedAt() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.started
}

// Stop drains the daemon: no new clients, every client gets the shutdown
// notice and is closed, within the configured shutdown_grace.
func (d *Instance) Stop() error {
	if d.restartPlanned() {
		return d.handOver()
	}
	grace := d.Config().ShutdownGrace
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	n := d.reg.Len()
	d.log.Info("chatd stopping", "clients", n, "grace", grace.String())
	d.notifyStopping()
	// The admin API goes first: no kicks or listings while clients drain.
	d.stopAdmin()
	err := d.srv.Shutdown(ctx)
	if err != nil {
		d.log.Warn("shutdown grace ran out; remaining connections were closed", "grace", grace.String())
	}
	d.discardHeld()
	d.ids.Close()
	d.log.Info("chatd stopped")
	d.flushLog(ctx)
	return nil
}

// Bounds on writing out the log at the end of Stop: what the remaining
// grace allows, but never more than maxLogFlush (a stuck stderr must not
// turn a quick stop into a slow one) and at least minLogFlush (a drain
// that used all its grace still gets its last lines out to a working log).
const (
	maxLogFlush = time.Second
	minLogFlush = 100 * time.Millisecond
)

// flushLog writes out the queued log lines within the bounds above.
func (d *Instance) flushLog(grace context.Context) {
	bound := maxLogFlush
	if deadline, ok := grace.Deadline(); ok {
		bound = min(bound, max(minLogFlush, time.Until(deadline)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	d.log.Close(ctx)
}
