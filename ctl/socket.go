package main

import (
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/chatd/chatd/internal/cliutil"
	"github.com/chatd/chatd/internal/config"
	"github.com/chatd/chatd/internal/paths"
)

// resolveSocket finds chatd's admin socket the way chatd itself decides
// where to put it, and the admin group if the config names one (for the
// permission message).
func (a *app) resolveSocket() (socket, group string, err error) {
	if a.socketFlag != "" {
		return a.socketFlag, "", nil
	}
	// chatd's own config loader: defaults, the config file, CHATD_*
	// variables; so CHATD_ADMIN_SOCKET and admin.socket mean the same to
	// both programs.
	fs := pflag.NewFlagSet("chatctl", pflag.ContinueOnError)
	config.AddFlags(fs)
	if a.configFlag != "" {
		if err := fs.Set("config", a.configFlag); err != nil {
			return "", "", cliutil.Usage(err)
		}
	}
	cfg, err := config.Load(fs)
	if err != nil {
		if a.configFlag != "" {
			return "", "", err
		}
		// chatctl needs one key; a config it cannot read (not ours to
		// read, say) must not stop it. chatd's default applies.
		if env := os.Getenv(config.EnvPrefix + "_ADMIN_SOCKET"); env != "" {
			return env, "", nil
		}
		return defaultSocket(), "", nil
	}
	if cfg.Admin.Socket == paths.AdminSocket() && os.Getenv(config.EnvPrefix+"_ADMIN_SOCKET") == "" {
		return defaultSocket(), cfg.Admin.Group, nil
	}
	return cfg.Admin.Socket, cfg.Admin.Group, nil
}

// defaultSocket is chatd's default socket for this user; for a user
// without a chatd of their own, on a host where the system chatd's socket
// directory exists, it is the system chatd's socket: members of the admin
// group reach the installed service with no flags, and others are told
// they lack the permission rather than that nothing runs.
func defaultSocket() string {
	own := paths.AdminSocket()
	if _, err := os.Stat(own); err != nil {
		if _, err := os.Stat(filepath.Dir(paths.SystemAdminSocket)); err == nil {
			return paths.SystemAdminSocket
		}
	}
	return own
}
