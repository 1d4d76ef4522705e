package main

import (
	"os"
	"runtime/debug"
)

// crashForTheServiceManager makes a fatal error (a panic outside any
// connection, a concurrent map write, running out of memory in the runtime)
// end chatd by SIGABRT instead of Go's exit status 2, when a service
// manager runs it. The unit stops restarting on status 2, because that is
// how chatd says its configuration is bad; a crash must be restarted
// instead, so that the connections it holds in systemd's descriptor store
// are served again (see "What survives a restart" in the README).
func crashForTheServiceManager() {
	if os.Getenv("NOTIFY_SOCKET") != "" {
		debug.SetTraceback("crash")
	}
}
