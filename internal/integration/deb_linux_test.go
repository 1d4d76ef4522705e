package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// debTimeout bounds the package test: building the package twice on the
// host (nfpm and chatd from cold on a busy machine take minutes) and apt
// runs inside the sandbox.
const debTimeout = 20 * time.Minute

// The host files the package would write if apt inside the sandbox ever
// reached the host; with the account databases and the dpkg database
// they must be exactly as before the test.
var debHostFiles = []string{
	"/usr/bin/chatd", "/usr/bin/chatctl", "/usr/bin/chat",
	"/usr/lib/systemd/system/chatd.service", "/usr/share/man/man8/chatctl.8.gz",
	"/usr/share/bash-completion/completions/chatctl", "/usr/share/doc/chatd",
	"/etc/systemd/system/multi-user.target.wants/chatd.service",
	"/var/lib/dpkg/status", "/var/lib/dpkg/info", "/var/lib/dpkg/info/chatd.list",
	"/var/lib/dpkg/info/chatd.postinst", "/var/lib/dpkg/diversions", "/var/lib/dpkg/statoverride",
}

func TestDebPackageUnderSystemd(t *testing.T) {
	root, goBin := debPrerequisites(t)
	if _, err := exec.LookPath("man"); err != nil {
		t.Skip("man is not installed (.ci/run installs it)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), debTimeout)
	defer cancel()

	// Two packages from this checkout, the second a higher version: the
	// upgrade.
	pkgs := t.TempDir()
	first, second := buildDeb(t, ctx, goBin, root, pkgs, "1.0.0"), buildDeb(t, ctx, goBin, root, pkgs, "1.0.1")
	sb, svc, apt := debSandbox(t, ctx)

	// --- install: enabled, started as user chatd, chatctl answering
	out := apt("install", first)
	if !strings.Contains(out, "chatd.service is running; 'chatctl status' answers") {
		t.Errorf("postinst did not report chatd running and answering")
	}
	props := svc.show("ActiveState", "SubState", "User", "Group", "MainPID", "UnitFileState", "FragmentPath")
	for k, v := range map[string]string{"ActiveState": "active", "SubState": "running", "User": "chatd",
		"Group": "chatd", "UnitFileState": "enabled"} {
		if props[k] != v {
			t.Errorf("systemctl show chatd: %s=%q, want %q", k, props[k], v)
		}
	}
	// /lib is /usr/lib on a merged-/usr system; systemd may name either.
	if f := props["FragmentPath"]; f != "/usr/lib/systemd/system/chatd.service" && f != "/lib/systemd/system/chatd.service" {
		t.Errorf("the unit in use is %s, not the package's", f)
	}
	if t.Failed() {
		t.FailNow()
	}
	if u := strings.TrimSpace(sb.must(ctx, 10*time.Second, "ps", "-o", "user=", "-p", props["MainPID"])); u != "chatd" {
		t.Errorf("chatd's main process runs as %q, want chatd", u)
	}
	if v := sb.must(ctx, 10*time.Second, "chatd", "version"); v != "chatd 1.0.0\n" {
		t.Errorf("chatd version = %q", v)
	}
	if got := sb.sh(ctx, 15*time.Second, "printf 'hello package\\n' | chat --addr "+chatAddr); got != "HELLO PACKAGE\n" {
		t.Errorf("chat round trip printed %q", got)
	}
	// The packaged config's 10000, unless the open-file limit cannot hold
	// that many held clients (each costs chatd, without CAP_SYS_RESOURCE, two descriptors;
	// this machine caps LimitNOFILE at 20000): then chatd lowers it and says so.
	if st := svc.status(); st.MaxClients != 10000 {
		journal := sb.must(ctx, 10*time.Second, "journalctl", "--no-pager", "-u", "chatd")
		if st.MaxClients > 10000 || !strings.Contains(journal, "max_clients lowered to fit the open-file limit") {
			t.Errorf("chatctl status: max_clients %d, want the packaged config's 10000 (or a lowered one, said in the journal)", st.MaxClients)
		}
	}
	if page := strings.TrimSpace(sb.must(ctx, 30*time.Second, "man", "-w", "chatctl")); page != "/usr/share/man/man8/chatctl.8.gz" {
		t.Errorf("man -w chatctl = %q", page)
	}
	sb.must(ctx, 30*time.Second, "man", "-w", "8", "chatd")
	sb.must(ctx, 30*time.Second, "man", "-w", "1", "chat")
	for _, f := range []string{"/usr/share/bash-completion/completions/chatctl", "/usr/share/zsh/vendor-completions/_chatctl",
		"/usr/share/fish/vendor_completions.d/chatctl.fish"} {
		sb.must(ctx, 10*time.Second, "test", "-s", f)
	}

	// --- upgrade to a higher version: restarted, the edited config kept,
	// a connected client kept
	sb.must(ctx, 10*time.Second, "sed", "-i", "s/^max_clients: .*/max_clients: 3/", "/etc/chatd/chatd.yaml")
	edited := sb.must(ctx, 10*time.Second, "cat", "/etc/chatd/chatd.yaml")
	sb.must(ctx, 15*time.Second, "systemctl", "reload", "chatd")
	if !poll(ctx, 10*time.Second, func() bool { return svc.status().MaxClients == 3 }) {
		t.Fatalf("the edited max_clients did not apply after reload")
	}
	kept := svc.connect()
	pid := svc.show("MainPID")["MainPID"]
	apt("install", second)
	if now := sb.must(ctx, 10*time.Second, "cat", "/etc/chatd/chatd.yaml"); now != edited {
		t.Errorf("the upgrade changed the edited config:\n%s", now)
	}
	if v := sb.must(ctx, 10*time.Second, "chatd", "version"); v != "chatd 1.0.1\n" {
		t.Errorf("after the upgrade chatd version = %q", v)
	}
	// postinst restarts the unit: a planned restart, which hands the
	// clients over to the new binary (see "What survives a restart").
	svc.echo(kept, "still here after the upgrade")
	kept.Close()
	now := svc.show("MainPID", "ActiveState")
	if now["ActiveState"] != "active" || now["MainPID"] == pid {
		t.Errorf("after the upgrade: %v, want active with a new MainPID (was %s)", now, pid)
	}
	if st := svc.status(); st.MaxClients != 3 {
		t.Errorf("after the upgrade max_clients = %d, want the edited 3", st.MaxClients)
	}

	// --- remove: stopped and gone, config, state and account kept
	apt("remove", "chatd")
	if st, _ := sb.output(ctx, 10*time.Second, "systemctl", "is-active", "chatd"); strings.TrimSpace(st) == "active" {
		t.Errorf("chatd still active after apt-get remove")
	}
	if ps, err := sb.output(ctx, 10*time.Second, "pgrep", "-x", "chatd"); err == nil {
		t.Errorf("chatd processes left after remove: %s", ps)
	}
	for _, p := range []string{"/usr/bin/chatd", "/usr/bin/chatctl", "/usr/bin/chat", "/usr/lib/systemd/system/chatd.service"} {
		if _, err := sb.output(ctx, 10*time.Second, "test", "!", "-e", p); err != nil {
			t.Errorf("%s left after remove", p)
		}
	}
	if now := sb.must(ctx, 10*time.Second, "cat", "/etc/chatd/chatd.yaml"); now != edited {
		t.Errorf("remove changed the config")
	}
	sb.must(ctx, 10*time.Second, "test", "-f", "/var/lib/chatd/client-ids")
	sb.must(ctx, 10*time.Second, "id", "chatd")
	if st := sb.must(ctx, 10*time.Second, "dpkg-query", "-W", "-f", "${db:Status-Abbrev}", "chatd"); strings.TrimSpace(st) != "rc" {
		t.Errorf("after remove dpkg says %q, want rc (config files left)", st)
	}

	// --- purge: nothing left but the account (see debAccount)
	account := debAccount(t, ctx, sb)
	out = apt("purge", "chatd")
	if !strings.Contains(out, "chatd: the chatd user and group stay") {
		t.Errorf("purge did not say the account stays")
	}
	for _, p := range []string{"/etc/chatd", "/var/lib/chatd", "/run/chatd", "/usr/lib/systemd/system/chatd.service",
		"/etc/systemd/system/multi-user.target.wants/chatd.service", "/usr/bin/chatd", "/usr/share/doc/chatd",
		"/var/lib/dpkg/info/chatd.list"} {
		if _, err := sb.output(ctx, 10*time.Second, "test", "!", "-e", p); err != nil {
			t.Errorf("%s left after purge", p)
		}
	}
	if now := debAccount(t, ctx, sb); now != account {
		t.Errorf("purge changed the account: %q → %q", account, now)
	}
	if files, _ := sb.output(ctx, 10*time.Second, "systemctl", "list-unit-files", "--no-legend", "chatd.service"); strings.TrimSpace(files) != "" {
		t.Errorf("unit files left after purge: %q", files)
	}
	if st, err := sb.output(ctx, 10*time.Second, "dpkg-query", "-W", "-f", "${db:Status-Abbrev}", "chatd"); err == nil && strings.TrimSpace(st) != "un" {
		t.Errorf("after purge dpkg says %q", st)
	}
}

// debPrerequisites skips unless the package tests were asked for and can
// run here, and returns the module root and the go command.
func debPrerequisites(t *testing.T) (root, goBin string) {
	t.Helper()
	if os.Getenv("CHATD_TEST_PACKAGES") != "1" {
		t.Skip("builds the package, longer than go test's default timeout: .ci/run runs it with CHATD_TEST_PACKAGES=1 and -timeout 30m")
	}
	root = requireSandbox(t)
	for _, tool := range []string{"dpkg", "apt-get"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (.ci/run installs it)", tool)
		}
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH: the package is built on the host")
	}
	return root, goBin
}

// debAccount is the chatd user and group as the account databases hold
// them ("" for each that does not exist).
func debAccount(t *testing.T, ctx context.Context, sb *sandbox) string {
	t.Helper()
	user, _ := sb.output(ctx, 10*time.Second, "getent", "passwd", "chatd")
	group, _ := sb.output(ctx, 10*time.Second, "getent", "group", "chatd")
	return strings.TrimSpace(user) + " / " + strings.TrimSpace(group)
}

// debSandbox boots the throwaway systemd for the package tests, with what
// apt and dpkg write (below /usr, the package's files, and /var/lib/dpkg,
// its database) overlaid, and without the policy-rc.d a Docker-style
// image has: this sandbox is a booted system. Cleanup checks that the host
// is unchanged. apt runs apt-get -y, returns its output and standard
// error, and fails the test if it fails.
func debSandbox(t *testing.T, ctx context.Context) (*sandbox, *chatdService, func(args ...string) string) {
	t.Helper()
	dirs := overlayDirs("/etc", "/usr", "/var", "/tmp", "/root")
	env := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=/root", "LANG=C.UTF-8", "SYSTEMD_PAGER=", "SYSTEMD_COLORS=0",
		"DEBIAN_FRONTEND=noninteractive", "MAN_DISABLE_SECCOMP=1"}
	sentinel, err := os.CreateTemp("", "chatd-sandbox-sentinel-")
	if err != nil {
		t.Fatal(err)
	}
	sentinel.Close()
	t.Cleanup(func() { os.Remove(sentinel.Name()) })
	before := takeSnapshot(sentinel.Name(), dirs)
	hostBefore := describeAll(debHostFiles)
	t.Cleanup(func() { // runs after the sandbox has powered off
		if changes := before.diff(takeSnapshot(sentinel.Name(), dirs)); len(changes) > 0 {
			t.Errorf("the host changed:\n%s", strings.Join(changes, "\n"))
		}
		for f, was := range hostBefore {
			if now := describe(f); now != was {
				t.Errorf("the host's %s changed: %s → %s", f, was, now)
			}
		}
	})
	sb := bootSandbox(t, ctx, dirs, env)
	svc := &chatdService{t: t, sb: sb, ctx: ctx}
	apt := func(args ...string) string {
		t.Helper()
		// The maintainer scripts' warnings go to standard error: keep
		// them in order with apt's output.
		cmd := append([]string{"sh", "-c", `exec apt-get -y --no-install-recommends "$@" 2>&1`, "apt-get"}, args...)
		out := sb.must(ctx, 5*time.Minute, cmd...)
		t.Logf("apt-get %s:\n%s", strings.Join(args, " "), out)
		return out
	}
	sb.sh(ctx, 10*time.Second, "rm -f "+policyRCD)
	return sb, svc, apt
}

