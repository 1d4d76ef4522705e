package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/service"
	"github.com/chatd/chatd/internal/testbin"
)

// runChatd runs the real chatd binary and returns its exit status and
// combined output.
func runChatd(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(testbin.Path(t, "chatd"), args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), out.String()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, out.String()
}

// Where no service manager runs (a container whose PID 1 is not an init),
// every service command says so with exit status 4 and points at the
// foreground. The sandboxed-systemd test covers the real thing.
func TestServiceCommandsWithoutAServiceManager(t *testing.T) {
	if p := service.Detect(); p.Usable {
		t.Skipf("a service manager (%s) runs here; not installing into it from a unit test", p.Name)
	}
	code, out := runChatd(t, "service", "platform")
	// One line: the exit status says the rest, with no error line added.
	if code != 4 || !strings.HasPrefix(out, "none: ") || strings.Count(out, "\n") != 1 {
		t.Errorf("service platform: exit %d: %q", code, out)
	}
	code, out = runChatd(t, "service", "status")
	// Said once: "no service manager: no service manager is running" stutters.
	if code != 4 || strings.Count(out, "no service manager") != 1 {
		t.Errorf("service status: exit %d: %q", code, out)
	}
	if os.Geteuid() == 0 {
		code, out = runChatd(t, "service", "install")
		if code != 4 || !strings.Contains(out, "run chatd in the foreground instead: ") ||
			strings.Count(strings.TrimSpace(out), "\n") != 0 {
			t.Errorf("service install: exit %d: %q", code, out)
		}
	}
}

func TestServiceCommandsNeedRootToChangeAnything(t *testing.T) {
	args := []string{"service", "install"}
	path := testbin.Path(t, "chatd")
	cmd := exec.Command(path, args...)
	if os.Geteuid() == 0 {
		setpriv, err := exec.LookPath("setpriv")
		if err != nil {
			t.Skip("setpriv is not installed: cannot drop root for this test")
		}
		cmd = exec.Command(setpriv, append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", path}, args...)...)
	}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), "needs root") {
		t.Fatalf("service install as non-root: %v: %q", err, out)
	}
}

func TestServiceFlagsAreChecked(t *testing.T) {
	code, out := runChatd(t, "service", "status", "--user", "bad name")
	if code != 2 || !strings.Contains(out, "not a valid account name") {
		t.Errorf("bad --user: exit %d: %q", code, out)
	}
	code, out = runChatd(t, "service", "bogus")
	if code == 0 {
		t.Errorf("unknown subcommand: exit 0: %q", out)
	}
}
