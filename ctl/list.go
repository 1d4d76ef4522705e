package main

import (
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
JSON.`,
		Args: cliutil.NoArgs,
	}
	out := addOutputFlag(cmd, "table", "wide", "json")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		c, err := a.client()
		if err != nil {
			return err
		}
		clients, err := c.Clients(cmd.Context())
		if err != nil {
			return err
		}
		w := cmd.OutOrStdout()
		if out.value == "json" {
			if clients == nil {
				clients = []adminapi.Client{}
			}
			return printJSON(w, adminapi.ClientList{Clients: clients})
		}
		header, rows := clientRows(clients, out.value == "wide", time.Now())
		if err := writeTable(w, header, rows); err != nil {
			return err
		}
		_, err = w.Write([]byte(plural(len(clients), "client") + "\n"))
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
