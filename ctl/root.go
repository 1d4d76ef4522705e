package main

import (
	"github.com/spf13/cobra"

	"github.com/chatd/chatd/internal/admin/adminclient"
	"github.com/chatd/chatd/internal/clidocs"
	"github.com/chatd/chatd/internal/cliutil"
)

// app holds what every subcommand shares: where the socket is.
type app struct {
	socketFlag string
	configFlag string
	hostFlags  []string
}

func newRootCmd() *cobra.Command {
	a := &app{}
	root := &cobra.Command{
		Use:   "chatctl",
		Short: "chatctl controls a running chatd: list and kick clients, show status",
		Long: `chatctl talks to a running chatd over its admin Unix socket. It lists the
connected clients, kicks clients and shows the daemon's status.

The socket is, in order: --socket, $CHATD_ADMIN_SOCKET, admin.socket in
chatd's config file, else chatd's default (/run/chatd/admin.sock for root,
$XDG_RUNTIME_DIR/chatd/admin.sock otherwise). Root, the user chatd runs as
and the members of admin.group may use it.

--host ssh://[user@]host[:port] (repeatable, or $CHATCTL_HOST, comma
separated) talks to the chatd on other hosts instead, through the system
ssh client (your ~/.ssh/config, keys, agent and known_hosts; no password
prompts), which runs chatctl there: the SSH user's rights on that host
decide. --socket and --config then name the socket or config file there.
list, status and kick take several hosts at once.

Exit status: 0 success; 1 chatd could not be reached, refused or failed;
2 usage or configuration mistake; 3 kick found a client not connected.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(cliutil.FlagErrors)
	pf := root.PersistentFlags()
	pf.StringVar(&a.socketFlag, "socket", "", "chatd's admin socket (default: see above)")
	pf.StringVar(&a.configFlag, "config", "", "chatd's config file, read for admin.socket (default: the files chatd reads)")
	pf.StringSliceVar(&a.hostFlags, "host", nil, "ssh://[user@]host[:port] of a chatd to talk to over SSH; repeatable (default: $"+envHost+", else this host's chatd)")
	root.AddCommand(newListCmd(a), newKickCmd(a), newStatusCmd(a), newReloadCmd(a), newDialStdioCmd(a), newRestartCmd(a))
	cliutil.AddVersion(root)
	root.AddCommand(clidocs.Command("8"))
	return root
}

// client connects to the socket the flags, environment and config name.
func (a *app) client() (*adminclient.Client, error) {
	sock, err := a.resolveSocket()
	if err != nil {
		return nil, err
	}
	c := adminclient.New(sock.path)
	c.Group, c.GroupKnown, c.OwnDefault = sock.group, sock.groupKnown, sock.own
	return c, nil
}