// policyRCD is where invoke-rc.d and deb-systemd-invoke ask whether a
// maintainer script may start or stop a service (exit 101: no).
const policyRCD = "/usr/sbin/policy-rc.d"

// buildDeb builds the Debian package of version for this machine into
// dir, on the host, where the module cache is.
func buildDeb(t *testing.T, ctx context.Context, goBin, root, dir, version string) string {
	t.Helper()
	start := time.Now()
	cmd := exec.CommandContext(ctx, goBin, "-C", filepath.Join(root, "internal", "packaging"), "run", ".",
		"-out", dir, "-arch", runtime.GOARCH, "-format", "deb", "-version", version)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the package %s: %v\n%s", version, err, out)
	}
	t.Logf("built chatd %s in %v", version, time.Since(start).Round(time.Second))
	return filepath.Join(dir, fmt.Sprintf("chatd_%s-1_%s.deb", version, runtime.GOARCH))
}

// Where systemd is not running (a container), installing the package
// creates the account, says how to run chatd, and chatd runs that way;
// purge with that chatd still running succeeds, says it runs on, and
// leaves nothing behind but the account.
func TestDebPackageWithoutSystemd(t *testing.T) {
	root, goBin := debPrerequisites(t)
	ctx, cancel := context.WithTimeout(context.Background(), debTimeout)
	defer cancel()
	deb := buildDeb(t, ctx, goBin, root, t.TempDir(), "1.0.0")
	hostBefore := describeAll(debHostFiles)
	script := `
absent() { if "$@"; then echo "FAIL: $* succeeded"; exit 1; fi; }
apt-get install -y --no-install-recommends "$DEB"
id chatd
test -L /etc/systemd/system/multi-user.target.wants/chatd.service
echo "== run"
chatd run --config /etc/chatd/chatd.yaml >/tmp/chatd.log 2>&1 &
pid=$!
for i in $(seq 100); do chatctl status >/dev/null 2>&1 && break; sleep 0.2; done
chatctl status
printf 'container\n' | chat --addr 127.0.0.1:5605
echo "foreground chatd is PID $pid"
echo "== purge while it runs"
apt-get purge -y chatd
# Not the package's to stop (it may be the container's main process).
kill -0 "$pid"
kill "$pid"
wait "$pid" || true
for p in /etc/chatd /var/lib/chatd /usr/bin/chatd /usr/lib/systemd/system/chatd.service \
	/etc/systemd/system/multi-user.target.wants/chatd.service; do
	absent test -e "$p"
done
getent passwd chatd
getent group chatd
echo "== done"
`
	env := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root",
		"LANG=C.UTF-8", "DEBIAN_FRONTEND=noninteractive", "DEB=" + deb}
	out, err := runInContainer(t, ctx, 5*time.Minute, overlayDirs("/etc", "/usr", "/var", "/tmp", "/root"), env, script)
	t.Logf("in the container:\n%s", out)
	if err != nil {
		t.Fatalf("the container script failed: %v", err)
	}
	var pid int
	if _, after, ok := strings.Cut(out, "foreground chatd is PID "); ok {
		fmt.Sscanf(after, "%d", &pid)
	}
	for _, want := range []string{
		fmt.Sprintf("chatd: chatd (PID %d, not started by the package) is still running: the package stops only chatd.service, not a chatd started by hand.", pid),
		fmt.Sprintf("chatd: chatd (PID %d, not started by the package) is still running, now without its config and state", pid),
		"chatd: the chatd user and group stay",
		"chatd: systemd is not running here (a container?), so chatd was not started.",
		"chatd: run it in the foreground, as root: chatd run --config /etc/chatd/chatd.yaml",
		"127.0.0.1:5605", "CONTAINER\n", "== done",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the output lacks %q", want)
		}
	}
	for f, was := range hostBefore {
		if now := describe(f); now != was {
			t.Errorf("the host's %s changed: %s → %s", f, was, now)
		}
	}
}

func describeAll(files []string) map[string]string {
	m := map[string]string{}
	for _, f := range files {
		m[f] = describe(f)
	}
	return m
}
