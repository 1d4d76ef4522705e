package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/chatd/chatd/internal/config"
	"github.com/chatd/chatd/internal/daemon"
	"github.com/chatd/chatd/internal/logging"
	"github.com/chatd/chatd/internal/service"
)

func newRunCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the chat server in the foreground",
		Long: `Run the chat server in the foreground until SIGINT or SIGTERM, which
drain it: no new clients, every client gets the shutdown notice, exit 0.
SIGHUP reloads the configuration from the same file, environment and flags:
log.level, max_clients, the timeouts, the greeting and the notices change
at once without touching connected clients; listen, admin.* and state_dir
need a restart; an invalid file is rejected and the running config stays.
The installed service (chatd service install) runs this same command.`,
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
			d.SetConfigSource(func() (*config.Config, error) { return config.Load(cmd.Flags()) })
			return service.Run(service.Program{
				Start:  d.Start,
				Stop:   d.Stop,
				Reload: func() { d.Reload() }, // Reload logs its own outcome
				Log:    log.Logger,
			})
		},
	}
	config.AddFlags(cmd.Flags())
	return cmd
}
