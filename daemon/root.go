package main

import (
	"github.com/spf13/cobra"

	"github.com/chatd/chatd/internal/clidocs"
	"github.com/chatd/chatd/internal/cliutil"
	"github.com/chatd/chatd/internal/signals"
)

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "chatd",
		Short: "chatd is a TCP chat server that answers every client in CAPITALS",
		Long: `chatd is a TCP chat server. Every client that connects gets its own
messages back in capitals, at once, independently of every other client.
A client ends its connection by sending CLOSE SOCKET. The server never stops
because of a client.

Run it in the foreground with built-in defaults (127.0.0.1:5605):

  chatd run

and talk to it with the chat client, nc or telnet.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRun: func(cmd *cobra.Command, _ []string) {
			if cmd.Annotations[handlesSignals] == "" {
				signals.Release()
			}
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &usageError{msg: err.Error()}
	})
	root.AddCommand(newRunCmd(), newConfigCmd(), newServiceCmd())
	cliutil.AddVersion(root)
	root.AddCommand(clidocs.Command("8"))
	return root
}
