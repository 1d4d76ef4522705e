package main

import (
	"os"
	"path/filepath"

	"github.com/chatd/chatd/internal/config"
	"github.com/chatd/chatd/internal/paths"
)

// socketChoice is the admin socket chatctl talks to, and what it knows of
// the chatd behind it.
type socketChoice struct {
	path string
	// group is admin.group as the config says (groupKnown), for the
	// permission message.
	group      string
	groupKnown bool
	// own: path is this user's own default socket, which must be theirs.
	own bool
}

// resolveSocket finds chatd's admin socket the way chatd itself decides
// where to put it, and the admin group if the config names one (for the
// permission message).
func (a *app) resolveSocket() (socketChoice, error) {
	if a.socketFlag != "" {
		return socketChoice{path: a.socketFlag}, nil
	}
	// CHATD_ADMIN_SOCKET and admin.socket mean the same to both programs.
	ep, err := config.AdminSocket(a.configFlag)
	if err != nil {
		if a.configFlag != "" {
			return socketChoice{}, err
		}
		// A default config file chatctl cannot read (not ours to read,
		// say) must not stop it: chatd's default applies.
		if env := os.Getenv(config.EnvPrefix + "_ADMIN_SOCKET"); env != "" {
			return socketChoice{path: env}, nil
		}
		return defaultSocket(), nil
	}
	if ep.Default {
		s := defaultSocket()
		s.group, s.groupKnown = ep.Group, true
		return s, nil
	}
	return socketChoice{path: ep.Socket, group: ep.Group, groupKnown: true}, nil
}

// defaultSocket is chatd's default socket for this user; for a user
// without a chatd of their own, on a host where the system chatd's socket
// directory exists, it is the system chatd's socket: members of the admin
// group reach the installed service with no flags, and others are told
// they lack the permission rather than that nothing runs.
func defaultSocket() socketChoice {
	own := paths.AdminSocket()
	if _, err := os.Stat(own); err != nil {
		if _, err := os.Stat(filepath.Dir(paths.SystemAdminSocket)); err == nil {
			return socketChoice{path: paths.SystemAdminSocket}
		}
	}
	return socketChoice{path: own, own: own != paths.SystemAdminSocket}
}
