package config

import (
	"reflect"
	"strings"
	"time"
)

// key is one configuration key. The table below is the only list of keys:
// defaults, flags, environment variables, validation, reload and the
// unknown-key hint are all derived from it. A new key is one row here and
// one field (with its default) in Config.
type key struct {
	name  string // as written in the file: "admin.socket"
	flag  string // command-line flag, "" for none
	usage string // one line for --help
	live  bool   // a reload applies it to the running daemon; otherwise it needs a restart
	check func(v any) error
}

const (
	live    = true
	restart = false
)

var keys = []key{
	{"listen", "listen", "chat listen addresses HOST:PORT, comma-separated", restart, each(hostPort)},
	{"max_clients", "max-clients", "most clients connected at once", live, atLeast(1)},
	{"max_clients_per_source", "max-clients-per-source", "most clients from one address (IPv6: one /64); 0 = no limit", live, atLeast(0)},
	{"proxy_protocol.enabled", "", "", restart, nil},
	{"proxy_protocol.trusted", "", "", restart, cidrs},
	{"proxy_protocol.policy", "", "", restart, oneOf("refuse", "ignore")},
	{"proxy_protocol.header_timeout", "", "", restart, durationAtLeast(time.Millisecond)},
	{"tls.listen", "", "", restart, each(hostPort)},
	{"tls.cert_file", "", "", live, absoluteOrEmpty},
	{"tls.key_file", "", "", live, absoluteOrEmpty},
	{"tls.client_ca", "", "", live, absoluteOrEmpty},
	{"write_timeout", "", "", live, durationAtLeast(time.Millisecond)},
	{"idle_timeout", "", "", live, durationAtLeast(0)},
	{"shutdown_grace", "", "", live, durationAtLeast(0)},
	{"greeting", "", "", live, nil},
	{"notices.kick", "", "", live, nil},
	{"notices.shutdown", "", "", live, nil},
	{"notices.idle", "", "", live, nil},
	{"notices.server_full", "", "", live, nil},
	{"notices.source_full", "", "", live, nil},
	{"survive_restarts", "", "", restart, nil},
	{"state_dir", "state-dir", "directory for persistent state", restart, usableDir},
	{"admin.socket", "admin-socket", "admin API Unix socket path", restart, socketPath},
	{"admin.mode", "", "", restart, nil}, // checked while decoding: see decodeMode
	{"admin.group", "", "", restart, existingGroup},
	{"log.level", "log-level", "debug, info, warn or error", live, oneOf("debug", "info", "warn", "error")},
	{"log.format", "log-format", "text or json", restart, oneOf("text", "json")},
}

// envName is the environment variable for a key: admin.socket ↔ CHATD_ADMIN_SOCKET.
func envName(name string) string {
	return EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(name, ".", "_"))
}

// field is the Config field a key names, found by its mapstructure tags.
func field(c *Config, name string) reflect.Value {
	v := reflect.ValueOf(c).Elem()
	for part := range strings.SplitSeq(name, ".") {
		t := v.Type()
		found := false
		for i := range t.NumField() {
			if t.Field(i).Tag.Get("mapstructure") == part {
				v, found = v.Field(i), true
				break
			}
		}
		if !found {
			panic("config: key " + name + " has no field in Config")
		}
	}
	return v
}

// Changes is what differs between the running configuration and one just
// read.
type Changes struct {
	Live    []string // keys a reload applies at once
	Restart []string // keys that take effect only at the next start
}

// Diff compares the running configuration with the next one, key by key.
func Diff(running, next *Config) Changes {
	var ch Changes
	for _, k := range keys {
		if same(field(running, k.name), field(next, k.name)) {
			continue
		}
		if k.live {
			ch.Live = append(ch.Live, k.name)
		} else {
			ch.Restart = append(ch.Restart, k.name)
		}
	}
	return ch
}

// same reports whether two values of a key are equal; an empty list is
// the same as none.
func same(a, b reflect.Value) bool {
	if a.Kind() == reflect.Slice && a.Len() == 0 && b.Len() == 0 {
		return true
	}
	return reflect.DeepEqual(a.Interface(), b.Interface())
}

// Reloadable is next with every key that needs a restart set back to its
// running value, so that the result still describes the daemon as it runs.
func Reloadable(running, next *Config) *Config {
	merged := *next
	for _, k := range keys {
		if !k.live {
			field(&merged, k.name).Set(field(running, k.name))
		}
	}
	return &merged
}
