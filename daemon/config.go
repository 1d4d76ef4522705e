package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/chatd/chatd/internal/cliutil"
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
and exit 0 (valid) or 2 (invalid). A CHATD_* environment variable that names
no key (a misspelling, which run ignores with a warning) is invalid here.
It also warns when shutdown_grace does not leave the service manager's stop
timeout time to spare.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(cmd.Flags())
			if err != nil {
				return err
			}
			// A misspelled variable is ignored by run (with a warning);
			// the check is where to find out.
			if unknown := config.UnknownEnv(os.Environ()); len(unknown) > 0 {
				return unknown[0]
			}
			if unit == "" {
				unit = installedUnit()
			}
			var u config.Unit
			if unit != "" {
				u, _ = config.ReadUnit(unit) // a unit it cannot read has nothing to check against
			}
			if err := warnStopTimeout(cmd.ErrOrStderr(), cfg, u); err != nil {
				return err
			}
			checkedAs, err := checkFilesAsUnitUser(cmd.ErrOrStderr(), cfg, u)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "configuration OK: %s\n%s", cfg.Origin, checkedAs)
			return err
		},
	}
	check.Flags().StringVar(&unit, "unit", "", "systemd unit that runs chatd: shutdown_grace must stay below its TimeoutStopSec, and its User= must be able to read the files (default: the installed chatd unit)")
	show := &cobra.Command{
		Use:   "show [KEY]",
		Short: "Print the effective configuration (defaults, file, environment and flags merged) as YAML",
		Long: `Print the effective configuration (defaults, file, environment and flags
merged) as YAML. Values are checked as chatd run checks them, except what is
about this machine (the admin group exists, the socket's directory can be
made): the config may be meant for another one. chatd config check checks
those too.

With a KEY (listen, admin.socket, …), print only its value, one line per
item of a list and nothing else: for scripts.`,
		Example: `  chatd config show --config /etc/chatd/chatd.yaml listen`,
		Args: func(cmd *cobra.Command, args []string) error {
			return cliutil.Usage(cobra.MaximumNArgs(1)(cmd, args))
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := config.LoadForShow(cmd.Flags())
			if err != nil {
				return err
			}
			for _, e := range config.UnknownEnv(os.Environ()) {
				fmt.Fprintf(cmd.ErrOrStderr(), "chatd: warning: %s (ignored)\n", e)
			}
			if len(args) == 1 {
				return showValue(cmd.OutOrStdout(), cfg, args[0])
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

// showValue prints one key's value, one line per item.
func showValue(w io.Writer, cfg *config.Config, key string) error {
	lines, err := cfg.Value(key)
	if err != nil {
		return cliutil.Usage(err)
	}
	for _, l := range lines {
		if _, err := fmt.Fprintln(w, l); err != nil {
			return err
		}
	}
	return nil
}

// installedUnit is chatd's systemd unit on this machine, or "" when chatd
// is not installed under systemd: the one `chatd service install` writes
// (/etc/systemd/system) before the package's (/usr/lib/systemd/system),
// as systemd itself ranks them.
func installedUnit() string {
	p := service.Detect()
	if p.Name != "linux-systemd" {
		return ""
	}
	for _, f := range []string{p.ServiceFile(), "/usr/lib/systemd/system/" + service.Name + ".service", "/lib/systemd/system/" + service.Name + ".service"} {
		if _, err := os.Stat(f); err == nil {
			return f
		}
	}
	return ""
}

// warnStopTimeout warns when shutdown_grace is not below the unit's
// TimeoutStopSec: systemd would kill chatd before it had told every client
// goodbye. A unit that is absent or sets no timeout is not a warning.
func warnStopTimeout(w io.Writer, cfg *config.Config, u config.Unit) error {
	if !u.HasStopTimeout || cfg.ShutdownGrace < u.StopTimeout {
		return nil
	}
	_, err := fmt.Fprintf(w, "chatd: warning: shutdown_grace %s is not below TimeoutStopSec %s in %s: systemd would kill chatd before the grace ends\n",
		cfg.ShutdownGrace, u.StopTimeout, u.Path)
	return err
}

// checkFilesAsUnitUser checks, when root checks the configuration of a
// unit that runs chatd as another user, that this user can read the
// config and TLS files: root can read them all, so a key only root may
// read would pass and then fail the service's start. It returns the line
// that says so for the OK message ("" when there was nothing to check as
// another user).
func checkFilesAsUnitUser(w io.Writer, cfg *config.Config, u config.Unit) (string, error) {
	if u.User == "" || u.User == "root" || os.Geteuid() != 0 {
		return "", nil // the files were read as the user who will run chatd
	}
	by := "the unit " + u.Path
	a, err := config.LookupAccount(u.User, u.Group, by)
	if err != nil {
		_, err = fmt.Fprintf(w, "chatd: warning: cannot check the files as the service's user: %v\n", err)
		return "", err
	}
	a.Hidden = u.Hidden
	switch err := config.CheckReadableBy(cfg, a); {
	case errors.Is(err, config.ErrCannotCheckAs):
		_, err = fmt.Fprintf(w, "chatd: warning: the files were checked as root, not as user %s, whom %s runs chatd as: %v\n", a.Name, by, err)
		return "", err
	case err != nil:
		return "", err
	}
	return fmt.Sprintf("files readable by user %s, whom %s runs chatd as\n", a.Name, by), nil
}
