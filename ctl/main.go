// Command chatctl is the command-line front end of chatd's admin API: it
// lists connected clients, kicks them and shows the daemon's status, over
// chatd's admin Unix socket. See `chatctl --help`.
//
// Exit status: 0 success; 1 chatd could not be reached, refused the
// request or failed; 2 a usage or configuration mistake; 3 `kick` found
// at least one of the given clients not connected.
package main

import (
	"os"

	"github.com/chatd/chatd/internal/cliutil"
)

func main() {
	// Everything chatctl prints may carry a server's strings (a remote
	// one's, with --host): all of it passes a TerminalWriter, so that no
	// string can drive the terminal, whichever command prints it.
	stdout, stderr := cliutil.NewTerminalWriter(os.Stdout), cliutil.NewTerminalWriter(os.Stderr)
	root := newRootCmd()
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	stdout.Flush()
	code := cliutil.Report(stderr, "chatctl", exitStatus(err))
	stderr.Flush()
	os.Exit(code)
}
