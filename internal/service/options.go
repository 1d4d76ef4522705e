package service

import (
	"fmt"
	"path/filepath"
	"regexp"
	"runtime"

	kservice "github.com/kardianos/service"
)

// Name is the service's name: chatd.service, the launchd label, the
// RuntimeDirectory and StateDirectory.
const Name = "chatd"

// Options describe the installed service.
type Options struct {
	// Executable is the absolute path of the chatd binary to run.
	Executable string
	// ConfigFile is passed to `chatd run --config`.
	ConfigFile string
	// User and Group run the service; empty User means root. On systemd
	// an empty Group means the user's primary group.
	User  string
	Group string
	// BindLowPort grants CAP_NET_BIND_SERVICE, for a listen port below
	// 1024; nothing else is ever granted.
	BindLowPort bool
	// LogDir is where launchd writes the service's stdout and stderr
	// (chatd.out.log, chatd.err.log). Unused with systemd (the journal).
	LogDir string
	// MaxClients sizes the descriptor limits (0: chatd's default); see
	// storeLimits.
	MaxClients int
	// NoSurvival leaves the descriptor store out of the unit: clients do
	// not survive a restart (config survive_restarts: false).
	NoSurvival bool
}

// defaultMaxClients is the config's default max_clients, for options that
// do not say (the packaged unit).
const defaultMaxClients = 10000

// storeReserve is what the descriptor store and the open-file limit keep
// beyond the clients: the listener, the hand-over state, the holder
// shards (one per ~15,000 connections, twice during a rebuild) and the
// descriptors chatd needs for itself.
const storeReserve = 1024

// storeLimits are FileDescriptorStoreMax= and LimitNOFILE for o. The
// store keeps few entries (the connections travel inside one holder
// socket), but the bound is set from max_clients so that it never is the
// reason a client is not held. The open-file limit holds each client's
// socket twice: its own descriptor and its duplicate in flight in the
// holder, which the kernel charges to an unprivileged user's
// RLIMIT_NOFILE.
func (o Options) storeLimits() (storeMax, nofile int) {
	n := o.MaxClients
	if n <= 0 {
		n = defaultMaxClients
	}
	nofile = max(65536, 2*n+storeReserve)
	if o.NoSurvival {
		return 0, max(65536, n+storeReserve)
	}
	return n + storeReserve, nofile
}

// DefaultUser is the account the installed service runs as: a dedicated
// system user on Linux; root on macOS, where creating one is left to the
// operator.
func DefaultUser() string {
	if runtime.GOOS == "darwin" {
		return ""
	}
	return "chatd"
}

// DefaultLogDir is where launchd sends the service's output.
const DefaultLogDir = "/var/log"

var accountName = regexp.MustCompile(`^[a-z_][a-z0-9_-]*[$]?$`)

// Validate checks that the options can be written into a service file.
func (o Options) Validate() error {
	if !filepath.IsAbs(o.Executable) {
		return fmt.Errorf("service executable %q is not an absolute path", o.Executable)
	}
	if !filepath.IsAbs(o.ConfigFile) {
		return fmt.Errorf("service config file %q is not an absolute path", o.ConfigFile)
	}
	for what, name := range map[string]string{"user": o.User, "group": o.Group} {
		if name != "" && (!accountName.MatchString(name) || len(name) > 32) {
			return fmt.Errorf("service %s %q is not a valid account name", what, name)
		}
	}
	if o.LogDir != "" && !filepath.IsAbs(o.LogDir) {
		return fmt.Errorf("service log directory %q is not an absolute path", o.LogDir)
	}
	return nil
}

// Arguments are what the service runs the executable with.
func (o Options) Arguments() []string {
	return []string{"run", "--config", o.ConfigFile}
}

// kardianosConfig is the kardianos configuration for these options.
func (o Options) kardianosConfig() (*kservice.Config, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	logDir := o.LogDir
	if logDir == "" {
		logDir = DefaultLogDir
	}
	_, nofile := o.storeLimits()
	return &kservice.Config{
		Name:        Name,
		DisplayName: Name,
		Description: "chatd chat server (answers every client in CAPITALS)",
		UserName:    o.User,
		Arguments:   o.Arguments(),
		Executable:  o.Executable,
		Option: kservice.KeyValue{
			"SystemdScript": systemdUnit(o),
			"LaunchdConfig": launchdPlist,
			"LimitNOFILE":   nofile, // kardianos wants an int here
			"Restart":       "always",
			"RunAtLoad":     true,
			"KeepAlive":     true,
			"LogDirectory":  logDir,
		},
	}, nil
}
