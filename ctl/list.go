package main

import (
	"cmp"
	"context"
	"io"
	"slices"
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

With several --host, the listings are merged: a HOST column first, sorted
by host then ID, and -o json is an object with a member per host (its
listing, or the error). A host that cannot be reached is one line on stderr
and makes the exit status 1; the others are listed all the same.`,
		Args: cliutil.NoArgs,
	}
	out := addOutputFlag(cmd, "table", "wide", "json")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		ts, err := a.targets()
		if err != nil {
			return err
		}
		defer closeAll(ts)
		res := queryAll(cmd.Context(), ts, func(ctx context.Context, t target) ([]adminapi.Client, error) {
			return t.client.Clients(ctx)
		})
		w := cmd.OutOrStdout()
		if len(res) == 1 {
			if res[0].err != nil {
				return res[0].err
			}
			return printClients(w, res[0].value, out.value)
		}
		if err := printHostClients(w, res, out.value); err != nil {
			return err
		}
		return reportFailures(cmd.ErrOrStderr(), res)
	}
	return cmd
}

// printClients prints one chatd's listing.
func printClients(w io.Writer, clients []adminapi.Client, format string) error {
	if format == "json" {
		if clients == nil {
			clients = []adminapi.Client{}
		}
		return printJSON(w, adminapi.ClientList{Clients: clients})
	}
	header, rows := clientRows(clients, format == "wide", time.Now())
	if err := writeTable(w, header, rows); err != nil {
		return err
	}
	_, err := io.WriteString(w, plural(len(clients), "client")+"\n")
	return err
}

// hostClients is one host's member of `list -o json` with several hosts.
type hostClients struct {
	Clients []adminapi.Client `json:"clients,omitzero"` // [] when none are connected
	Error   string            `json:"error,omitempty"`
}

// printHostClients prints the merged listing of several hosts; those that
// failed are left out of the table and are an "error" member in JSON.
func printHostClients(w io.Writer, res []hostResult[[]adminapi.Client], format string) error {
	if format == "json" {
		byHost := make(map[string]hostClients, len(res))
		for _, r := range res {
			if r.err != nil {
				byHost[r.host] = hostClients{Error: r.err.Error()}
			} else {
				byHost[r.host] = hostClients{Clients: append([]adminapi.Client{}, r.value...)}
			}
		}
		return printJSON(w, byHost)
	}
	now := time.Now()
	header, _ := clientRows(nil, format == "wide", now)
	var rows [][]string
	total := 0
	for _, r := range res { // in host order
		if r.err != nil {
			continue
		}
		clients := slices.SortedFunc(slices.Values(r.value), func(x, y adminapi.Client) int { return cmp.Compare(x.ID, y.ID) })
		_, hostRows := clientRows(clients, format == "wide", now)
		rows = append(rows, withHost(r.host, hostRows)...)
		total += len(clients)
	}
	if err := writeTable(w, append([]string{"HOST"}, header...), rows); err != nil {
		return err
	}
	_, err := io.WriteString(w, plural(total, "client")+"\n")
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
