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
			"LimitNOFILE":   65536, // kardianos wants an int here
			"Restart":       "always",
			"RunAtLoad":     true,
			"KeepAlive":     true,
			"LogDirectory":  logDir,
		},
	}, nil
}
