//go:build unix

package chatclient

import (
	"os"
	"os/signal"
	"syscall"
)

func notifyResize() (<-chan os.Signal, func()) {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGWINCH)
	return c, func() { signal.Stop(c) }
}
