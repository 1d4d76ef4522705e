// Package signals catches the signals `chatd run` handles from the first
// instant of the process, before the configuration is read or anything
// else is set up: Go's default for an uncaught SIGHUP, SIGINT or SIGTERM
// is to exit, so a reload sent the moment chatd was started (systemctl
// reload right after start, a script) would kill it. What arrives early
// waits in Caught until the daemon is ready to act on it.
//
// The package catches them in its init, which runs before the init of
// the heavier packages chatd links (viper, cobra, Prometheus, kardianos):
// chatd's main package imports it for that reason alone, and commands
// other than `chatd run` call Release to get the default behaviour back.
//
// It also catches SIGPIPE: a Go program that does not is killed by the
// first write to a stdout or stderr whose reader has gone (`chatd run
// 2>&1 | tee log`, then tee ends). Caught, such a write fails with EPIPE
// instead, and the logger counts the line as dropped.
package signals

import (
	"os"
	"os/signal"
	"syscall"
)

// Handled are the signals the daemon acts on: SIGHUP reloads, SIGINT and
// SIGTERM drain, SIGUSR2 restarts in place (a foreground chatd's upgrade).
var Handled = []os.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM, syscall.SIGUSR2}

var (
	// caught holds what arrived until the daemon reads it. A burst larger
	// than this loses only repeats, which a reload or a stop covers.
	caught = make(chan os.Signal, 16)
	// brokenPipe takes SIGPIPE so that the runtime does not exit on it;
	// nobody reads it (the failed write says all).
	brokenPipe = make(chan os.Signal, 1)
)

func init() {
	signal.Notify(caught, Handled...)
	signal.Notify(brokenPipe, syscall.SIGPIPE)
	// After a restart in place: what the previous image caught and had
	// not acted on yet (exec.go).
	takePending()
}

// Caught delivers the handled signals, from the first one that arrived
// since the process started.
func Caught() <-chan os.Signal { return caught }

// Release gives the handled signals and SIGPIPE their default behaviour
// back, for commands that run and exit (config check, service status):
// Ctrl-C ends them, a closed pipe ends `chatd config show | head`. A
// signal that arrived before the release gets its default action now.
func Release() {
	signal.Reset(append(Handled, syscall.SIGPIPE)...)
	for {
		select {
		case sig := <-caught:
			if s, ok := sig.(syscall.Signal); ok {
				syscall.Kill(os.Getpid(), s)
			}
		default:
			return
		}
	}
}
