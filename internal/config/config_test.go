package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// load runs Load with a flag set parsed from args, a config file holding
// yaml (none if empty) and the environment env, isolated from the host's
// default config files and CHATD_* variables.
func load(t *testing.T, yaml string, env map[string]string, args ...string) (*Config, error) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "CHATD_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	old := searchedFiles
	searchedFiles = func() []string { return []string{filepath.Join(t.TempDir(), "absent.yaml")} }
	t.Cleanup(func() { searchedFiles = old })
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	AddFlags(fs)
	if yaml != "" {
		f := filepath.Join(t.TempDir(), "chatd.yaml")
		if err := os.WriteFile(f, []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--config", f)
	}
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return Load(fs)
}

func TestDefaultsWithoutAnyFile(t *testing.T) {
	cfg, err := load(t, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Defaults()
	if cfg.Listen != "127.0.0.1:5605" || cfg.MaxClients != 10000 || cfg.WriteTimeout != 30*time.Second ||
		cfg.IdleTimeout != 0 || cfg.ShutdownGrace != 5*time.Second || cfg.Greeting != "" ||
		cfg.Notices != want.Notices || cfg.Admin != want.Admin || cfg.Log != want.Log || cfg.File != "" {
		t.Fatalf("defaults = %+v", cfg)
	}
}

func TestPrecedenceFlagsEnvFileDefaults(t *testing.T) {
	yaml := "listen: 127.0.0.1:1000\nmax_clients: 10\ngreeting: from-file\nadmin:\n  group: wheel\n"
	env := map[string]string{"CHATD_LISTEN": "127.0.0.1:2000", "CHATD_MAX_CLIENTS": "20", "CHATD_ADMIN_SOCKET": "/tmp/env.sock"}
	cfg, err := load(t, yaml, env, "--max-clients", "30")
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"flag beats env and file", cfg.MaxClients, 30},
		{"env beats file", cfg.Listen, "127.0.0.1:2000"},
		{"nested env without a file value", cfg.Admin.Socket, "/tmp/env.sock"},
		{"file beats default", cfg.Greeting, "from-file"},
		{"nested file value", cfg.Admin.Group, "wheel"},
		{"default", cfg.WriteTimeout, 30 * time.Second},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	if !strings.HasSuffix(cfg.File, "chatd.yaml") {
		t.Errorf("File = %q", cfg.File)
	}
}

func TestInvalidValues(t *testing.T) {
	tests := []struct {
		name, yaml string
		env        map[string]string
		args       []string
		key        string
		source     string
	}{
		{name: "port range", yaml: "listen: 127.0.0.1:65536\n", key: "listen", source: "file"},
		{name: "missing port", yaml: "listen: 127.0.0.1\n", key: "listen", source: "file"},
		{name: "max clients zero", yaml: "max_clients: 0\n", key: "max_clients", source: "file"},
		{name: "max clients float", yaml: "max_clients: 1.5\n", key: "max_clients", source: "file"},
		{name: "max clients word", env: map[string]string{"CHATD_MAX_CLIENTS": "many"}, key: "max_clients", source: "environment CHATD_MAX_CLIENTS"},
		{name: "negative write timeout", yaml: "write_timeout: -5s\n", key: "write_timeout", source: "file"},
		{name: "zero write timeout", yaml: "write_timeout: 0s\n", key: "write_timeout", source: "file"},
		{name: "negative idle", yaml: "idle_timeout: -1m\n", key: "idle_timeout", source: "file"},
		{name: "unitless duration", yaml: "shutdown_grace: 10\n", key: "shutdown_grace", source: "file"},
		{name: "garbage duration", yaml: "shutdown_grace: soon\n", key: "shutdown_grace", source: "file"},
		{name: "unknown key", yaml: "max_client: 3\n", key: "max_client", source: "file"},
		{name: "section as value", yaml: "log: loud\n", key: "log", source: "file"},
		{name: "list for string", yaml: "greeting: [a, b]\n", key: "greeting", source: "file"},
		{name: "relative state dir", yaml: "state_dir: state\n", key: "state_dir", source: "file"},
		{name: "socket too long", yaml: "admin:\n  socket: /" + strings.Repeat("s", 120) + "\n", key: "admin.socket", source: "file"},
		{name: "mode not octal", yaml: "admin:\n  mode: \"0999\"\n", key: "admin.mode", source: "file"},
		{name: "mode too big", yaml: "admin:\n  mode: \"01777\"\n", key: "admin.mode", source: "file"},
		{name: "group with space", yaml: "admin:\n  group: \"a b\"\n", key: "admin.group", source: "file"},
		{name: "log format", env: map[string]string{"CHATD_LOG_FORMAT": "xml"}, key: "log.format", source: "environment CHATD_LOG_FORMAT"},
		{name: "flag", args: []string{"--log-level", "trace"}, key: "log.level", source: "flag --log-level"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, tt.yaml, tt.env, tt.args...)
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a *config.Error", err)
			}
			if ce.Key != tt.key || !strings.HasPrefix(ce.Source, tt.source) {
				t.Fatalf("error names key %q from %q, want %q from %q: %v", ce.Key, ce.Source, tt.key, tt.source, err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
		})
	}
}

func TestValidEdgeValues(t *testing.T) {
	tests := []struct{ name, yaml string }{
		{"port zero picks a free port", "listen: 127.0.0.1:0\n"},
		{"all interfaces", "listen: \":5605\"\n"},
		{"ipv6", "listen: \"[::1]:5605\"\n"},
		{"host name", "listen: localhost:5605\n"},
		{"unquoted octal mode", "admin:\n  mode: 0640\n"},
		{"zero idle timeout", "idle_timeout: 0\n"},
		{"empty file", "# nothing\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := load(t, tt.yaml, nil); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestUnquotedOctalModeMeansWhatItSays(t *testing.T) {
	cfg, err := load(t, "admin:\n  mode: 0640\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Admin.SocketMode() != 0o640 {
		t.Fatalf("mode = %o, want 640", cfg.Admin.SocketMode())
	}
}

func TestExplicitMissingFile(t *testing.T) {
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	AddFlags(fs)
	fs.Parse([]string{"--config", "/nonexistent/chatd.yaml"})
	_, err := Load(fs)
	var ce *Error
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("err = %v", err)
	}
}

func TestYAMLRoundTrips(t *testing.T) {
	cfg, err := load(t, "greeting: \"hi {id}: \\\"quoted\\\"\"\nidle_timeout: 90s\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := cfg.YAML()
	if err != nil {
		t.Fatal(err)
	}
	again, err := load(t, string(out), nil)
	if err != nil {
		t.Fatalf("YAML output does not load: %v\n%s", err, out)
	}
	again.File, cfg.File = "", ""
	if *again != *cfg {
		t.Fatalf("round trip changed the config:\n%+v\n%+v", cfg, again)
	}
}
