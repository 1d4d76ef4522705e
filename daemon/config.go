package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/chatd/chatd/internal/config"
)

func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Check or show the configuration",
	}
	check := &cobra.Command{
		Use:   "check",
		Short: "Validate the configuration and exit 0 (valid) or 2 (invalid), like nginx -t",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(cmd.Flags())
			if err != nil {
				return err
			}
			src := cfg.File
			if src == "" {
				src = "built-in defaults (no config file found)"
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "configuration OK: %s\n", src)
			return err
		},
	}
	show := &cobra.Command{
		Use:   "show",
		Short: "Print the effective configuration (defaults, file, environment and flags merged) as YAML",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(cmd.Flags())
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
	cmd.AddCommand(check, show)
	return cmd
}
