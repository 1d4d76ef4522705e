package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/testbin"
	"github.com/chatd/chatd/internal/tlslisten/tlstest"
)

// runChatdApart runs the chatd binary and returns its exit status, stdout
// and stderr apart.
func runChatdApart(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(testbin.Path(t, "chatd"), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), stdout.String(), stderr.String()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, stdout.String(), stderr.String()
}

// `chatd config check` run as root checks the files as the user the
// unit runs chatd as: a TLS key only root may read passed as root and
// then failed the service's start ("open key.pem: permission denied",
// exit 2, not restarted).
func TestConfigCheckReadsTheFilesAsTheUnitsUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: checks files as another user")
	}
	dir, err := os.MkdirTemp("", "chatd-check-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755) // the service's user may look inside, as in /etc/chatd
	ca := tlstest.NewCA(t, "config check CA")
	files := ca.IssueFiles(t, dir, "server", 2, false)
	os.Chmod(files.Cert, 0o644)
	os.Chmod(files.Key, 0o600) // root's alone: the mistake
	unit := filepath.Join(dir, "chatd.service")
	if err := os.WriteFile(unit, []byte("[Service]\nUser=nobody\nGroup=nogroup\nTimeoutStopSec=30\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "chatd.yaml")
	body := fmt.Sprintf("tls:\n  listen: [\"127.0.0.1:0\"]\n  cert_file: %s\n  key_file: %s\nstate_dir: %s\nadmin:\n  socket: %s\n",
		files.Cert, files.Key, filepath.Join(dir, "state"), filepath.Join(dir, "admin.sock"))
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	check := func() (int, string, string) {
		return runChatdApart(t, "config", "check", "--config", cfg, "--unit", unit)
	}

	code, out, errOut := check()
	want := fmt.Sprintf("chatd: config: tls.key_file = %q (from file %s): user nobody, as whom the unit %s runs chatd, cannot read it (permission denied)",
		files.Key, cfg, unit)
	if code != 2 || out != "" || !strings.HasPrefix(errOut, want) || strings.Count(errOut, "\n") != 1 {
		t.Fatalf("key only root may read: exit %d\nstdout %q\nstderr %q\nwant exit 2 and one line starting %q", code, out, errOut, want)
	}

	// As the README says: the key's group is the service's, mode 0640.
	os.Chown(files.Key, 0, 65534)
	os.Chmod(files.Key, 0o640)
	code, out, errOut = check()
	if code != 0 || !strings.Contains(out, "configuration OK: ") || !strings.Contains(out, "files readable by user nobody, whom the unit "+unit+" runs chatd as") {
		t.Fatalf("key readable by the group: exit %d\nstdout %q\nstderr %q", code, out, errOut)
	}

	// Readable, but where the unit's sandbox hides it from the service.
	if strings.HasPrefix(dir, "/tmp/") {
		sandboxed := filepath.Join(dir, "sandboxed.service")
		os.WriteFile(sandboxed, []byte("[Service]\nUser=nobody\nGroup=nogroup\nPrivateTmp=yes\n"), 0o644)
		code, _, errOut = runChatdApart(t, "config", "check", "--config", cfg, "--unit", sandboxed)
		want := "chatd: config file " + cfg + ": the service does not see it: it is under /tmp, which the unit " + sandboxed +
			" hides from it (PrivateTmp=yes); put it elsewhere, such as /etc/chatd\n"
		if code != 2 || errOut != want {
			t.Fatalf("files in the unit's private /tmp: exit %d, stderr %q; want %q", code, errOut, want)
		}
	}

	// The config file itself, which the service reads too.
	os.Chmod(cfg, 0o600)
	code, _, errOut = check()
	if want := "chatd: config file " + cfg + ": user nobody, as whom the unit " + unit + " runs chatd, cannot read it (permission denied)"; code != 2 || !strings.HasPrefix(errOut, want) {
		t.Fatalf("config file only root may read: exit %d, stderr %q; want %q…", code, errOut, want)
	}
}
