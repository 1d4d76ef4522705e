package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/chatd/chatd/internal/admin/adminapi"
	"github.com/chatd/chatd/internal/admin/adminclient"
	"github.com/chatd/chatd/internal/cliutil"
)

type kickOptions struct {
	reason string
	all    bool
	yes    bool
	ids    []uint64 // parsed from the arguments, duplicates dropped
}

func newKickCmd(a *app) *cobra.Command {
	o := &kickOptions{}
	cmd := &cobra.Command{
		Use:   "kick ID [ID...] | --all",
		Short: "Disconnect clients",
		Long: `Disconnect clients. Each is sent the kick notice (with --reason, if
given), then its connection is closed; other clients are not disturbed.
Each ID gets a result line. The exit status is 3 if any ID was not
connected.

--all kicks every connected client. On a terminal it asks first, unless
--yes; with stdin not a terminal it needs --yes.`,
		Example: `  chatctl kick 7
  chatctl kick 7 9 12 --reason "flooding"
  chatctl kick --all --yes --reason "maintenance"`,
		Args:              o.parseArgs,
		ValidArgsFunction: a.completeClientIDs,
	}
	f := cmd.Flags()
	f.StringVar(&o.reason, "reason", "", "reason given to the kicked clients")
	f.BoolVar(&o.all, "all", false, "kick every connected client")
	f.BoolVarP(&o.yes, "yes", "y", false, "with --all, do not ask for confirmation")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		c, err := a.client()
		if err != nil {
			return err
		}
		if o.all {
			return o.kickAll(cmd, c)
		}
		return o.kickIDs(cmd, c)
	}
	return cmd
}

// parseArgs checks the command line before anything is sent to chatd.
func (o *kickOptions) parseArgs(cmd *cobra.Command, args []string) error {
	switch {
	case o.all && len(args) > 0:
		return cliutil.Usagef("give client IDs or --all, not both")
	case !o.all && len(args) == 0:
		return cliutil.Usagef("give the ID of at least one client to kick, or --all (see chatctl list)")
	}
	if err := adminapi.CheckReason(o.reason); err != nil {
		return cliutil.Usage(err)
	}
	for _, arg := range args {
		id, err := adminapi.ParseID(arg)
		if err != nil {
			return cliutil.Usage(err)
		}
		if !slices.Contains(o.ids, id) {
			o.ids = append(o.ids, id)
		}
	}
	if o.all && !o.yes && !isTerminal(cmd.InOrStdin()) {
		return cliutil.Usagef("kick --all asks for confirmation, and stdin is not a terminal: add --yes")
	}
	return nil
}

// kickIDs kicks the given clients one by one and reports each.
func (o *kickOptions) kickIDs(cmd *cobra.Command, c *adminclient.Client) error {
	missing := 0
	for _, id := range o.ids {
		res, err := c.Kick(cmd.Context(), id, o.reason)
		var nc *adminclient.NotConnectedError
		switch {
		case errors.As(err, &nc):
			fmt.Fprintf(cmd.ErrOrStderr(), "chatctl: client %d is not connected\n", id)
			missing++
		case err != nil:
			return err
		default:
			fmt.Fprintln(cmd.OutOrStdout(), kickedLine(res))
		}
	}
	if missing > 0 {
		return cliutil.Silent(exitNotConnected)
	}
	return nil
}

// kickAll kicks every client connected now, after confirmation.
func (o *kickOptions) kickAll(cmd *cobra.Command, c *adminclient.Client) error {
	clients, err := c.Clients(cmd.Context())
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if len(clients) == 0 {
		fmt.Fprintln(out, "no clients connected")
		return nil
	}
	if !o.yes {
		question := fmt.Sprintf("Kick all %s? [y/N] ", plural(len(clients), "connected client"))
		if !confirm(cmd.InOrStdin(), cmd.ErrOrStderr(), question) {
			return errors.New("aborted: no client was kicked")
		}
	}
	for _, cl := range clients {
		res, err := c.Kick(cmd.Context(), cl.ID, o.reason)
		var nc *adminclient.NotConnectedError
		switch {
		case errors.As(err, &nc):
			// It left between the listing and its kick: gone either way.
			fmt.Fprintf(out, "client %d had already left\n", cl.ID)
		case err != nil:
			return err
		default:
			fmt.Fprintln(out, kickedLine(res))
		}
	}
	return nil
}

func kickedLine(res adminapi.KickResult) string {
	if !res.Disconnected {
		return fmt.Sprintf("kicked client %d (still closing)", res.ID)
	}
	return fmt.Sprintf("kicked client %d", res.ID)
}

// confirm asks question on w and reads a yes from r.
func confirm(r io.Reader, w io.Writer, question string) bool {
	fmt.Fprint(w, question)
	line, _ := bufio.NewReader(r).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true
	}
	return false
}

// isTerminal reports whether r is a terminal (a person who can answer).
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
