package main

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/chatd/chatd/internal/config"
	"github.com/chatd/chatd/internal/service"
)

func newServiceInstallCmd(f *serviceFlags) *cobra.Command {
	var replace bool
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Install the service definition and enable it at boot (does not start it)",
		Long: `Install the service definition and enable it at boot. It does not start
the service: run 'chatd service start'. The config file must exist and be
valid, and the user must exist (install.sh creates both). A listen port
below 1024 gives the service CAP_NET_BIND_SERVICE and nothing else.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := needRoot("chatd service install"); err != nil {
				return err
			}
			m, err := f.manager()
			if err != nil {
				return err
			}
			o := m.Options()
			cfg, err := loadServiceConfig(o.ConfigFile)
			if err != nil {
				return err
			}
			o.BindLowPort = lowPort(append(cfg.Listen, cfg.TLS.Listen...)...)
			o.MaxClients, o.NoSurvival = cfg.MaxClients, !cfg.SurviveRestarts
			if err := o.ResolveAccount(); err != nil {
				return err
			}
			if m, err = service.NewManager(o); err != nil {
				return err
			}
			if err := m.Install(replace); err != nil {
				return err
			}
			who := o.User
			if who == "" {
				who = "root"
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "installed the %s service (%s): %s\n", service.Name, m.Platform().Name, m.Platform().ServiceFile())
			fmt.Fprintf(out, "  runs: %s %s, as %s\n", o.Executable, strings.Join(o.Arguments(), " "), who)
			fmt.Fprintf(out, "  start it with: %s service start\n", o.Executable)
			return nil
		},
	}
	cmd.Flags().BoolVar(&replace, "replace", false, "rewrite the service definition if it is already installed (upgrade)")
	return cmd
}

func newServiceUninstallCmd(f *serviceFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "uninstall",
		Short: "Stop the service and remove its definition (config and state stay)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := needRoot("chatd service uninstall"); err != nil {
				return err
			}
			m, err := f.manager()
			if err != nil {
				return err
			}
			removed, err := m.Uninstall()
			if err != nil {
				return err
			}
			if !removed {
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "the %s service is not installed; nothing to do\n", service.Name)
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "stopped and removed the %s service (%s)\n", service.Name, m.Platform().ServiceFile())
			return err
		},
	}
}

// loadServiceConfig validates the config the service will run with.
func loadServiceConfig(file string) (*config.Config, error) {
	fs := pflag.NewFlagSet("service", pflag.ContinueOnError)
	config.AddFlags(fs)
	if err := fs.Set("config", file); err != nil {
		return nil, err
	}
	cfg, err := config.Load(fs)
	if err != nil {
		return nil, fmt.Errorf("the service's %w", err)
	}
	return cfg, nil
}

// lowPort reports whether any listen address names a port below 1024 (0
// is "any").
func lowPort(addrs ...string) bool {
	for _, listen := range addrs {
		_, port, err := net.SplitHostPort(listen)
		if err != nil {
			continue
		}
		if p, err := strconv.Atoi(port); err == nil && p > 0 && p < 1024 {
			return true
		}
	}
	return false
}
