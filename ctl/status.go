package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/chatd/chatd/internal/admin/adminapi"
	"github.com/chatd/chatd/internal/cliutil"
)

func newStatusCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the daemon's status",
		Long: `Show the running chatd's version, process, uptime, addresses, config file,
clients and traffic, as key: value lines or (-o json) the API's JSON.

With several --host, a block per host, each starting with its host: line,
or (-o json) an object with a member per host (its status, or the error).
A host that cannot be reached is one line on stderr and makes the exit
status 1.`,
		Args: cliutil.NoArgs,
	}
	out := addOutputFlag(cmd, "text", "json")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		ts, err := a.targets()
		if err != nil {
			return err
		}
		defer closeAll(ts)
		res := queryAll(cmd.Context(), ts, func(ctx context.Context, t target) (adminapi.Status, error) {
			return t.client.Status(ctx)
		})
		w := cmd.OutOrStdout()
		if len(res) == 1 {
			if res[0].err != nil {
				return res[0].err
			}
			if out.value == "json" {
				return printJSON(w, res[0].value)
			}
			return printStatus(w, res[0].value)
		}
		if err := printHostStatus(w, res, out.value); err != nil {
			return err
		}
		return reportFailures(cmd.ErrOrStderr(), res)
	}
	return cmd
}

// printHostStatus prints several hosts' status: a block of lines per
// host that answered, starting with its host line, or (JSON) an object
// with a member per host, its status or the error.
func printHostStatus(w io.Writer, res []hostResult[adminapi.Status], format string) error {
	if format == "json" {
		byHost := make(map[string]any, len(res))
		for _, r := range res {
			if r.err != nil {
				byHost[r.host] = map[string]string{"error": r.err.Error()}
			} else {
				byHost[r.host] = r.value
			}
		}
		return printJSON(w, byHost)
	}
	first := true
	for _, r := range res {
		if r.err != nil {
			continue
		}
		if !first {
			io.WriteString(w, "\n")
		}
		first = false
		fmt.Fprintf(w, statusFormat, "host:", cliutil.Printable(r.host))
		if err := printStatus(w, r.value); err != nil {
			return err
		}
	}
	return nil
}

// statusFormat is a key: value line of the status.
const statusFormat = "%-14s %s\n"

// clientIDsLine says whether a restart of chatd can repeat no client ID
// because they are saved, or because they come from the clock meanwhile.
func clientIDsLine(ids adminapi.ClientIDs) string {
	if ids.Saved {
		return "saved in " + ids.StateFile
	}
	line := "NOT SAVED"
	if ids.UnsavedSince != nil {
		line += " since " + absTime(*ids.UnsavedSince)
	}
	if ids.Problem != "" {
		line += " (" + ids.Problem + ")"
	}
	line += "; IDs come from the clock, which no restart repeats"
	if ids.Retrying {
		line += "; chatd keeps trying to save"
	}
	return line
}

// printStatus writes the status as aligned key: value lines.
func printStatus(w io.Writer, st adminapi.Status) error {
	config := st.ConfigFile
	if config == "" {
		config = "(none: built-in defaults)"
	}
	uptime := time.Duration(st.UptimeSeconds * float64(time.Second))
	lines := [][2]string{
		{"version", st.Version},
		{"pid", fmt.Sprint(st.PID)},
		{"started at", absTime(st.StartedAt)},
		{"uptime", humanDuration(uptime)},
		{"listen", st.Listen},
		{"admin socket", st.AdminSocket},
		{"config file", config},
		{"clients", fmt.Sprintf("%d (max %d)", st.ClientsConnected, st.MaxClients)},
		{"clients total", fmt.Sprint(st.ClientsTotal)},
		{"bytes in", fmt.Sprintf("%s (%d)", humanBytes(st.BytesIn), st.BytesIn)},
		{"bytes out", fmt.Sprintf("%s (%d)", humanBytes(st.BytesOut), st.BytesOut)},
		{"client IDs", clientIDsLine(st.ClientIDs)},
	}
	lines = append(lines, survivalLines(st.Survival)...)
	lines = append(lines, handshakeLines(st.Handshakes)...)
	var b strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&b, statusFormat, l[0]+":", cliutil.Printable(l[1]))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
