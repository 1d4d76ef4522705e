package config

import (
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// validate checks every value's meaning (types were checked by decode).
func (c *Config) validate(src sources) error {
	bad := func(key, value, reason string) error {
		return &Error{Key: key, Value: value, Source: src.of(key), Reason: reason}
	}
	if err := checkAddr(c.Listen); err != nil {
		return bad("listen", c.Listen, err.Error())
	}
	if c.MaxClients < 1 {
		return bad("max_clients", strconv.Itoa(c.MaxClients), "must be at least 1")
	}
	for _, d := range []struct {
		key string
		val time.Duration
		min time.Duration
	}{
		{"write_timeout", c.WriteTimeout, time.Millisecond},
		{"idle_timeout", c.IdleTimeout, 0},
		{"shutdown_grace", c.ShutdownGrace, 0},
	} {
		if d.val < 0 {
			return bad(d.key, d.val.String(), "must not be negative")
		}
		if d.val < d.min {
			return bad(d.key, d.val.String(), "must be at least "+d.min.String())
		}
	}
	if c.StateDir == "" || !filepath.IsAbs(c.StateDir) {
		return bad("state_dir", c.StateDir, "must be an absolute path")
	}
	if c.Admin.Socket == "" || !filepath.IsAbs(c.Admin.Socket) {
		return bad("admin.socket", c.Admin.Socket, "must be an absolute path")
	}
	// sun_path holds 108 bytes on Linux (104 on BSDs), including the NUL.
	if len(c.Admin.Socket) > 103 {
		return bad("admin.socket", c.Admin.Socket, "is too long for a Unix socket path (at most 103 bytes)")
	}
	if m, err := strconv.ParseUint(c.Admin.Mode, 8, 32); err != nil || m > 0o777 || !strings.HasPrefix(c.Admin.Mode, "0") {
		return bad("admin.mode", c.Admin.Mode, `must be an octal file mode in quotes, like "0660"`)
	}
	if strings.ContainsAny(c.Admin.Group, " :/\n") {
		return bad("admin.group", c.Admin.Group, "is not a valid group name")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return bad("log.level", c.Log.Level, "must be one of debug, info, warn, error")
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		return bad("log.format", c.Log.Format, "must be text or json")
	}
	return nil
}

// checkAddr accepts HOST:PORT with a numeric port 0–65535 (0 picks a free
// port); HOST may be empty (all interfaces), an IP or a name.
func checkAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("must be HOST:PORT, like 127.0.0.1:5605")
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("port must be a number from 0 to 65535")
	}
	if strings.ContainsAny(host, " /") {
		return fmt.Errorf("host %q is not an IP address or host name", host)
	}
	return nil
}
