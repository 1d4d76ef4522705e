package main

import (
	"context"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/chatd/chatd/internal/cliutil"
	"github.com/chatd/chatd/internal/config"
	"github.com/chatd/chatd/internal/handover"
	"github.com/chatd/chatd/internal/instance"
	"github.com/chatd/chatd/internal/logging"
	"github.com/chatd/chatd/internal/service"
	"github.com/chatd/chatd/internal/signals"
)

// handlesSignals marks the command that keeps what package signals
// catches from the process's first instant; every other command releases
// the signals to their default behaviour.
const handlesSignals = "handles-signals"

func newRunCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the chat server in the foreground",
		Long: `Run the chat server in the foreground until SIGINT or SIGTERM, which
drain it: no new clients, every client gets the shutdown notice, exit 0.
SIGUSR2 restarts in place (same PID, after an upgrade the new binary):
connected clients stay connected and lose nothing; under systemd use
systemctl restart instead, which does the same.
SIGHUP reloads the configuration from the same file, environment and flags:
log.level, max_clients, the timeouts, the greeting and the notices change
at once without touching connected clients; listen, admin.* and state_dir
need a restart; an invalid file is rejected and the running config stays.
A signal that arrives while chatd is still starting is acted on once it
serves. The installed service (chatd service install) runs this same command.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			crashForTheServiceManager()
			// What a previous process handed over comes first: a restart
			// onto a broken config goes on with the last good one.
			inherited := instance.Inherit()
			cfg, broken, err := inherited.ConfigOrLastGood(func() (*config.Config, error) { return config.Load(cmd.Flags()) })
			if err != nil {
				return err
			}
			if err := refuseServiceDirs(cfg); err != nil {
				return err
			}
			// Log lines are queued, never waited for: a stalled or broken
			// stderr must not hold up clients, the admin API or a stop.
			log, err := logging.Open(os.Stderr, logging.Options{
				Format:     cfg.Log.Format,
				Level:      cfg.Log.Level,
				QueueLines: logging.DefaultQueueLines,
				OmitTime:   logging.ToJournal(os.Stderr),
			})
			if err != nil {
				return cliutil.WithCode(2, err)
			}
			for _, e := range config.UnknownEnv(os.Environ()) {
				log.Warn(e.Error() + " (ignored)")
			}
			d := instance.New(cfg, log)
			d.Inherit(inherited, broken)
			d.SetConfigSource(func() (*config.Config, error) { return config.Load(cmd.Flags()) })
			// A signal sent while a restart in place execs must not end
			// chatd, and is acted on by the next image.
			d.SetExecHooks(handover.ExecHooks{Before: signals.HoldForExec, Failed: signals.Unhold})
			err = service.Run(service.Program{
				Start:  d.Start,
				Stop:   d.Stop,                // writes out the log within the grace
				Reload: func() { d.Reload() }, // Reload logs its own outcome
				// A successful restart in place never returns; a failed
				// one logs why and serves on.
				Restart: func() bool {
					d.Restart()
					return d.Serving()
				},
				Log: log.Logger,
				// Signals from the first instant, so that one sent
				// before chatd was ready is acted on once it is.
				Signals: signals.Caught(),
			})
			// After a failed start, what was logged before the error line.
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			log.Close(ctx)
			return err
		},
		Annotations: map[string]string{handlesSignals: "yes"},
	}
	config.AddFlags(cmd.Flags())
	cmd.Long += "\n\n" + config.EnvironmentHelp()
	return cmd
}
