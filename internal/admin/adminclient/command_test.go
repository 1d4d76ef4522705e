package adminclient_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/admin/adminclient"
)

// statusReply is an admin API answer a fake command prints after reading
// the request's header.
const statusReply = `sed '/^\r*$/q' >/dev/null; body='{"version":"v7","pid":42}'; ` +
	`printf 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s' ${#body} "$body"`

func TestCommandClient(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("needs sh")
	}
	tests := []struct {
		name       string
		argv       []string
		wantPID    int    // the request succeeds with this pid
		wantStatus int    // else a *CommandError with this exit status
		wantErr    string // and this message
	}{
		{name: "HTTP over stdin and stdout", argv: []string{"sh", "-c", statusReply}, wantPID: 42},
		{name: "warnings on stderr are not errors",
			argv: []string{"sh", "-c", "echo 'Warning: Permanently added web1' >&2; " + statusReply}, wantPID: 42},
		{name: "the command fails before answering",
			argv:       []string{"sh", "-c", "echo 'some noise' >&2; printf 'ssh: connect to host web1 port 22: Connection refused\\r\\n' >&2; exit 255"},
			wantStatus: 255, wantErr: "sh exited with status 255: ssh: connect to host web1 port 22: Connection refused"},
		{name: "the command fails after reading the request",
			argv:       []string{"sh", "-c", `sed '/^\r*$/q' >/dev/null; echo 'chatctl: cannot reach chatd' >&2; exit 1`},
			wantStatus: 1, wantErr: "sh exited with status 1: chatctl: cannot reach chatd"},
		{name: "the command fails silently", argv: []string{"sh", "-c", "exit 3"},
			wantStatus: 3, wantErr: "sh exited with status 3"},
		{name: "the command does not exist", argv: []string{"/nonexistent/ssh", "web1"},
			wantErr: "cannot run /nonexistent/ssh: "},
		{name: "no answer, clean exit", argv: []string{"sh", "-c", "exit 0"},
			wantErr: "the connection was closed without an answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := adminclient.NewCommand("web1", tt.argv)
			defer c.Close()
			st, err := c.Status(context.Background())
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Status: %v", err)
				}
				if st.PID != tt.wantPID || st.Version != "v7" {
					t.Fatalf("Status = %+v, want pid %d", st, tt.wantPID)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q is more than one line", err)
			}
			var ce *adminclient.CommandError
			if tt.wantStatus != 0 && (!errors.As(err, &ce) || ce.Status != tt.wantStatus) {
				t.Errorf("error %#v, want a *CommandError with status %d", err, tt.wantStatus)
			}
		})
	}
}

// TestCommandClientReusesTheCommand checks that requests share one run of
// the command while it stays up: over ssh each run is a login.
func TestCommandClientReusesTheCommand(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("needs sh")
	}
	dir := shortDir(t)
	// Answers two requests on one connection, counting its runs.
	script := `echo run >>"$0"/runs; ` + statusReply + `; ` + statusReply
	c := adminclient.NewCommand("web1", []string{"sh", "-c", script, dir})
	defer c.Close()
	for range 2 {
		if _, err := c.Status(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	runs, err := os.ReadFile(filepath.Join(dir, "runs"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(runs), "run"); n != 1 {
		t.Fatalf("the command ran %d times for two requests, want 1", n)
	}
}
