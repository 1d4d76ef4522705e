package main

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/chatd/chatd/internal/config"
	"github.com/chatd/chatd/internal/daemon"
	"github.com/chatd/chatd/internal/logging"
)

func newRunCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the chat server in the foreground",
		Long: `Run the chat server in the foreground until SIGINT or SIGTERM, which
drain it: no new clients, every client gets the shutdown notice, exit 0.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(cmd.Flags())
			if err != nil {
				return err
			}
			log, err := logging.New(os.Stderr, cfg.Log.Format, cfg.Log.Level)
			if err != nil {
				return withStatus(2, err)
			}
			d := daemon.New(cfg, log)
			if err := d.Start(); err != nil {
				return err
			}
			sigs := make(chan os.Signal, 1)
			signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
			sig := <-sigs
			signal.Stop(sigs)
			log.Info("signal received", "signal", sig.String())
			return d.Stop()
		},
	}
	config.AddFlags(cmd.Flags())
	return cmd
}
