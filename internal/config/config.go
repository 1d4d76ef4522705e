// Package config loads chatd's configuration: embedded defaults, then a YAML
// file, then CHATD_* environment variables, then command-line flags (the
// strongest), validated into one typed Config before anything starts.
package config

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/chatd/chatd/internal/paths"
	"github.com/chatd/chatd/internal/tlslisten"
)

// Config is chatd's effective configuration.
type Config struct {
	Listen     []string `mapstructure:"listen" yaml:"listen"`
	MaxClients int      `mapstructure:"max_clients" yaml:"max_clients"`
	// MaxClientsPerSource bounds the clients of one source (an IPv4
	// address, an IPv6 /64); 0 is no limit.
	MaxClientsPerSource int           `mapstructure:"max_clients_per_source" yaml:"max_clients_per_source"`
	ProxyProtocol       ProxyProtocol `mapstructure:"proxy_protocol" yaml:"proxy_protocol"`
	TLS                 TLS           `mapstructure:"tls" yaml:"tls"`
	WriteTimeout        time.Duration `mapstructure:"write_timeout" yaml:"write_timeout"`
	IdleTimeout         time.Duration `mapstructure:"idle_timeout" yaml:"idle_timeout"`
	ShutdownGrace       time.Duration `mapstructure:"shutdown_grace" yaml:"shutdown_grace"`
	Greeting            string        `mapstructure:"greeting" yaml:"greeting"`
	Notices             Notices       `mapstructure:"notices" yaml:"notices"`
	// SurviveRestarts keeps clients connected across a crash or a
	// restart of chatd (under systemd, or by re-exec in the foreground).
	SurviveRestarts bool   `mapstructure:"survive_restarts" yaml:"survive_restarts"`
	StateDir        string `mapstructure:"state_dir" yaml:"state_dir"`
	Admin           Admin  `mapstructure:"admin" yaml:"admin"`
	Log             Log    `mapstructure:"log" yaml:"log"`

	// File is the config file that was read, or "" when none was.
	File string `mapstructure:"-" yaml:"-"`
	// Origin says in one line where the values in force come from: the
	// file, the CHATD_* variables and the flags that set something, or
	// the built-in defaults alone.
	Origin string `mapstructure:"-" yaml:"-"`
}

// Notices are the lines sent to a client just before the server closes its
// connection for its own reasons. {id} becomes the client's ID and, in
// Kick, {reason} the operator's reason.
type Notices struct {
	Kick       string `mapstructure:"kick" yaml:"kick"`
	Shutdown   string `mapstructure:"shutdown" yaml:"shutdown"`
	Idle       string `mapstructure:"idle" yaml:"idle"`
	ServerFull string `mapstructure:"server_full" yaml:"server_full"`
	SourceFull string `mapstructure:"source_full" yaml:"source_full"`
}

// ProxyProtocol configures the PROXY protocol (v1 and v2) on every chat
// listener, for chatd behind a TCP load balancer. A header is believed
// only from a Trusted peer; Policy says what happens to the others.
type ProxyProtocol struct {
	Enabled       bool          `mapstructure:"enabled" yaml:"enabled"`
	Trusted       []string      `mapstructure:"trusted" yaml:"trusted"` // CIDRs or addresses
	Policy        string        `mapstructure:"policy" yaml:"policy"`   // refuse or ignore
	HeaderTimeout time.Duration `mapstructure:"header_timeout" yaml:"header_timeout"`
}

// TLS configures the optional TLS chat listeners.
type TLS struct {
	Listen   []string `mapstructure:"listen" yaml:"listen"`
	CertFile string   `mapstructure:"cert_file" yaml:"cert_file"`
	KeyFile  string   `mapstructure:"key_file" yaml:"key_file"`
	ClientCA string   `mapstructure:"client_ca" yaml:"client_ca"` // "": no client certificates
}

// Admin configures the admin API's Unix socket.
type Admin struct {
	Socket string `mapstructure:"socket" yaml:"socket"`
	Mode   Mode   `mapstructure:"mode" yaml:"mode"`
	Group  string `mapstructure:"group" yaml:"group"`
}

// Log configures the structured log on stderr.
type Log struct {
	Level  string `mapstructure:"level" yaml:"level"`
	Format string `mapstructure:"format" yaml:"format"`
}

// Mode is a file mode written as octal digits, always with a leading 0
// once decoded: "0660".
type Mode string

// SocketMode is admin.mode as a file mode. It is valid once Load succeeded.
func (a Admin) SocketMode() os.FileMode {
	m, _ := strconv.ParseUint(string(a.Mode), 8, 32)
	return os.FileMode(m)
}

// TLSFiles is the tls section's certificate files.
func (c *Config) TLSFiles() tlslisten.Files {
	return tlslisten.Files{CertFile: c.TLS.CertFile, KeyFile: c.TLS.KeyFile, ClientCA: c.TLS.ClientCA}
}

// Defaults returns the embedded defaults: chatd runs with no config file.
func Defaults() Config {
	return Config{
		Listen:        []string{"127.0.0.1:5605"},
		MaxClients:    10000,
		ProxyProtocol: ProxyProtocol{Trusted: []string{}, Policy: "refuse", HeaderTimeout: 3 * time.Second},
		TLS:           TLS{Listen: []string{}},
		WriteTimeout:  30 * time.Second,
		IdleTimeout:   0,
		ShutdownGrace: 5 * time.Second,
		Greeting:      "",
		Notices: Notices{
			Kick:       "*** kicked by operator: {reason}",
			Shutdown:   "*** server shutting down",
			Idle:       "*** idle too long, disconnected",
			ServerFull: "*** server full, try again later",
			SourceFull: "*** too many connections from your address, try again later",
		},
		SurviveRestarts: true,
		StateDir:        paths.StateDir(),
		Admin: Admin{
			Socket: paths.AdminSocket(),
			Mode:   "0660",
			Group:  "",
		},
		Log: Log{Level: "info", Format: "text"},
	}
}

// Error is an invalid configuration value. Its message is one line naming
// the key, the value and where the value came from.
type Error struct {
	Key    string
	Value  string
	Source string // "file /etc/chatd/chatd.yaml", "environment CHATD_LISTEN", …
	Reason string
	err    error // the file system's error, for errors.Is
}

func (e *Error) Error() string {
	if e.Value == "" && e.Key == "" {
		return fmt.Sprintf("config %s: %s", e.Source, e.Reason)
	}
	return fmt.Sprintf("config: %s = %q (from %s): %s", e.Key, e.Value, e.Source, e.Reason)
}

func (e *Error) Unwrap() error { return e.err }
