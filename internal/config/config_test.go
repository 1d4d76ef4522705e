package config

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
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
	fs := newFlagSet()
	if file := isolate(t, yaml, env); file != "" {
		args = append(args, "--config", file)
	}
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return Load(fs)
}

// isolate hides the host's default config files and CHATD_* variables,
// sets env, and writes yaml (if any) to a file it returns.
func isolate(t *testing.T, yaml string, env map[string]string) string {
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
	if yaml == "" {
		return ""
	}
	f := filepath.Join(t.TempDir(), "chatd.yaml")
	if err := os.WriteFile(f, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestDefaultsWithoutAnyFile(t *testing.T) {
	cfg, err := load(t, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Defaults()
	if !slices.Equal(cfg.Listen, []string{"127.0.0.1:5605"}) || cfg.MaxClients != 10000 || cfg.WriteTimeout != 30*time.Second ||
		cfg.IdleTimeout != 0 || cfg.ShutdownGrace != 5*time.Second || cfg.Greeting != "" ||
		cfg.Notices != want.Notices || cfg.Admin != want.Admin || cfg.Log != want.Log || cfg.File != "" {
		t.Fatalf("defaults = %+v", cfg)
	}
}

func TestPrecedenceFlagsEnvFileDefaults(t *testing.T) {
	yaml := "listen: 127.0.0.1:1000\nmax_clients: 10\ngreeting: from-file\nadmin:\n  group: " + ownGroup(t) + "\n"
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
		{"env beats file", cfg.Listen[0], "127.0.0.1:2000"},
		{"nested env without a file value", cfg.Admin.Socket, "/tmp/env.sock"},
		{"file beats default", cfg.Greeting, "from-file"},
		{"nested file value", cfg.Admin.Group, ownGroup(t)},
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
		reason     string // part of the message, when the test is about it
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
		{name: "unknown key", yaml: "max_client: 3\n", key: "max_client", source: "file", reason: "did you mean max_clients?"},
		{name: "unknown key far from any", yaml: "colour: red\n", key: "colour", source: "file", reason: "unknown key ("},
		{name: "leaf without its section", yaml: "socket: /x\n", key: "socket", source: "file", reason: "did you mean admin.socket?"},
		{name: "unknown nested key", yaml: "admin:\n  sockett: /x\n", key: "admin.sockett", source: "file", reason: "did you mean admin.socket?"},
		{name: "max clients flag not a number", args: []string{"--max-clients", "abc"}, key: "max_clients", source: "flag --max-clients", reason: "must be a whole number"},
		{name: "duration env without unit", env: map[string]string{"CHATD_WRITE_TIMEOUT": "30"}, key: "write_timeout", source: "environment CHATD_WRITE_TIMEOUT", reason: "needs a unit, like 30s"},
		{name: "mode beyond 777 unquoted", yaml: "admin:\n  mode: 1777\n", key: "admin.mode", source: "file", reason: "octal file mode"},
		{name: "mode with a 9", yaml: "admin:\n  mode: 699\n", key: "admin.mode", source: "file", reason: "octal file mode"},
		{name: "group that does not exist", yaml: "admin:\n  group: no-such-group-chatd\n", key: "admin.group", source: "file", reason: "no such group"},
		{name: "socket where a file is", yaml: "admin:\n  socket: " + aFile(t) + "\n", key: "admin.socket", source: "file", reason: "not a socket"},
		{name: "socket under a file", yaml: "admin:\n  socket: " + aFile(t) + "/run/admin.sock\n", key: "admin.socket", source: "file", reason: "is not a directory"},
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
			if !strings.Contains(ce.Reason, tt.reason) || strings.Contains(err.Error(), "strconv") {
				t.Fatalf("error %q does not say %q", err, tt.reason)
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

// A mode is the octal digits as written, quoted or not, as chmod reads
// them. YAML alone would read an unquoted 660 as six hundred and sixty.
func TestModeIsTheOctalDigitsWritten(t *testing.T) {
	tests := []struct {
		yaml string
		env  map[string]string
		want os.FileMode
	}{
		{yaml: "admin:\n  mode: 0640\n", want: 0o640},
		{yaml: "admin:\n  mode: 660\n", want: 0o660},
		{yaml: "admin:\n  mode: \"660\"\n", want: 0o660},
		{yaml: "admin:\n  mode: \"0660\"\n", want: 0o660},
		{yaml: "admin:\n  mode: 0o600\n", want: 0o600},
		{yaml: "Admin:\n  Mode: 600\n", want: 0o600},
		{yaml: "admin:\n  mode: 0\n", want: 0},
		{env: map[string]string{"CHATD_ADMIN_MODE": "640"}, want: 0o640},
		{yaml: "admin:\n  mode: 600\n", env: map[string]string{"CHATD_ADMIN_MODE": "0666"}, want: 0o666},
	}
	for _, tt := range tests {
		t.Run(tt.yaml+fmt.Sprint(tt.env), func(t *testing.T) {
			cfg, err := load(t, tt.yaml, tt.env)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Admin.SocketMode() != tt.want || cfg.Admin.Mode != Mode(fmt.Sprintf("0%03o", tt.want)) {
				t.Fatalf("mode = %q (%o), want %o", cfg.Admin.Mode, cfg.Admin.SocketMode(), tt.want)
			}
		})
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
	again.Origin, cfg.Origin = "", ""
	if !reflect.DeepEqual(again, cfg) {
		t.Fatalf("round trip changed the config:\n%+v\n%+v", cfg, again)
	}
}

// ownGroup is the name of a group this test process is a member of.
func ownGroup(t *testing.T) string {
	t.Helper()
	g, err := user.LookupGroupId(strconv.Itoa(os.Getegid()))
	if err != nil {
		t.Skipf("no name for gid %d: %v", os.Getegid(), err)
	}
	return g.Name
}

// aFile is a regular file, where a directory or socket is expected.
func aFile(t *testing.T) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

func newFlagSet() *pflag.FlagSet {
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	AddFlags(fs)
	return fs
}

// A config meant for another machine (the package's, before its postinst
// made the group) can be shown here; run and check still refuse it here,
// and what is wrong with the config itself is refused by show too.
func TestLoadForShowLeavesOutOnlyTheHostChecks(t *testing.T) {
	notADir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notADir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, yaml string
		showOK     bool
	}{
		{"group of another machine", "admin:\n  group: no-such-group-chatd\n", true},
		{"socket under a file of this machine", "admin:\n  socket: " + notADir + "/admin.sock\n", true},
		{"a bad value", "max_clients: 0\n", false},
		{"an unknown key", "max_client: 5\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := load(t, tc.yaml, nil); err == nil {
				t.Fatal("Load accepted it")
			}
			fs := newFlagSet()
			if err := fs.Parse([]string{"--config", isolate(t, tc.yaml, nil)}); err != nil {
				t.Fatal(err)
			}
			if _, err := LoadForShow(fs); (err == nil) != tc.showOK {
				t.Fatalf("LoadForShow: err %v, want ok %v", err, tc.showOK)
			}
		})
	}
}
