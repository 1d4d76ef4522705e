package e2e

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/testbin"
)

func TestConfigErrorsExit2NamingTheKey(t *testing.T) {
	tests := []struct {
		name    string
		file    string // config file contents ("" = no --config)
		env     []string
		args    []string
		wantKey string
	}{
		{name: "bad port", file: "listen: 127.0.0.1:70000\n", wantKey: "listen"},
		{name: "no port", file: "listen: localhost\n", wantKey: "listen"},
		{name: "zero max clients", file: "max_clients: 0\n", wantKey: "max_clients"},
		{name: "max clients not a number", file: "max_clients: lots\n", wantKey: "max_clients"},
		{name: "negative duration", file: "write_timeout: -1s\n", wantKey: "write_timeout"},
		{name: "duration without unit", file: "shutdown_grace: 5\n", wantKey: "shutdown_grace"},
		{name: "unknown key", file: "listn: 127.0.0.1:1\n", wantKey: "listn"},
		{name: "unknown nested key", file: "admin:\n  sockett: /x\n", wantKey: "admin.sockett"},
		{name: "unknown key names the nearest", file: "max_client: 3\n", wantKey: "unknown key; did you mean max_clients?"},
		{name: "bad log level", file: "log:\n  level: loud\n", wantKey: "log.level"},
		{name: "bad admin mode", file: "admin:\n  mode: \"rw\"\n", wantKey: "admin.mode"},
		{name: "relative socket", file: "admin:\n  socket: admin.sock\n", wantKey: "admin.socket"},
		{name: "env", env: []string{"CHATD_MAX_CLIENTS=-3"}, wantKey: "CHATD_MAX_CLIENTS"},
		{name: "nested env", env: []string{"CHATD_LOG_FORMAT=xml"}, wantKey: "CHATD_LOG_FORMAT"},
		{name: "flag", args: []string{"--listen", "nope"}, wantKey: "--listen"},
		{name: "not yaml", file: "listen: [\n", wantKey: "not valid YAML"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"config", "check"}
			if tt.file != "" {
				f := filepath.Join(t.TempDir(), "chatd.yaml")
				os.WriteFile(f, []byte(tt.file), 0o644)
				args = append(args, "--config", f)
			}
			code, stderr := runChatd(t, tt.env, append(args, tt.args...)...)
			if code != 2 {
				t.Fatalf("exit %d, want 2; stderr: %s", code, stderr)
			}
			if lines := strings.Count(strings.TrimSpace(stderr), "\n"); lines != 0 {
				t.Fatalf("error is %d lines, want one: %s", lines+1, stderr)
			}
			if !strings.Contains(stderr, tt.wantKey) {
				t.Fatalf("stderr %q does not name %q", stderr, tt.wantKey)
			}
		})
	}
}

func TestRunRejectsBadConfigBeforeStarting(t *testing.T) {
	code, stderr := runChatd(t, []string{"CHATD_LISTEN=127.0.0.1:99999"}, "run")
	if code != 2 || !strings.Contains(stderr, "listen") || strings.Contains(stderr, "chatd started") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

func TestExplicitMissingConfigIsAnError(t *testing.T) {
	code, stderr := runChatd(t, nil, "config", "check", "--config", "/nonexistent/chatd.yaml")
	if code != 2 || !strings.Contains(stderr, "no such file") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

func TestConfigShowMergesSources(t *testing.T) {
	f := filepath.Join(t.TempDir(), "chatd.yaml")
	os.WriteFile(f, []byte("listen: 127.0.0.1:7000\nmax_clients: 5\ngreeting: hi\n"), 0o644)
	cmd := exec.Command(testbin.Path(t, "chatd"), "config", "show", "--config", f, "--max-clients", "7")
	cmd.Env = append(os.Environ(), "CHATD_LISTEN=127.0.0.1:7001", "CHATD_MAX_CLIENTS=6")
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`listen: ["127.0.0.1:7001"]`, "max_clients: 7", `greeting: "hi"`, "write_timeout: 30s",
		"# effective chatd configuration from file " + f + ", environment CHATD_LISTEN, CHATD_MAX_CLIENTS, flags --max-clients"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("config show lacks %q:\n%s", want, out)
		}
	}
	// What show prints is itself a valid config.
	f2 := filepath.Join(t.TempDir(), "shown.yaml")
	os.WriteFile(f2, out, 0o644)
	if code, stderr := runChatd(t, nil, "config", "check", "--config", f2); code != 0 {
		t.Fatalf("config check of config show's output: exit %d: %s", code, stderr)
	}
}

func TestSampleConfigIsValidAndDocumentsEveryKey(t *testing.T) {
	sample := filepath.Join("..", "..", "configs", "chatd.yaml")
	code, stderr := runChatd(t, nil, "config", "check", "--config", sample)
	if code != 0 {
		t.Fatalf("configs/chatd.yaml: exit %d: %s", code, stderr)
	}
	text, _ := os.ReadFile(sample)
	shown, _ := exec.Command(testbin.Path(t, "chatd"), "config", "show", "--config", sample).Output()
	for _, line := range strings.Split(string(shown), "\n") {
		key, _, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || strings.HasPrefix(key, "#") {
			continue
		}
		if !bytes.Contains(text, []byte(key+":")) {
			t.Errorf("configs/chatd.yaml does not document %q", key)
		}
	}
}

// runChatd runs chatd with args and returns its exit code and stderr.
func runChatd(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(testbin.Path(t, "chatd"), args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), stderr.String()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, stderr.String()
}
