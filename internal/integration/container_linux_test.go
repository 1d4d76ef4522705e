package integration

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// containerSetup turns fresh namespaces into a container with no service
// manager: PID 1 is a shell, /run is empty, the network is only loopback
// and every directory in $CONTAINER_DIRS is an overlay whose changes live
// in a tmpfs that vanishes with the namespace. Then it runs the script.
const containerSetup = `
set -e
S=$1
ip link set lo up
mount -t tmpfs -o mode=0755 tmpfs /run # as a real boot mounts it: root's, not world-writable
mount -t tmpfs tmpfs "$S"
for d in $CONTAINER_DIRS; do
	n=$(printf '%s' "$d" | tr / _)
	mkdir -p "$S/$n/upper" "$S/$n/work"
	mount -t overlay overlay -o "lowerdir=$d,upperdir=$S/$n/upper,workdir=$S/$n/work" "$d"
done
cd /
exec bash -euo pipefail -c "$CONTAINER_SCRIPT"
`

// runInContainer runs script (bash) in a throwaway container, with dirs
// overlaid and env as its environment, and returns its combined output.
// The host is checked to be unchanged afterwards.
func runInContainer(t *testing.T, ctx context.Context, timeout time.Duration, dirs, env []string, script string) (string, error) {
	t.Helper()
	scratch, err := os.MkdirTemp("/dev/shm", "chatd-container.")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(scratch)
	sentinel, err := os.CreateTemp("", "chatd-container-sentinel-")
	if err != nil {
		t.Fatal(err)
	}
	sentinel.Close()
	defer os.Remove(sentinel.Name())
	before := takeSnapshot(sentinel.Name(), dirs)
	defer func() {
		if changes := before.diff(takeSnapshot(sentinel.Name(), dirs)); len(changes) > 0 {
			t.Errorf("the host changed:\n%s", strings.Join(changes, "\n"))
		}
	}()

	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", "--pid", "--fork", "--kill-child", "--mount", "--mount-proc",
		"--net", "--uts", "--ipc", "--propagation", "private", "bash", "-c", containerSetup, "container", scratch)
	cmd.Env = append([]string{"CONTAINER_DIRS=" + strings.Join(dirs, " "), "CONTAINER_SCRIPT=" + script}, env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	return out.String(), err
}

