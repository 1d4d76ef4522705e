package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAdminSocketReadsOnlyTheSocketWithChatdsPrecedence(t *testing.T) {
	tests := []struct {
		name, yaml  string
		env         map[string]string
		want, group string
		isDefault   bool
	}{
		{name: "nothing set", isDefault: true},
		{name: "file", yaml: "admin:\n  socket: /f.sock\n  group: ops\n", want: "/f.sock", group: "ops"},
		{name: "env beats file", yaml: "admin:\n  socket: /f.sock\n", env: map[string]string{"CHATD_ADMIN_SOCKET": "/e.sock"}, want: "/e.sock"},
		// chatctl is not stopped by keys it does not use.
		{name: "rest of the file invalid", yaml: "max_clients: lots\nbogus: 1\nadmin:\n  socket: /f.sock\n", want: "/f.sock"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := isolate(t, tt.yaml, tt.env)
			ep, err := AdminSocket(file)
			if err != nil {
				t.Fatal(err)
			}
			if ep.Default != tt.isDefault || (!tt.isDefault && ep.Socket != tt.want) || ep.Group != tt.group {
				t.Fatalf("AdminSocket = %+v, want %q group %q default %v", ep, tt.want, tt.group, tt.isDefault)
			}
		})
	}
	if _, err := AdminSocket("/nonexistent/chatd.yaml"); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("explicit missing file: err = %v", err)
	}
}

// A default file this user cannot read is passed over for the next one,
// and Origin says so.
func TestUnreadableDefaultFileGivesWayToTheNext(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads every file; internal/e2e runs this as an unprivileged user")
	}
	dir := t.TempDir()
	system, own := filepath.Join(dir, "system.yaml"), filepath.Join(dir, "own.yaml")
	os.WriteFile(system, []byte("max_clients: 1\n"), 0o000)
	os.WriteFile(own, []byte("max_clients: 2\n"), 0o644)
	isolate(t, "", nil)
	searchedFiles = func() []string { return []string{system, own} }
	cfg, err := Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.File != own || cfg.MaxClients != 2 || !strings.Contains(cfg.Origin, "skipped unreadable "+system) {
		t.Fatalf("File %q, max_clients %d, origin %q", cfg.File, cfg.MaxClients, cfg.Origin)
	}
	searchedFiles = func() []string { return []string{system} }
	if _, err := Load(nil); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("only an unreadable file: err = %v", err)
	}
}

func TestOriginSaysWhatIsInEffect(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  map[string]string
		args []string
		want []string
	}{
		{name: "nothing", want: []string{"built-in defaults (no config file found)"}},
		{name: "environment only", env: map[string]string{"CHATD_MAX_CLIENTS": "5", "CHATD_LOG_LEVEL": "debug"},
			want: []string{"environment CHATD_MAX_CLIENTS, CHATD_LOG_LEVEL over built-in defaults"}},
		{name: "all three", yaml: "greeting: hi\n", env: map[string]string{"CHATD_LISTEN": "127.0.0.1:1"}, args: []string{"--max-clients", "3"},
			want: []string{"file ", "environment CHATD_LISTEN", "flags --max-clients over built-in defaults"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := load(t, tt.yaml, tt.env, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(cfg.Origin, w) {
					t.Errorf("Origin %q lacks %q", cfg.Origin, w)
				}
			}
		})
	}
}
