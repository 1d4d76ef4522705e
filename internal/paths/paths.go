// Package paths resolves the default locations chatd and chatctl agree on:
// the admin socket, the state directory and the config files. Both programs
// call the same functions so that they always meet at the same socket.
package paths

import (
	"os"
	"path/filepath"
	"strconv"
)

// SystemConfigFile is the config file of an installed service.
const SystemConfigFile = "/etc/chatd/chatd.yaml"

// SystemAdminSocket is the admin socket of a chatd running as root (the
// installed service).
const SystemAdminSocket = "/run/chatd/admin.sock"

// SystemStateDir is the state directory of a chatd running as root (the
// installed service).
const SystemStateDir = "/var/lib/chatd"

// AdminSocket returns the default admin socket path: SystemAdminSocket
// for root, otherwise $XDG_RUNTIME_DIR/chatd/admin.sock, falling back to a
// per-user directory under the temp dir.
func AdminSocket() string {
	if os.Geteuid() == 0 {
		return SystemAdminSocket
	}
	return filepath.Join(userRuntimeDir(), "admin.sock")
}

func userRuntimeDir() string {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "chatd")
	}
	return filepath.Join(os.TempDir(), "chatd-"+strconv.Itoa(os.Geteuid()))
}

// StateDir returns the default directory for persistent state:
// /var/lib/chatd for root, otherwise $XDG_STATE_HOME/chatd or
// ~/.local/state/chatd.
func StateDir() string {
	if os.Geteuid() == 0 {
		return SystemStateDir
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "chatd")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "state", "chatd")
	}
	return filepath.Join(os.TempDir(), "chatd-state-"+strconv.Itoa(os.Geteuid()))
}

// ConfigFiles returns the config files looked for, in order, when none is
// given on the command line: the system file, then the user's.
func ConfigFiles() []string {
	files := []string{SystemConfigFile}
	if d := os.Getenv("XDG_CONFIG_HOME"); d != "" && filepath.IsAbs(d) {
		files = append(files, filepath.Join(d, "chatd", "chatd.yaml"))
	} else if home, err := os.UserHomeDir(); err == nil {
		files = append(files, filepath.Join(home, ".config", "chatd", "chatd.yaml"))
	}
	return files
}
