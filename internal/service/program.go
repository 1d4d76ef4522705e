package service

import (
	"errors"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	kservice "github.com/kardianos/service"
)

// Program is what Run runs: chatd's daemon, seen from the service manager.
type Program struct {
	// Start starts serving and returns at once (kardianos' rule).
	Start func() error
	// Stop drains and returns when done.
	Stop func() error
	// Reload re-reads the configuration (SIGHUP).
	Reload func()
	// Restart restarts in place, handing the clients over (SIGUSR2); it
	// reports whether the process serves on (false: stop now). Nil
	// ignores the signal.
	Restart func() (serving bool)
	// Log receives one line per signal.
	Log *slog.Logger
	// Signals delivers SIGHUP, SIGINT and SIGTERM; nil subscribes to them
	// when Run begins. chatd passes what it caught from its first instant
	// (package signals), so that one sent before it was ready is acted
	// on once it is.
	Signals <-chan os.Signal
}

// Run runs p until SIGINT or SIGTERM: Start, then SIGHUP → Reload as often
// as it comes, then Stop. It returns Start's error, or Stop's.
//
// A second SIGINT or SIGTERM while Stop drains ends the process at once.
// Signals that came before Start returned are acted on right after it: a
// SIGHUP reloads, a SIGTERM stops.
// The same path serves the foreground and every service manager:
// kardianos' Interactive() cannot tell them apart reliably, and nothing
// here needs to.
func Run(p Program) error {
	if p.Log == nil {
		p.Log = slog.New(slog.DiscardHandler)
	}
	sigs := p.Signals
	if sigs == nil {
		own := make(chan os.Signal, 4)
		signal.Notify(own, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGUSR2)
		defer signal.Stop(own)
		sigs = own
	}
	wait := func() {
		for sig := range sigs {
			if sig == syscall.SIGHUP {
				p.Log.Info("signal received: reloading the configuration", "signal", sig.String())
				p.Reload()
				continue
			}
			if sig == syscall.SIGUSR2 {
				p.Log.Info("signal received: restarting in place", "signal", sig.String())
				if p.Restart == nil || p.Restart() {
					continue
				}
				return
			}
			p.Log.Info("signal received", "signal", sig.String())
			// A second SIGINT or SIGTERM during the drain ends chatd at
			// once, as an impatient operator expects.
			signal.Reset(syscall.SIGINT, syscall.SIGTERM)
			return
		}
	}
	svc, err := kservice.New(&adapter{p: p}, &kservice.Config{
		Name:   Name,
		Option: kservice.KeyValue{"RunWait": wait},
	})
	if errors.Is(err, kservice.ErrNoServiceSystemDetected) {
		if err := p.Start(); err != nil {
			return err
		}
		wait()
		return p.Stop()
	}
	if err != nil {
		return err
	}
	return svc.Run()
}

// adapter is a Program as kardianos' service.Interface.
type adapter struct{ p Program }

func (a *adapter) Start(kservice.Service) error { return a.p.Start() }
func (a *adapter) Stop(kservice.Service) error  { return a.p.Stop() }
