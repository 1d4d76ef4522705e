package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestValueIsWhatShowPrintsForOneKey(t *testing.T) {
	c := Defaults()
	c.Listen = []string{"127.0.0.1:5605", "[::1]:5605"}
	c.ShutdownGrace = 1500 * time.Millisecond
	c.Admin.Socket = "/run/chatd/admin.sock"
	c.TLS.Listen = []string{}
	for _, tc := range []struct {
		key  string
		want []string
	}{
		{"listen", []string{"127.0.0.1:5605", "[::1]:5605"}},
		{"tls.listen", []string{}},
		{"max_clients", []string{"10000"}},
		{"shutdown_grace", []string{"1.5s"}},
		{"survive_restarts", []string{"true"}},
		{"admin.socket", []string{"/run/chatd/admin.sock"}},
		{"admin.mode", []string{"0660"}},
		{"admin.group", []string{""}},
	} {
		got, err := c.Value(tc.key)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("Value(%q) = %q, %v; want %q", tc.key, got, err, tc.want)
		}
	}
}

func TestValueRefusesUnknownKeysAndSections(t *testing.T) {
	c := Defaults()
	for _, tc := range []struct{ key, want string }{
		{"max_client", "did you mean max_clients?"},
		{"admin", "is a section; give one of its keys: admin.socket, admin.mode, admin.group"},
		{"no_such_thing_at_all", "unknown key"},
	} {
		_, err := c.Value(tc.key)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("Value(%q): %v; want one line saying %q", tc.key, err, tc.want)
		}
	}
}
