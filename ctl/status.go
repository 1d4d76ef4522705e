package main

import (
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
clients and traffic, as key: value lines or (-o json) the API's JSON.`,
		Args: cliutil.NoArgs,
	}
	out := addOutputFlag(cmd, "text", "json")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		c, err := a.client()
		if err != nil {
			return err
		}
		st, err := c.Status(cmd.Context())
		if err != nil {
			return err
		}
		if out.value == "json" {
			return printJSON(cmd.OutOrStdout(), st)
		}
		return printStatus(cmd.OutOrStdout(), st)
	}
	return cmd
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
	}
	lines = append(lines, survivalLines(st.Survival)...)
	var b strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&b, "%-14s %s\n", l[0]+":", cliutil.Printable(l[1]))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
