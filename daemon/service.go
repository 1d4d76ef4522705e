package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/chatd/chatd/internal/cliutil"
	"github.com/chatd/chatd/internal/paths"
	"github.com/chatd/chatd/internal/service"
)

// Exit statuses of `chatd service …` beyond 0, 1 and 2 (bad usage or
// config), after the LSB init-script conventions for status.
const (
	exitStopped      = 3 // status: installed, not running
	exitNotInstalled = 4 // status: not installed; any: no service manager here
)

// serviceFlags are the options every `chatd service` subcommand shares.
type serviceFlags struct {
	config string
	user   string
	group  string
}

func newServiceCmd() *cobra.Command {
	f := &serviceFlags{}
	cmd := &cobra.Command{
		Use:   "service",
		Short: "Install and control chatd as a system service (systemd, launchd, …)",
		Long: `Install and control chatd as a service of the system's service manager:
systemd on Linux (a hardened unit, Type=notify, restarted one second after
any exit), launchd on macOS, or the SysV/OpenRC scripts kardianos/service
knows elsewhere. The service runs:

  chatd run --config ` + paths.SystemConfigFile + `

with this binary's absolute path. install.sh does all of this for you.

Exit status: 0 done (status: running); 1 failed (status: failed);
2 bad usage or configuration; 3 status: stopped; 4 status: not installed,
or no service manager runs here.`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return cliutil.Usagef("unknown command %q for \"chatd service\"", args[0])
			}
			return nil
		},
		RunE: func(*cobra.Command, []string) error {
			return cliutil.Usage(errors.New("chatd service needs a command: install, uninstall, start, stop, restart, status or platform"))
		},
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.config, "config", paths.SystemConfigFile, "config file the service runs with")
	pf.StringVar(&f.user, "user", service.DefaultUser(), `user the service runs as ("" for root)`)
	pf.StringVar(&f.group, "group", "", "group the service runs as (default: the user's name, if such a group exists)")
	cmd.AddCommand(newServiceInstallCmd(f), newServiceUninstallCmd(f),
		newServiceActionCmd(f, "start", "Start the service (returns once chatd is ready)"),
		newServiceActionCmd(f, "stop", "Stop the service (chatd drains its clients first)"),
		newServiceActionCmd(f, "restart", "Restart the service"),
		newServiceStatusCmd(f), newServicePlatformCmd())
	return cmd
}

// options turns the flags into service options (without reading the
// config file: only install needs what is in it).
func (f *serviceFlags) options() (service.Options, error) {
	exe, err := os.Executable()
	if err != nil {
		return service.Options{}, fmt.Errorf("find chatd's own path: %w", err)
	}
	if exe, err = filepath.EvalSymlinks(exe); err != nil {
		return service.Options{}, fmt.Errorf("find chatd's own path: %w", err)
	}
	cfgFile, err := filepath.Abs(f.config)
	if err != nil {
		return service.Options{}, cliutil.Usagef("--config: %w", err)
	}
	o := service.Options{Executable: exe, ConfigFile: cfgFile, User: f.user, Group: f.group}
	if err := o.Validate(); err != nil {
		return o, cliutil.Usage(err)
	}
	return o, nil
}

// manager is the service manager for the flags, with exit status 4 when
// there is none.
func (f *serviceFlags) manager() (*service.Manager, error) {
	o, err := f.options()
	if err != nil {
		return nil, err
	}
	m, err := service.NewManager(o)
	if errors.Is(err, service.ErrNoServiceManager) {
		return nil, cliutil.WithCode(exitNotInstalled, fmt.Errorf("%w; run chatd in the foreground instead: %s run --config %s",
			err, o.Executable, o.ConfigFile))
	}
	return m, err
}

// needRoot refuses commands that change the system when not root.
func needRoot(what string) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%s needs root: run it with sudo", what)
	}
	return nil
}
