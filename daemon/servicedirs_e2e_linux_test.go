package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/testbin"
)

// installedServiceScript runs its arguments in a mount namespace of their
// own where systemd seems to run and chatd's unit is installed, running
// chatd as user nobody with the unit's StateDirectory= and
// RuntimeDirectory=. /run, /etc/systemd/system and /var/lib are fresh
// tmpfs there, so nothing reaches the host's. It prints STATE-DIR-MADE if
// /var/lib/chatd exists afterwards, and exits with the command's status.
const installedServiceScript = `
set -e
mount -t tmpfs tmpfs /run
mkdir -p /run/systemd/system
mount -t tmpfs tmpfs /etc/systemd/system
mount -t tmpfs tmpfs /var/lib
printf '[Service]\nUser=nobody\nStateDirectory=chatd\nRuntimeDirectory=chatd\nTimeoutStopSec=30\n' >/etc/systemd/system/chatd.service
set +e
"$@"
code=$?
if [ -e /var/lib/chatd ]; then echo STATE-DIR-MADE; fi
exit $code
`

// A chatd run by hand as root on a machine where the service is installed
// (as user chatd) refuses the service's state directory and admin socket
// directory, naming them and the flags that give it its own: a root run
// there left the client-ID file owned by root, and the service then ran
// with IDs from the clock. Given its own, it runs.
func TestForegroundRootRunRefusesTheInstalledServicesDirs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: mounts in a namespace of its own")
	}
	unshare := testbin.Tool(t, "unshare")
	if err := exec.Command(unshare, "--mount", "--propagation", "private", "true").Run(); err != nil {
		t.Skipf("cannot make a mount namespace here: %v", err)
	}
	chatd := testbin.Path(t, "chatd")
	dir, err := os.MkdirTemp("", "chatd-svcdirs-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	empty := filepath.Join(dir, "empty.yaml") // the defaults, as in the quickstart
	os.WriteFile(empty, []byte("listen: [\"127.0.0.1:0\"]\n"), 0o644)
	inNamespace := func(args ...string) (int, string) {
		t.Helper()
		cmd := exec.Command(unshare, append([]string{"--mount", "--propagation", "private", "sh", "-c", installedServiceScript, "sh"}, args...)...)
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), string(out)
		} else if err != nil {
			t.Fatal(err)
		}
		return 0, string(out)
	}

	// The quickstart's command as root: refused before anything is made.
	// (timeout: a chatd that does not refuse would serve for ever.)
	code, out := inNamespace("timeout", "-s", "TERM", "20", chatd, "run", "--config", empty)
	want := "chatd: state_dir /var/lib/chatd and admin.socket /run/chatd/admin.sock belong to the installed chatd service " +
		"(/etc/systemd/system/chatd.service runs chatd as user nobody; it is not running): " +
		"a chatd run by hand as another user would leave files there the service cannot use. " +
		"Use the service (systemctl start chatd; chatctl), or give this chatd its own: --state-dir DIR --admin-socket PATH (and --listen ADDR while the service runs)\n"
	if code != 1 || out != want {
		t.Fatalf("root chatd run with the service's directories: exit %d, output:\n%s\nwant exit 1 and:\n%s", code, out, want)
	}

	// Only the state directory: still refused, naming it alone.
	code, out = inNamespace(chatd, "run", "--config", empty, "--admin-socket", filepath.Join(dir, "admin.sock"))
	if code != 1 || !strings.HasPrefix(out, "chatd: state_dir /var/lib/chatd belong") || strings.Contains(out, "STATE-DIR-MADE") {
		t.Fatalf("root chatd run with the service's state_dir: exit %d, output:\n%s", code, out)
	}

	// Its own directories, as the message says: it serves.
	log := filepath.Join(dir, "own.log")
	own := fmt.Sprintf(`%s run --config %s --state-dir %s --admin-socket %s 2>%s & pid=$!
i=0; while [ $i -lt 200 ] && ! grep -q "chatd started" %s; do sleep 0.05; i=$((i+1)); done
kill -TERM $pid; wait $pid`, chatd, empty, filepath.Join(dir, "state"), filepath.Join(dir, "admin.sock"), log, log)
	start := time.Now()
	code, out = inNamespace("sh", "-c", own)
	logText, _ := os.ReadFile(log)
	if code != 0 || !strings.Contains(string(logText), "chatd started") || strings.Contains(out, "STATE-DIR-MADE") {
		t.Fatalf("root chatd run with its own directories: exit %d after %v, output %q, log:\n%s", code, time.Since(start), out, logText)
	}
}
