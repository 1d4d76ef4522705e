package config

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// The key table and Config must list the same keys: a field without a row
// would be neither defaulted, validated nor compared on reload.
func TestKeyTableCoversConfig(t *testing.T) {
	var fields []string
	var walk func(prefix string, typ reflect.Type)
	walk = func(prefix string, typ reflect.Type) {
		for i := range typ.NumField() {
			tag := typ.Field(i).Tag.Get("mapstructure")
			if tag == "" || tag == "-" {
				continue
			}
			if typ.Field(i).Type.Kind() == reflect.Struct {
				walk(prefix+tag+".", typ.Field(i).Type)
				continue
			}
			fields = append(fields, prefix+tag)
		}
	}
	walk("", reflect.TypeFor[Config]())
	var names []string
	for _, k := range keys {
		names = append(names, k.name)
	}
	slices.Sort(fields)
	slices.Sort(names)
	if !slices.Equal(fields, names) {
		t.Fatalf("Config has keys %v, the table %v", fields, names)
	}
}

func TestDiffAndReloadable(t *testing.T) {
	running := Defaults()
	tests := []struct {
		name          string
		change        func(c *Config)
		live, restart []string
	}{
		{"nothing", func(*Config) {}, nil, nil},
		{"live keys", func(c *Config) { c.MaxClients = 3; c.Notices.Kick = "bye"; c.IdleTimeout = time.Hour },
			[]string{"max_clients", "idle_timeout", "notices.kick"}, nil},
		{"restart keys", func(c *Config) { c.Listen = []string{"127.0.0.1:1"}; c.Admin.Mode = "0600"; c.Log.Format = "json" },
			nil, []string{"listen", "admin.mode", "log.format"}},
		{"both", func(c *Config) { c.Log.Level = "debug"; c.StateDir = "/elsewhere" },
			[]string{"log.level"}, []string{"state_dir"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := Defaults()
			tt.change(&next)
			ch := Diff(&running, &next)
			if !slices.Equal(ch.Live, tt.live) || !slices.Equal(ch.Restart, tt.restart) {
				t.Fatalf("Diff = %+v, want live %v restart %v", ch, tt.live, tt.restart)
			}
			merged := Reloadable(&running, &next)
			after := Diff(&running, merged)
			if len(after.Restart) != 0 || !slices.Equal(after.Live, tt.live) {
				t.Fatalf("Reloadable kept %+v, want only the live changes %v", after, tt.live)
			}
		})
	}
}

func TestNearestKey(t *testing.T) {
	tests := map[string]string{
		"max_client":              "max_clients",
		"maxclients":              "max_clients",
		"listn":                   "listen",
		"log.levle":               "log.level",
		"notices.kik":             "notices.kick",
		"group":                   "admin.group",
		"shutdowngrace":           "shutdown_grace",
		"colour":                  "",
		"something_else_entirely": "",
	}
	for in, want := range tests {
		if got := nearest(in); got != want {
			t.Errorf("nearest(%q) = %q, want %q", in, got, want)
		}
	}
}

// --help names each flag's default and environment variable, and the
// environment table the variables of the keys without a flag.
func TestFlagHelpShowsDefaultsAndEnvironment(t *testing.T) {
	fs := newFlagSet()
	usage := fs.FlagUsages() + EnvironmentHelp()
	for _, want := range []string{"(default 10000)", "CHATD_MAX_CLIENTS", `(default "127.0.0.1:5605")`,
		"CHATD_WRITE_TIMEOUT", "CHATD_NOTICES_KICK", "--max-clients int"} {
		if !strings.Contains(usage, want) {
			t.Errorf("flag help lacks %q:\n%s", want, usage)
		}
	}
}
