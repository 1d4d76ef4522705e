package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/testbin"
)

// `chatd config show KEY` is how scripts (install.sh) read a setting: the
// value alone, one line per list item, from the same merged sources.
func TestConfigShowKeyPrintsOnlyTheValue(t *testing.T) {
	f := filepath.Join(t.TempDir(), "chatd.yaml")
	yaml := "listen: [\"127.0.0.1:7000\", \"[::1]:7000\"]\nadmin:\n  socket: \"/run/x/admin.sock\"\n"
	if err := os.WriteFile(f, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		env  []string
		key  string
		want string
	}{
		{nil, "listen", "127.0.0.1:7000\n[::1]:7000\n"},
		{[]string{"CHATD_LISTEN=127.0.0.1:7001"}, "listen", "127.0.0.1:7001\n"},
		{nil, "admin.socket", "/run/x/admin.sock\n"},
		{nil, "write_timeout", "30s\n"},
	} {
		cmd := exec.Command(testbin.Path(t, "chatd"), "config", "show", "--config", f, tc.key)
		cmd.Env = append(os.Environ(), tc.env...)
		out, err := cmd.Output()
		if err != nil || string(out) != tc.want {
			t.Errorf("config show %s (env %v) = %q, %v; want %q", tc.key, tc.env, out, err, tc.want)
		}
	}
	code, stderr := runChatd(t, nil, "config", "show", "--config", f, "max_client")
	if code != 2 || !strings.Contains(stderr, "did you mean max_clients?") {
		t.Errorf("config show max_client: exit %d, %q; want 2 with the nearest key", code, stderr)
	}
}
