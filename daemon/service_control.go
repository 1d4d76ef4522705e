package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/chatd/chatd/internal/service"
)

func newServiceActionCmd(f *serviceFlags, action, short string) *cobra.Command {
	return &cobra.Command{
		Use:   action,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := needRoot("chatd service " + action); err != nil {
				return err
			}
			m, err := f.manager()
			if err != nil {
				return err
			}
			if !m.Installed() {
				return withStatus(exitNotInstalled, fmt.Errorf("the %s service is not installed (chatd service install)", service.Name))
			}
			run := map[string]func() error{"start": m.Start, "stop": m.Stop, "restart": m.Restart}[action]
			if err := run(); err != nil {
				return err
			}
			done := map[string]string{"start": "started", "stop": "stopped", "restart": "restarted"}[action]
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s the %s service\n", done, service.Name)
			return err
		},
	}
}

func newServiceStatusCmd(f *serviceFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Print running, stopped, failed or not installed (exit 0, 3, 1 or 4)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := f.manager()
			if err != nil {
				return err
			}
			st, err := m.Status()
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), st)
			code := map[service.State]int{service.Running: 0, service.Stopped: exitStopped,
				service.Failed: 1, service.NotInstalled: exitNotInstalled}[st]
			if code != 0 {
				// The state is the whole answer: no error line to add.
				return quietStatus(code)
			}
			return nil
		},
	}
}

func newServicePlatformCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "platform",
		Short: "Print the service manager chatd would be installed under (exit 4 if none runs)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p := service.Detect()
			if !p.Usable {
				fmt.Fprintf(cmd.OutOrStdout(), "none: %s\n", p.Why)
				return quietStatus(exitNotInstalled)
			}
			_, err := fmt.Fprintln(cmd.OutOrStdout(), p.Name)
			return err
		},
	}
}
