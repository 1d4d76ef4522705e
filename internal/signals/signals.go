// Package signals catches SIGPIPE for `chatd run`: a Go program that does
// not is killed by the first write to a stdout or stderr whose reader has
// gone (`chatd run 2>&1 | tee log`, then tee ends). Caught, such a write
// fails with EPIPE instead, and the logger counts the line as dropped.
// Commands other than `chatd run` call Release to get the default
// behaviour back.
package signals

import (
	"os"
	"os/signal"
	"syscall"
)

var (
	// brokenPipe takes SIGPIPE so that the runtime does not exit on it;
	// nobody reads it (the failed write says all).
	brokenPipe = make(chan os.Signal, 1)
)

func init() {
	signal.Notify(brokenPipe, syscall.SIGPIPE)
}

// Release gives SIGPIPE its default behaviour back, for commands that run
// and exit: a closed pipe ends `chatd config show | head`.
func Release() { signal.Reset(syscall.SIGPIPE) }
