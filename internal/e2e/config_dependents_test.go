package e2e

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/testbin"
)

// runChatdWithin is runChatd for commands that must end on their own
// (a `run` that must refuse to start): one still running after 20 s is
// killed and the test fails.
// shortTempDir is a temporary directory with a path short enough for a
// Unix socket in it.
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "chatd-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func runChatdWithin(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, testbin.Path(t, "chatd"), args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("chatd %s still running after 20 s; stderr %q", strings.Join(args, " "), stderr.String())
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), stderr.String()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, stderr.String()
}

// A setting its companion leaves without effect is refused by `config
// check` and by `run`, exit 2, one line naming the key and the fix, and
// run does not start.
func TestSettingThatDoesNothingIsRefused(t *testing.T) {
	dir := shortTempDir(t)
	f := filepath.Join(dir, "chatd.yaml")
	// Its own socket and state: a run that wrongly starts must not touch
	// the system's (root's defaults are /run/chatd and /var/lib/chatd).
	os.WriteFile(f, []byte("listen: 127.0.0.1:0\nstate_dir: "+dir+"\nadmin:\n  socket: "+dir+"/admin.sock\n"+
		"proxy_protocol:\n  enabled: false\n  trusted: [\"127.0.0.1/32\"]\n"), 0o644)
	const want = `config: proxy_protocol.trusted = "[127.0.0.1/32]" (from file ` // then the file, the reason
	const fix = "does nothing while proxy_protocol.enabled is false: set proxy_protocol.enabled: true, or remove proxy_protocol.trusted"
	for _, args := range [][]string{{"config", "check", "--config", f}, {"run", "--config", f}} {
		code, stderr := runChatdWithin(t, nil, args...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code != 2 || len(lines) != 1 || !strings.Contains(lines[0], want) || !strings.Contains(lines[0], fix) {
			t.Errorf("chatd %s: exit %d, stderr %q; want 2 and one line naming the key and the fix", args[0], code, stderr)
		}
		if strings.Contains(stderr, "chatd started") {
			t.Errorf("chatd %s started", args[0])
		}
	}
	code, stderr := runChatdWithin(t, []string{"CHATD_TLS_CLIENT_CA=/etc/ssl/ca.pem"}, "config", "check", "--config", "/dev/null")
	if code != 2 || !strings.Contains(stderr, "tls.client_ca") || !strings.Contains(stderr, "environment CHATD_TLS_CLIENT_CA") ||
		!strings.Contains(stderr, "add an address to tls.listen") {
		t.Errorf("client CA without TLS: exit %d, stderr %q", code, stderr)
	}
}
