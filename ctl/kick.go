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
	ids    []hostID // parsed from the arguments, duplicates dropped
	filter *clientFilter
}

// hostID is a client to kick: ID, or HOST/ID with several hosts.
type hostID struct {
	host string // "" when not given
	id   uint64
}

func newKickCmd(a *app) *cobra.Command {
	o := &kickOptions{}
	cmd := &cobra.Command{
		Use:   "kick ID|HOST/ID [...] | --all | --remote CIDR --idle-over D ...",
		Short: "Disconnect clients",
		Long: `Disconnect clients. Each is sent the kick notice (with --reason, if
given), then its connection is closed; other clients are not disturbed.
Each ID gets a result line. The exit status is 3 if any ID was not
connected.

--all kicks every connected client. On a terminal it asks first, unless
--yes; with stdin not a terminal it needs --yes. Answering anything but
y or yes kicks nobody and exits 1.

--remote, --idle-over, --sort and --limit (as for chatctl list) kick the
clients they select; the question says how many that is, of how many
connected, and the same confirmation rules apply.

All the clients are kicked in one request and close concurrently: the
answer comes when all are gone, or after chatd's wait (2 s, its kick
notice timeout, for all of them together); a client that has not
finished closing by then, one that does not read, is shown as "still
closing" and closed by chatd shortly after.

With several --host, an ID is HOST/ID, HOST as list's HOST column shows
it, and the result lines start with the host; --all kicks every client on
every host, and its question names the hosts. A host that cannot be
reached is one line on stderr and exit status 1; the others are kicked
all the same.`,
		Example: `  chatctl kick 7
  chatctl kick 7 9 12 --reason "flooding"
  chatctl kick --all --yes --reason "maintenance"
  chatctl --host ssh://web1 --host ssh://web2 kick web1/7 web2/3
  chatctl --host ssh://web1 --host ssh://web2 kick --all
  chatctl kick --remote 203.0.113.0/24 --idle-over 10m`,
		Args:              o.parseArgs,
		ValidArgsFunction: a.completeClientIDs,
	}
	f := cmd.Flags()
	f.StringVar(&o.reason, "reason", "", "reason given to the kicked clients")
	f.BoolVar(&o.all, "all", false, "kick every connected client")
	f.BoolVarP(&o.yes, "yes", "y", false, "with --all or filters, do not ask for confirmation")
	o.filter = addFilterFlags(cmd, true)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		ts, err := a.targets()
		if err != nil {
			return err
		}
		defer closeAll(ts)
		byHost, err := o.idsByHost(ts)
		if err != nil {
			return err
		}
		filtered := o.filtered(cmd)
		if len(ts) > 1 {
			if filtered {
				return cliutil.Usagef("kick with filters works on one chatd at a time: give one --host")
			}
			return o.kickHosts(cmd, ts, byHost)
		}
		t := ts[0]
		if o.all {
			return t.explain(o.kickAll(cmd, t.client))
		}
		if filtered {
			return t.explain(o.kickSelected(cmd, t.client))
		}
		return t.explain(o.kickIDs(cmd, t.client, byHost[t.host]))
	}
	return cmd
}

// parseArgs checks the command line before anything is sent to chatd.
func (o *kickOptions) parseArgs(cmd *cobra.Command, args []string) error {
	filtered := o.filtered(cmd)
	switch {
	case o.all && len(args) > 0:
		return cliutil.Usagef("give client IDs or --all, not both")
	case filtered && (o.all || len(args) > 0):
		return cliutil.Usagef("give client IDs, --all or filters (--remote, --idle-over, --sort, --limit), not more than one")
	case !o.all && !filtered && len(args) == 0:
		return cliutil.Usagef("give the ID of at least one client to kick, --all, or filters such as --remote (see chatctl list)")
	}
	if filtered {
		if _, err := o.filter.query(); err != nil {
			return err
		}
	}
	if err := adminapi.CheckReason(o.reason); err != nil {
		return cliutil.Usage(err)
	}
	for _, arg := range args {
		var hid hostID
		idArg := arg
		if i := strings.LastIndexByte(arg, '/'); i >= 0 {
			hid.host, idArg = arg[:i], arg[i+1:]
		}
		id, err := adminapi.ParseID(idArg)
		if err != nil {
			return cliutil.Usage(err)
		}
		hid.id = id
		if !slices.Contains(o.ids, hid) {
			o.ids = append(o.ids, hid)
		}
	}
	if o.all && !o.yes && !isTerminal(cmd.InOrStdin()) {
		return cliutil.Usagef("kick --all asks for confirmation, and stdin is not a terminal: add --yes")
	}
	if filtered && !o.yes && !isTerminal(cmd.InOrStdin()) {
		return cliutil.Usagef("kick with filters asks for confirmation, and stdin is not a terminal: add --yes")
	}
	return nil
}

