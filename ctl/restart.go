package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/chatd/chatd/internal/admin/adminapi"
	"github.com/chatd/chatd/internal/admin/adminclient"
	"github.com/chatd/chatd/internal/cliutil"
)

// restartPoll is how often chatctl restart asks whether the new process
// answers.
const restartPoll = 50 * time.Millisecond

func newRestartCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "restart",
		Short: "Restart chatd without disconnecting anyone",
		Long: `Restart chatd on purpose (after an upgrade of its binary, say): connected
clients stay connected, keep their IDs and lose nothing; new connections
wait and are then served. Under systemd chatd hands everything to the next
process through systemd's descriptor store (as systemctl restart chatd
does); without systemd it re-executes itself in place (as SIGUSR2 does).
Settings read only at start (listen, admin.*, state_dir) take effect.

chatctl restart returns once the new process answers, so that the next
command reaches it. If the restart fails (the binary was removed, is not
executable, or the exec is refused), chatd serves every client on as
before, and chatctl restart says why and exits 1; so it does when no new
process answers within --timeout.`,
		Args: cliutil.NoArgs,
	}
	out := addOutputFlag(cmd, "text", "json")
	timeout := cmd.Flags().Duration("timeout", time.Minute, "how long to wait for the new process to answer")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if *timeout <= 0 {
			return cliutil.Usagef("--timeout must be positive, not %v", *timeout)
		}
		t, err := a.oneTarget("restart")
		if err != nil {
			return err
		}
		defer t.client.Close()
		res, err := t.client.Restart(cmd.Context())
		if err != nil {
			return t.explain(err)
		}
		if res.Image == "" {
			// A chatd that cannot say when it is back: as it always was.
			if out.value == "json" {
				return printJSON(cmd.OutOrStdout(), res)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "chatd (pid %d) is restarting (%s); its %d clients stay connected\n", res.PID, cliutil.Printable(res.How), res.Clients)
			return err
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), *timeout)
		defer cancel()
		now, err := waitRestarted(ctx, t.client, res)
		if err != nil {
			return t.explain(err)
		}
		if out.value == "json" {
			return printJSON(cmd.OutOrStdout(), now)
		}
		_, err = fmt.Fprintf(cmd.OutOrStdout(), "chatd restarted (%s): pid %d now, %d clients connected\n", cliutil.Printable(res.How), now.PID, now.Clients)
		return err
	}
	return cmd
}

// waitRestarted polls chatd until another image answers (the restart is
// done), the one asked reports one more failure (it serves on: the error
// says why), or ctx ends.
func waitRestarted(ctx context.Context, c *adminclient.Client, asked adminapi.RestartResult) (adminapi.RestartState, error) {
	tick := time.NewTicker(restartPoll)
	defer tick.Stop()
	var last error
	for {
		st, err := c.RestartState(ctx)
		switch {
		case err == nil && st.Image != asked.Image && st.Ready:
			return st, nil
		case err == nil && st.Failures > asked.Failures:
			return st, cliutil.WithCode(cliutil.ExitFailure, fmt.Errorf("restart failed: %s; chatd (pid %d) serves its %d clients on as before",
				cliutil.Printable(st.LastError), st.PID, st.Clients))
		case isNotImplemented(err):
			// Another image answers, of a version that cannot say more.
			return adminapi.RestartState{PID: asked.PID, Clients: asked.Clients}, nil
		case err != nil:
			last = err // between the two images nothing answers
		}
		select {
		case <-ctx.Done():
			if last == nil {
				last = errors.New("it still answers as the process asked to restart")
			}
			return st, fmt.Errorf("chatd did not come back as a new process in time (%w); see its log", last)
		case <-tick.C:
		}
	}
}

// isNotImplemented tells an answer from a chatd without GET /v1/restart.
func isNotImplemented(err error) bool {
	var ae *adminclient.APIError
	return errors.As(err, &ae) && (ae.Status == 404 || ae.Status == 405 || ae.Status == 501)
}
