package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestUnitStopTimeout(t *testing.T) {
	tests := []struct {
		unit string
		want time.Duration
		ok   bool
	}{
		{"[Service]\nTimeoutStopSec=30\n", 30 * time.Second, true},
		{"[Service]\nTimeoutStopSec=1min 30s\n", 90 * time.Second, true},
		{"[Service]\nTimeoutStopSec=500ms\n", 500 * time.Millisecond, true},
		{"[Service]\nTimeoutStopSec=2min\n", 2 * time.Minute, true},
		{"[Service]\nTimeoutStopSec=1h 5sec\n", time.Hour + 5*time.Second, true},
		{"[Service]\nTimeoutStopSec=10\nTimeoutStopSec=2m\n", 2 * time.Minute, true},
		{"[Service]\nTimeoutStopSec=infinity\n", 0, false},
		{"[Service]\nExecStart=/bin/true\n", 0, false},
	}
	for _, tt := range tests {
		f := filepath.Join(t.TempDir(), "chatd.service")
		os.WriteFile(f, []byte(tt.unit), 0o644)
		got, ok, err := UnitStopTimeout(f)
		if err != nil || got != tt.want || ok != tt.ok {
			t.Errorf("%q: %v %v %v, want %v %v", tt.unit, got, ok, err, tt.want, tt.ok)
		}
	}
	f := filepath.Join(t.TempDir(), "bad.service")
	os.WriteFile(f, []byte("TimeoutStopSec=soon\n"), 0o644)
	if _, _, err := UnitStopTimeout(f); err == nil {
		t.Error("TimeoutStopSec=soon: no error")
	}
}

func TestReadUnitUserAndDirectories(t *testing.T) {
	f := filepath.Join(t.TempDir(), "chatd.service")
	os.WriteFile(f, []byte("[Service]\nUser=chatd\nGroup=chatd\nRuntimeDirectory=chatd\nStateDirectory=chatd other/sub\nTimeoutStopSec=30\n"), 0o644)
	u, err := ReadUnit(f)
	if err != nil {
		t.Fatal(err)
	}
	if u.User != "chatd" || u.Group != "chatd" || u.Path != f || !u.HasStopTimeout || u.StopTimeout != 30*time.Second {
		t.Errorf("ReadUnit = %+v", u)
	}
	if got := strings.Join(u.StateDirectories, " "); got != "/var/lib/chatd /var/lib/other/sub" {
		t.Errorf("state directories %q", got)
	}
	if got := strings.Join(u.RuntimeDirectories, " "); got != "/run/chatd" {
		t.Errorf("runtime directories %q", got)
	}
}

func TestReadUnitHiddenDirectories(t *testing.T) {
	for _, c := range []struct{ unit, want string }{
		{"ProtectHome=yes\nPrivateTmp=yes\n", "/home /root /run/user /tmp /var/tmp"},
		{"ProtectHome=read-only\n", ""},
		{"ProtectHome=tmpfs\n", "/home /root /run/user"},
		{"PrivateTmp=yes\nPrivateTmp=no\n", ""},
		{"ExecStart=/bin/true\n", ""},
	} {
		f := filepath.Join(t.TempDir(), "chatd.service")
		os.WriteFile(f, []byte("[Service]\n"+c.unit), 0o644)
		u, err := ReadUnit(f)
		if err != nil {
			t.Fatal(err)
		}
		var dirs []string
		for _, h := range u.Hidden {
			dirs = append(dirs, h.Dir)
		}
		if got := strings.Join(dirs, " "); got != c.want {
			t.Errorf("%q: hidden %q, want %q", c.unit, got, c.want)
		}
	}
}