// kickIDs kicks the given clients in one request and reports each.
func (o *kickOptions) kickIDs(cmd *cobra.Command, c *adminclient.Client, ids []uint64) error {
	res, err := c.KickMany(cmd.Context(), adminapi.BulkKick{IDs: ids, Reason: o.reason})
	if err != nil {
		return err
	}
	if printKickResults(cmd.OutOrStdout(), cmd.ErrOrStderr(), "", res) > 0 {
		return cliutil.Silent(exitNotConnected)
	}
	return nil
}

// kickAll kicks every client connected now, after confirmation, in one
// request. Declining the confirmation kicks nobody and exits 1.
func (o *kickOptions) kickAll(cmd *cobra.Command, c *adminclient.Client) error {
	out := cmd.OutOrStdout()
	if !o.yes {
		st, err := c.Status(cmd.Context())
		if err != nil {
			return err
		}
		if st.ClientsConnected == 0 {
			fmt.Fprintln(out, "no clients connected")
			return nil
		}
		question := fmt.Sprintf("Kick all %s? [y/N] ", plural(st.ClientsConnected, "connected client"))
		if !confirm(cmd.InOrStdin(), cmd.ErrOrStderr(), question) {
			return errors.New("aborted: no client was kicked")
		}
	}
	res, err := c.KickMany(cmd.Context(), adminapi.BulkKick{All: true, Reason: o.reason})
	if err != nil {
		return err
	}
	if len(res.Results) == 0 {
		fmt.Fprintln(out, "no clients connected")
		return nil
	}
	printKickResults(out, cmd.ErrOrStderr(), "", res)
	return nil
}

// filtered reports whether a selecting flag was given (even one that
// selects everything, such as --sort alone: the operator asked to kick a
// selection, so it is confirmed as one).
func (o *kickOptions) filtered(cmd *cobra.Command) bool {
	for _, name := range []string{"remote", "idle-over", "sort", "limit"} {
		if cmd.Flags().Changed(name) {
			return true
		}
	}
	return false
}

// kickSelected kicks the clients the filters select now, after
// confirmation, in one request. A selected client that leaves before the
// kick reaches it is not an error: it is gone, as asked.
func (o *kickOptions) kickSelected(cmd *cobra.Command, c *adminclient.Client) error {
	out := cmd.OutOrStdout()
	q, err := o.filter.query()
	if err != nil {
		return err
	}
	list, err := c.ListClients(cmd.Context(), q)
	if err != nil {
		return err
	}
	if len(list.Clients) == 0 {
		fmt.Fprintf(out, "no client matches (%s connected)\n", plural(list.Total, "client"))
		return nil
	}
	ids := make([]uint64, len(list.Clients))
	for i, cl := range list.Clients {
		ids[i] = cl.ID
	}
	if !o.yes {
		question := fmt.Sprintf("Kick %d of %s? [y/N] ", len(ids), plural(list.Total, "connected client"))
		if !confirm(cmd.InOrStdin(), cmd.ErrOrStderr(), question) {
			return errors.New("aborted: no client was kicked")
		}
	}
	res, err := c.KickMany(cmd.Context(), adminapi.BulkKick{IDs: ids, Reason: o.reason})
	if err != nil {
		return err
	}
	gone := res.Results[:0]
	left := 0
	for _, r := range res.Results {
		if r.Result == adminapi.KickNotConnected {
			left++
			continue
		}
		gone = append(gone, r)
	}
	res.Results = gone
	printKickResults(out, cmd.ErrOrStderr(), "", res)
	if left > 0 {
		fmt.Fprintf(out, "%s had left before the kick\n", plural(left, "selected client"))
	}
	return nil
}

// printKickResults writes a line per client (the not connected ones on
// stderr), each starting with prefix (the host's "web1: ", or ""), and
// returns how many were not connected.
func printKickResults(out, errOut io.Writer, prefix string, res adminapi.BulkKickResult) (notConnected int) {
	w := bufio.NewWriter(out) // thousands of lines: one write, not one each
	defer w.Flush()
	for _, r := range res.Results {
		switch r.Result {
		case adminapi.KickNotConnected:
			w.Flush()
			fmt.Fprintf(errOut, "chatctl: %sclient %d is not connected\n", prefix, r.ID)
			notConnected++
		case adminapi.KickStillClosing:
			fmt.Fprintf(w, "%skicked client %d (still closing)\n", prefix, r.ID)
		default:
			fmt.Fprintf(w, "%skicked client %d\n", prefix, r.ID)
		}
	}
	return notConnected
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
