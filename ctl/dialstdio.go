package main

import (
	"io"
	"net"

	"github.com/spf13/cobra"

	"github.com/chatd/chatd/internal/cliutil"
)

// newDialStdioCmd is what `chatctl --host ssh://HOST` runs on HOST: it
// joins its stdin and stdout to the admin socket there. The admin API
// checks the peer credentials of this process, so the SSH user's own
// rights decide, as if they had run chatctl on the host.
func newDialStdioCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:    "dial-stdio",
		Short:  "Join stdin and stdout to chatd's admin socket (what --host runs on the host)",
		Hidden: true,
		Args:   cliutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(a.hostFlags) > 0 {
				return cliutil.Usagef("dial-stdio joins the admin socket of this host; it takes no --host")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			conn, err := c.Dial(cmd.Context())
			if err != nil {
				return err
			}
			defer conn.Close()
			// The answers go to the chatctl at the other end of ssh as
			// they are: that one makes them printable.
			return splice(conn, cmd.InOrStdin(), cliutil.RawWriter(cmd.OutOrStdout()))
		},
	}
}

// splice copies in to conn and conn to out until chatd closes the
// connection. The end of in is passed on as the end of the requests, and
// chatd closes the connection when it has answered them.
func splice(conn net.Conn, in io.Reader, out io.Writer) error {
	go func() {
		io.Copy(conn, in)
		if cw, ok := conn.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
	}()
	_, err := io.Copy(out, conn)
	return err
}
