package main

import (
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
fit, until Ctrl-C.`,
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
		w := cmd.OutOrStdout()
		if *watch {
			tty, err := watchTerminal(w)
			if err != nil {
				return err
			}
			if out.value == "json" {
				return cliutil.Usagef("list --watch shows a table: -o json cannot be watched")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			title := strings.Join(append([]string{"chatctl"}, os.Args[1:]...), " ")
			return watchClients(cmd.Context(), tty, c, q, out.value == "wide", filter.selects(), cliutil.Printable(title))
		}
		c, err := a.client()
		if err != nil {
			return err
		}
		if out.value == "json" {
			return writeClientsJSON(cmd.Context(), w, c, q)
		}
		list, err := c.ListClients(cmd.Context(), q)
		if err != nil {
			return err
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
