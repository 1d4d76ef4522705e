package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/chatd/chatd/internal/cliutil"
)

func newRestartCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "restart",
		Short: "Restart chatd without disconnecting anyone",
		Long: `Restart chatd on purpose (after an upgrade of its binary, say): connected
clients stay connected, keep their IDs and lose nothing; new connections
wait and are then served. Under systemd chatd hands everything to the next
process through systemd's descriptor store (as systemctl restart chatd
does); without systemd it re-executes itself in place (as SIGUSR2 does).
Settings read only at start (listen, admin.*, state_dir) take effect.`,
		Args: cliutil.NoArgs,
	}
	out := addOutputFlag(cmd, "text", "json")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		t, err := a.oneTarget("restart")
		if err != nil {
			return err
		}
		defer t.client.Close()
		res, err := t.client.Restart(cmd.Context())
		if err != nil {
			return t.explain(err)
		}
		if out.value == "json" {
			return printJSON(cmd.OutOrStdout(), res)
		}
		_, err = fmt.Fprintf(cmd.OutOrStdout(), "chatd (pid %d) is restarting (%s); its %d clients stay connected\n", res.PID, res.How, res.Clients)
		return err
	}
	return cmd
}
