package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/chatd/chatd/internal/config"
	"github.com/chatd/chatd/internal/service"
)

func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Check or show the configuration",
	}
	var unit string
	check := &cobra.Command{
		Use:   "check",
		Short: "Validate the configuration and exit 0 (valid) or 2 (invalid), like nginx -t",
		Long: `Validate the configuration exactly as 'chatd run' does before it starts,
host checks included (admin.group exists, the admin socket can be created),
and exit 0 (valid) or 2 (invalid). It also warns when shutdown_grace does not
leave the service manager's stop timeout time to spare.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(cmd.Flags())
			if err != nil {
				return err
			}
			if unit == "" {
				unit = installedUnit()
			}
			if err := warnStopTimeout(cmd.ErrOrStderr(), cfg, unit); err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "configuration OK: %s\n", cfg.Origin)
			return err
		},
	}
	check.Flags().StringVar(&unit, "unit", "", "systemd unit whose TimeoutStopSec shutdown_grace must stay below (default: the installed chatd unit)")
	show := &cobra.Command{
		Use:   "show",
		Short: "Print the effective configuration (defaults, file, environment and flags merged) as YAML",
		Long: `Print the effective configuration (defaults, file, environment and flags
merged) as YAML. Values are checked as chatd run checks them, except what is
about this machine (the admin group exists, the socket's directory can be
made): the config may be meant for another one. chatd config check checks
those too.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.LoadForShow(cmd.Flags())
			if err != nil {
				return err
			}
			out, err := cfg.YAML()
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	}
	config.AddFlags(check.Flags())
	config.AddFlags(show.Flags())
	check.Long += "\n\n" + config.EnvironmentHelp()
	show.Long += "\n\n" + config.EnvironmentHelp()
	cmd.AddCommand(check, show)
	return cmd
}

// installedUnit is the systemd unit `chatd service install` wrote, or ""
// when chatd is not installed under systemd.
func installedUnit() string {
	if p := service.Detect(); p.Name == "linux-systemd" {
		return p.ServiceFile()
	}
	return ""
}

// warnStopTimeout warns when shutdown_grace is not below the unit's
// TimeoutStopSec: systemd would kill chatd before it had told every client
// goodbye. A unit that is absent or sets no timeout is not a warning.
func warnStopTimeout(w io.Writer, cfg *config.Config, unit string) error {
	if unit == "" {
		return nil
	}
	stop, ok, err := config.UnitStopTimeout(unit)
	if err != nil || !ok || cfg.ShutdownGrace < stop {
		return nil
	}
	_, err = fmt.Fprintf(w, "chatd: warning: shutdown_grace %s is not below TimeoutStopSec %s in %s: systemd would kill chatd before the grace ends\n",
		cfg.ShutdownGrace, stop, unit)
	return err
}