// Where no service manager runs (a container), install.sh installs the
// binaries and says how to run chatd; --uninstall stops the foreground
// chatd on the installed config's admin socket (and no other chatd, even
// one run from the installed binary by another user, even when a stale
// lock names it) and removes the binaries, --purge the config, state and
// the account it created (never one that was there before), and every
// message says what really happened.
func TestInstallShWithoutServiceManager(t *testing.T) {
	root := requireSandbox(t)
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH: install.sh needs it")
	}
	goEnv := hostGoEnv(t, goBin)
	env := []string{
		"PATH=" + filepath.Dir(goBin) + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=/root", "LANG=C.UTF-8", "GOCACHE=" + goEnv["GOCACHE"], "GOMODCACHE=" + goEnv["GOMODCACHE"],
		"GOFLAGS=-mod=readonly", "GOPROXY=off", "GOTOOLCHAIN=local", "GOTELEMETRY=off",
		"INSTALL=" + filepath.Join(root, "install.sh"),
	}
	dirs := overlayDirs("/etc", "/usr/local", "/var", "/tmp", "/root", goEnv["GOCACHE"], goEnv["GOMODCACHE"], root)
	script := `
step() { echo "== $*"; }
# "! cmd" never stops a set -e script: fail by hand.
absent() { if "$@"; then echo "FAIL: $* succeeded"; exit 1; fi; }
step install
"$INSTALL"
test -x /usr/local/bin/chatd
step another user runs the installed binary
mkdir /tmp/bystander
: >/tmp/bystander/chatd.yaml
chown -R nobody /tmp/bystander
setpriv --reuid=65534 --regid=65534 --clear-groups /usr/local/bin/chatd run --config /tmp/bystander/chatd.yaml \
	--listen 127.0.0.1:5606 --admin-socket /tmp/bystander/admin.sock --state-dir /tmp/bystander/state \
	>/tmp/bystander.log 2>&1 &
bystander=$!
for i in $(seq 100); do printf 'x\n' | chat --addr 127.0.0.1:5606 >/dev/null 2>&1 && break; sleep 0.2; done
printf 'bystander\n' | chat --addr 127.0.0.1:5606
step uninstall with a stale lock naming the bystander
mkdir -p /run/chatd
echo "$bystander" >/run/chatd/admin.sock.lock
"$INSTALL" --uninstall
kill -0 "$bystander"
rm /run/chatd/admin.sock.lock
step install again
"$INSTALL"
step run in the foreground
/usr/local/bin/chatd run --config /etc/chatd/chatd.yaml >/tmp/chatd.log 2>&1 &
installed=$!
for i in $(seq 100); do chatctl status >/dev/null 2>&1 && break; sleep 0.2; done
chatctl status >/dev/null
printf 'container\n' | chat --addr 127.0.0.1:5605
step uninstall
"$INSTALL" --uninstall
for b in chatd chatctl chat; do test ! -e /usr/local/bin/$b; done
absent kill -0 "$installed"
echo "installed chatd was PID $installed"
kill -0 "$bystander"
# chat is gone with the binaries: bash's /dev/tcp for the round trip.
exec 3<>/dev/tcp/127.0.0.1/5606
printf 'still here\n' >&3
read -r answer <&3
echo "the bystander answered: $answer"
exec 3>&-
test -f /etc/chatd/chatd.yaml
test -d /var/lib/chatd
id chatd >/dev/null
step purge
"$INSTALL" --uninstall --purge
test ! -e /etc/chatd
test ! -e /var/lib/chatd
absent id chatd
absent getent group chatd
step purge again
"$INSTALL" --uninstall --purge
step an account that was there before install.sh
useradd --create-home --user-group --shell /bin/bash chatd
echo mine >/home/chatd/notes
"$INSTALL"
"$INSTALL" --uninstall --purge
test ! -e /etc/chatd
id chatd >/dev/null
getent group chatd >/dev/null
test "$(cat /home/chatd/notes)" = mine
step done
`
	ctx := context.Background()
	out, err := runInContainer(t, ctx, 8*time.Minute, dirs, env, script)
	t.Logf("in the container:\n%s", out)
	if err != nil {
		t.Fatalf("the container script failed: %v", err)
	}
	// The installed instance, and only it, was stopped.
	var installed int
	if _, after, ok := strings.Cut(out, "installed chatd was PID "); ok {
		fmt.Sscanf(after, "%d", &installed)
	}
	if want := fmt.Sprintf("stopped chatd (PID %d, admin socket /run/chatd/admin.sock)\n", installed); installed == 0 || !strings.Contains(out, want) {
		t.Errorf("the output lacks %q", want)
	}
	for _, want := range []string{
		"chatd is installed but not as a service. Run it in the foreground:",
		"CONTAINER\n", "the bystander answered: STILL HERE\n",
		"no service manager is running (PID 1 is bash, not init or systemd): no chatd service to remove\n",
		"BYSTANDER\n",
		"no chatd is running on /run/chatd/admin.sock: nothing to stop\n",
		"removed /usr/local/bin/chatd /usr/local/bin/chatctl /usr/local/bin/chat\n",
		"kept /etc/chatd and /var/lib/chatd",
		"purged /etc/chatd /var/lib/chatd user:chatd group:chatd\n",
		"no chatd binaries in /usr/local/bin: nothing to remove there",
		"nothing to purge: no /etc/chatd, /var/lib/chatd or chatd account",
		"purged /etc/chatd\nkept user:chatd group:chatd: install.sh did not create it (remove it yourself if nothing needs it)\n",
		"== done",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the output lacks %q", want)
		}
	}
}
