package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/chatd/chatd/internal/admin/adminapi"
	"github.com/chatd/chatd/internal/cliutil"
)

func newListCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the connected clients",
		Long: `List the connected clients, sorted by ID: address, how long each has been
connected and idle, and the bytes received from (IN) and sent to (OUT) it.
-o wide adds the local address and absolute times; -o json prints the API's
JSON.

chatd selects and orders the clients: --remote and --idle-over keep
some, --sort orders them (id; or, most first: idle, in, out, connected)
and --limit keeps the first N. The count line then says "N of M clients".

--watch redraws the listing every 2 s on the terminal, as many rows as
fit, until Ctrl-C.

With several --host, the listings are merged: a HOST column first, sorted
by host then ID, and -o json is an object with a member per host (its
listing, or the error). A host that cannot be reached is one line on stderr
and makes the exit status 1; the others are listed all the same.`,
		Example: `  chatctl list --remote 10.0.0.0/8 --idle-over 5m
  chatctl list --sort out --limit 20
  chatctl list --watch --sort idle`,
		Args: cliutil.NoArgs,
	}
	out := addOutputFlag(cmd, "table", "wide", "json")
	filter := addFilterFlags(cmd, true)
	watch := cmd.Flags().BoolP("watch", "w", false, "redraw every 2s on the terminal until Ctrl-C, as watch(1) does")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		q, err := filter.query()
		if err != nil {
			return err
		}
		ts, err := a.targets()
		if err != nil {
			return err
		}
		defer closeAll(ts)
		w := cmd.OutOrStdout()
		if len(ts) > 1 {
			if *watch {
				return cliutil.Usagef("list --watch follows one chatd: give one --host")
			}
			res := queryAll(cmd.Context(), ts, func(ctx context.Context, t target) (adminapi.ClientList, error) {
				return t.client.ListClients(ctx, q)
			})
			if err := printHostClients(w, res, out.value, filter.selects()); err != nil {
				return err
			}
			return reportFailures(cmd.ErrOrStderr(), res)
		}
		t := ts[0]
		c := t.client
		if *watch {
			tty, err := watchTerminal(w)
			if err != nil {
				return err
			}
			if out.value == "json" {
				return cliutil.Usagef("list --watch shows a table: -o json cannot be watched")
			}
			title := strings.Join(append([]string{"chatctl"}, os.Args[1:]...), " ")
			return t.explain(watchClients(cmd.Context(), tty, c, q, out.value == "wide", filter.selects(), cliutil.Printable(title)))
		}
		if out.value == "json" {
			return t.explain(writeClientsJSON(cmd.Context(), w, c, q))
		}
		list, err := c.ListClients(cmd.Context(), q)
		if err != nil {
			return t.explain(err)
		}
		header, rows := clientRows(list.Clients, out.value == "wide", time.Now())
		if err := writeTable(w, header, rows); err != nil {
			return err
		}
		_, err = io.WriteString(w, countLine(len(list.Clients), list.Total, filter.selects())+"\n")
		return err
	}
	return cmd
}

// hostClients is one host's member of `list -o json` with several hosts.
type hostClients struct {
	Clients []adminapi.Client `json:"clients,omitzero"` // [] when none are connected
	Error   string            `json:"error,omitempty"`
}

// printHostClients prints the merged listing of several hosts; those that
// failed are left out of the table and are an "error" member in JSON.
func printHostClients(w io.Writer, res []hostResult[adminapi.ClientList], format string, selected bool) error {
	if format == "json" {
		byHost := make(map[string]hostClients, len(res))
		for _, r := range res {
			if r.err != nil {
				byHost[r.host] = hostClients{Error: r.err.Error()}
			} else {
				cl := r.value.Clients
				if cl == nil {
					cl = []adminapi.Client{} // [] in JSON, not null
				}
				byHost[r.host] = hostClients{Clients: cl}
			}
		}
		return printJSON(w, byHost)
	}
	now := time.Now()
	header, _ := clientRows(nil, format == "wide", now)
	var rows [][]string
	shown, total := 0, 0
	for _, r := range res { // in host order
		if r.err != nil {
			continue
		}
		clients := r.value.Clients // in the order chatd was asked for (by ID unless --sort)
		_, hostRows := clientRows(clients, format == "wide", now)
		rows = append(rows, withHost(r.host, hostRows)...)
		shown += len(clients)
		total += r.value.Total
	}
	if err := writeTable(w, append([]string{"HOST"}, header...), rows); err != nil {
		return err
	}
	_, err := io.WriteString(w, countLine(shown, total, selected)+"\n")
	return err
}

// withHost puts the host in front of each row: the one change the HOST
// column makes to the table.
func withHost(host string, rows [][]string) [][]string {
	for i, r := range rows {
		rows[i] = append([]string{host}, r...)
	}
	return rows
}

// clientRows lays the clients out for the table, ages measured at now.
func clientRows(clients []adminapi.Client, wide bool, now time.Time) (header []string, rows [][]string) {
	header = []string{"ID", "REMOTE ADDRESS", "CONNECTED", "IDLE", "IN", "OUT"}
	if wide {
		header = []string{"ID", "REMOTE ADDRESS", "LOCAL ADDRESS", "CONNECTED AT", "CONNECTED",
			"LAST ACTIVE AT", "IDLE", "IN", "OUT"}
	}
	for _, c := range clients {
		id := adminapi.FormatID(c.ID)
		connected := humanDuration(now.Sub(c.ConnectedAt))
		idle := humanDuration(now.Sub(c.LastActiveAt))
		in, out := humanBytes(c.BytesIn), humanBytes(c.BytesOut)
		if wide {
			rows = append(rows, []string{id, c.RemoteAddr, c.LocalAddr, absTime(c.ConnectedAt), connected,
				absTime(c.LastActiveAt), idle, in, out})
		} else {
			rows = append(rows, []string{id, c.RemoteAddr, connected, idle, in, out})
		}
	}
	return header, rows
}

// countLine is "3 clients", or "2 of 3 clients" when flags select some.
func countLine(shown, total int, selected bool) string {
	if !selected {
		return plural(shown, "client")
	}
	return fmt.Sprintf("%d of %s", shown, plural(total, "client"))
}
