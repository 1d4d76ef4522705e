package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// chatAddr is where the installed chatd listens (configs/chatd.yaml), in
// the sandbox's own network namespace.
const chatAddr = "127.0.0.1:5605"

// testTimeout bounds the whole test; the slowest step is install.sh
// compiling the three binaries from cold inside the sandbox.
const testTimeout = 8 * time.Minute

// restartWithin is how soon systemd must have chatd back after kill -9.
const restartWithin = 3 * time.Second

func TestSystemdService(t *testing.T) {
	root := requireSandbox(t)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()

	env, dirs := installEnv(t, root)

	sentinel, err := os.CreateTemp("", "chatd-sandbox-sentinel-")
	if err != nil {
		t.Fatal(err)
	}
	sentinel.Close()
	t.Cleanup(func() { os.Remove(sentinel.Name()) })
	before := takeSnapshot(sentinel.Name(), dirs)
	// Registered before the sandbox, so it runs after the sandbox's own
	// cleanup has powered it off.
	t.Cleanup(func() {
		if changes := before.diff(takeSnapshot(sentinel.Name(), dirs)); len(changes) > 0 {
			t.Errorf("the host changed:\n%s", strings.Join(changes, "\n"))
		}
	})

	sb := bootSandbox(t, ctx, dirs, env)
	svc := &chatdService{t: t, sb: sb, ctx: ctx}
	install := filepath.Join(root, "install.sh")

	// --- install.sh, first run
	start := time.Now()
	out := sb.must(ctx, 6*time.Minute, install)
	t.Logf("install.sh took %v:\n%s", time.Since(start).Round(time.Second), out)
	if !strings.Contains(out, "chatd is running") {
		t.Fatalf("install.sh did not say chatd is running")
	}
	// The summary names the address chatd itself reads from the config.
	for _, want := range []string{"chatd is running (linux-systemd) and answers on " + chatAddr + ".\n",
		"  chat --addr " + chatAddr + " "} {
		if !strings.Contains(out, want) {
			t.Errorf("install.sh's summary lacks %q", want)
		}
	}

	// --- active, as user chatd, READY received
	props := svc.show("ActiveState", "SubState", "Type", "User", "Group", "StatusText", "MainPID", "NRestarts")
	want := map[string]string{"ActiveState": "active", "SubState": "running", "Type": "notify",
		"User": "chatd", "Group": "chatd", "StatusText": "serving on " + chatAddr}
	for k, v := range want {
		if props[k] != v {
			t.Errorf("systemctl show chatd: %s=%q, want %q", k, props[k], v)
		}
	}
	if got := strings.TrimSpace(sb.must(ctx, 10*time.Second, "systemctl", "is-active", "chatd")); got != "active" {
		t.Fatalf("systemctl is-active chatd = %q", got)
	}
	if u := strings.TrimSpace(sb.must(ctx, 10*time.Second, "ps", "-o", "user=", "-p", props["MainPID"])); u != "chatd" {
		t.Errorf("chatd's main process runs as %q, want chatd", u)
	}
	if t.Failed() {
		t.FailNow()
	}

	// --- a round trip with the real chat client
	got := sb.sh(ctx, 15*time.Second, "printf 'hello sandbox\\n' | chat --addr "+chatAddr)
	if got != "HELLO SANDBOX\n" {
		t.Fatalf("chat round trip printed %q", got)
	}

	// --- chatctl list shows a client, chatctl kick closes it
	a := svc.connect()
	ids := svc.clientIDs("chatctl", "list", "-o", "json")
	if len(ids) != 1 {
		t.Fatalf("chatctl list shows %v, want the one connected client", ids)
	}
	sb.must(ctx, 15*time.Second, "chatctl", "kick", strconv.FormatUint(ids[0], 10), "--reason", "sandbox test")
	if rest := readToEOF(t, a); rest != "*** kicked by operator: sandbox test\n" {
		t.Fatalf("the kicked client read %q before EOF", rest)
	}
	a.Close()

	// --- root and group chatd may use chatctl; others may not
	sb.must(ctx, 15*time.Second, "useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", "outsider")
	sb.must(ctx, 15*time.Second, "useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", "--groups", "chatd", "member")
	b := svc.connect()
	if ids := svc.clientIDs("runuser", "-u", "member", "--", "chatctl", "list", "-o", "json"); len(ids) != 1 {
		t.Errorf("a member of group chatd listed %v, want one client", ids)
	}
	_, err = sb.output(ctx, 15*time.Second, "runuser", "-u", "outsider", "--", "chatctl", "list")
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "permission denied") {
		t.Errorf("a user outside group chatd was not refused: %v", err)
	}
	b.Close()

	// --- a chatd run by hand beside the service: refused before it
	// touches the service's files, naming the service
	servicePID := svc.show("MainPID")["MainPID"]
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"chatd", "run"}, "chatd: state_dir /var/lib/chatd and admin.socket /run/chatd/admin.sock belong to the installed chatd service " +
			"(/etc/systemd/system/chatd.service runs chatd as user chatd; it is running, pid " + servicePID + ")"},
		{[]string{"runuser", "-u", "chatd", "--", "chatd", "run", "--config", "/etc/chatd/chatd.yaml"},
			"chatd: state_dir /var/lib/chatd is in use by the chatd service (chatd.service, pid " + servicePID + "); give this one its own state_dir"},
		{[]string{"chatd", "run", "--state-dir", "/tmp/by-hand/state", "--admin-socket", "/tmp/by-hand/admin.sock"},
			"chatd: listen " + chatAddr + ": address already in use by the chatd service (chatd.service, pid " + servicePID + "), admin socket /run/chatd/admin.sock; give this one its own listen address"},
	} {
		if _, err := sb.output(ctx, 30*time.Second, c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s beside the service: %v\nwant the error %q", strings.Join(c.args, " "), err, c.want)
		}
	}
	if now := svc.show("MainPID")["MainPID"]; now != servicePID {
		t.Errorf("the service's chatd changed from pid %s to %s while a chatd was run by hand", servicePID, now)
	}

	// --- TLS files as the README's recipe makes them: config check, run
	// as root, opens them as the unit's user, so a key only root may
	// read is an error before the service fails on it
	sb.sh(ctx, 30*time.Second, `set -e
mkdir -p /etc/chatd/tls && cd /etc/chatd/tls
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout key.pem -out cert.pem 2>/dev/null
chmod 0644 cert.pem; chmod 0600 key.pem
printf 'tls:\n  listen: ["127.0.0.1:5606"]\n  cert_file: /etc/chatd/tls/cert.pem\n  key_file: /etc/chatd/tls/key.pem\n' >/etc/chatd/tls-try.yaml`)
	tlsCheck := []string{"chatd", "config", "check", "--config", "/etc/chatd/tls-try.yaml"}
	wantRefusal := `chatd: config: tls.key_file = "/etc/chatd/tls/key.pem" (from file /etc/chatd/tls-try.yaml): ` +
		"user chatd, as whom the unit /etc/systemd/system/chatd.service runs chatd, cannot read it (permission denied)"
	if _, err := sb.output(ctx, 30*time.Second, tlsCheck...); err == nil || !strings.Contains(err.Error(), wantRefusal) {
		t.Errorf("config check of a key only root may read: %v\nwant the error %q", err, wantRefusal)
	}
	sb.sh(ctx, 10*time.Second, "chgrp chatd /etc/chatd/tls/key.pem && chmod 0640 /etc/chatd/tls/key.pem")
	if out := sb.must(ctx, 30*time.Second, tlsCheck...); !strings.Contains(out, "files readable by user chatd, whom the unit /etc/systemd/system/chatd.service runs chatd as") {
		t.Errorf("config check of a key group chatd may read: %q", out)
	}
	sb.must(ctx, 10*time.Second, "rm", "-r", "/etc/chatd/tls", "/etc/chatd/tls-try.yaml")

	// --- kill -9, five times in a row: back within 3 s, IDs only go up
	var took []string
	for i := 1; i <= 5; i++ {
		c := svc.connect()
		maxID := slicesMax(svc.clientIDs("chatctl", "list", "-o", "json"))
		// A crash loses what was accepted within the last batch
		// interval (≤ 50 ms), before it was held: wait until it is.
		if !poll(ctx, 10*time.Second, func() bool { return svc.status().Survival.Held == 1 }) {
			t.Fatalf("kill %d: the client is not held in the store: %+v", i, svc.status())
		}
		old := svc.show("MainPID")["MainPID"]
		t0 := time.Now()
		sb.must(ctx, 10*time.Second, "kill", "-9", old)
		var now map[string]string
		if !poll(ctx, 10*time.Second, func() bool {
			now = svc.show("MainPID", "ActiveState", "SubState")
			return now["MainPID"] != old && now["MainPID"] != "0" && now["ActiveState"] == "active" && now["SubState"] == "running"
		}) {
			t.Fatalf("kill %d: chatd did not come back within 10s: %v", i, now)
		}
		elapsed := time.Since(t0)
		took = append(took, elapsed.Round(time.Millisecond).String())
		if elapsed > restartWithin {
			t.Errorf("kill %d: chatd was back after %v, want within %v", i, elapsed, restartWithin)
		}
		// The connection outlives the process (the descriptor store
		// holds it) and keeps its ID; a new client gets a higher one.
		svc.echo(c, "still connected")
		d := svc.connect()
		ids := svc.clientIDs("chatctl", "list", "-o", "json")
		if len(ids) != 2 || ids[0] != maxID || ids[1] <= maxID {
			t.Fatalf("kill %d: after the restart the clients have IDs %v, want %d and one above", i, ids, maxID)
		}
		c.Close()
		d.Close()
		if !poll(ctx, 10*time.Second, func() bool { return svc.status().ClientsConnected == 0 }) {
			t.Fatalf("kill %d: closed clients are still listed", i)
		}
	}
	t.Logf("kill -9 → active again (new MainPID, READY received), five times: %s", strings.Join(took, ", "))
	if r := svc.show("NRestarts")["NRestarts"]; r != "5" {
		t.Errorf("NRestarts = %s, want 5", r)
	}

	// --- systemctl reload applies max_clients live without dropping anyone
	kept := svc.connect()
	pid := svc.show("MainPID")["MainPID"]
	sb.must(ctx, 10*time.Second, "sed", "-i", "s/^max_clients: .*/max_clients: 3/", "/etc/chatd/chatd.yaml")
	sb.must(ctx, 15*time.Second, "systemctl", "reload", "chatd")
	if !poll(ctx, 10*time.Second, func() bool { return svc.status().MaxClients == 3 }) {
		t.Fatalf("max_clients did not become 3 after systemctl reload: %+v", svc.status())
	}
	if now := svc.show("MainPID")["MainPID"]; now != pid {
		t.Fatalf("reload restarted chatd (MainPID %s → %s)", pid, now)
	}
	if st := svc.show("StatusText")["StatusText"]; st != "serving on "+chatAddr+"; configuration reloaded" {
		t.Errorf("StatusText after the reload = %q (RELOADING=1/READY=1 not seen?)", st)
	}
	svc.echo(kept, "still here")
	// chatctl reload does the same over the admin socket, for group chatd too.
	sb.must(ctx, 10*time.Second, "sed", "-i", `s/^  level: .*/  level: "debug"/`, "/etc/chatd/chatd.yaml")
	if out := sb.must(ctx, 15*time.Second, "runuser", "-u", "member", "--", "chatctl", "reload"); !strings.Contains(out, "applied log.level") {
		t.Errorf("chatctl reload as a member of group chatd: %q", out)
	}
	svc.echo(kept, "and here")
	c2, c3 := svc.connect(), svc.connect()
	full, err := sb.dial(chatAddr)
	if err != nil {
		t.Fatal(err)
	}
	if rest := readToEOF(t, full); rest != "*** server full, try again later\n" {
		t.Errorf("the 4th client with max_clients 3 read %q", rest)
	}
	full.Close()
	c2.Close()
	c3.Close()

	// --- install.sh again: upgrade and restart, the edited config stays
	cfgBefore := sb.must(ctx, 10*time.Second, "cat", "/etc/chatd/chatd.yaml")
	out = sb.must(ctx, 5*time.Minute, install)
	t.Logf("install.sh, second run:\n%s", out)
	if !strings.Contains(out, "kept your /etc/chatd/chatd.yaml") {
		t.Errorf("the second install.sh did not say it kept the edited config")
	}
	if cfgAfter := sb.must(ctx, 10*time.Second, "cat", "/etc/chatd/chatd.yaml"); cfgAfter != cfgBefore {
		t.Errorf("the second install.sh changed the edited config")
	}
	sb.must(ctx, 10*time.Second, "test", "-f", "/etc/chatd/chatd.yaml.new")
	// The upgrade is a planned restart: the client does not notice it.
	svc.echo(kept, "across the upgrade")
	kept.Close()
	if now := svc.show("MainPID", "ActiveState"); now["ActiveState"] != "active" || now["MainPID"] == pid {
		t.Errorf("after the second install.sh: %v, want active with a new MainPID", now)
	}
	if st := svc.status(); st.MaxClients != 3 {
		t.Errorf("after the upgrade max_clients = %d, want the edited 3", st.MaxClients)
	}

	// --- install.sh --uninstall: no unit, no process, no binary
	out = sb.must(ctx, 2*time.Minute, install, "--uninstall")
	t.Logf("install.sh --uninstall:\n%s", out)
	sb.must(ctx, 10*time.Second, "test", "!", "-e", "/etc/systemd/system/chatd.service")
	// list-unit-files exits 1 when nothing matches: only its output counts.
	if files, _ := sb.output(ctx, 10*time.Second, "systemctl", "list-unit-files", "--no-legend", "chatd.service"); strings.TrimSpace(files) != "" {
		t.Errorf("unit files left: %q", files)
	}
	if st, _ := sb.output(ctx, 10*time.Second, "systemctl", "is-active", "chatd"); strings.TrimSpace(st) == "active" {
		t.Errorf("chatd still active after uninstall")
	}
	if ps, err := sb.output(ctx, 10*time.Second, "pgrep", "-a", "chatd"); err == nil {
		t.Errorf("chatd processes left after uninstall: %s", ps)
	}
	for _, b := range []string{"chatd", "chatctl", "chat"} {
		if _, err := sb.output(ctx, 10*time.Second, "test", "!", "-e", "/usr/local/bin/"+b); err != nil {
			t.Errorf("/usr/local/bin/%s left after uninstall", b)
		}
	}
	sb.must(ctx, 10*time.Second, "test", "-f", "/etc/chatd/chatd.yaml")
	sb.must(ctx, 10*time.Second, "test", "-f", "/var/lib/chatd/client-ids")

	// --- --purge (after the plain uninstall: it must cope with no binary)
	out = sb.must(ctx, 2*time.Minute, install, "--uninstall", "--purge")
	t.Logf("install.sh --uninstall --purge:\n%s", out)
	for _, p := range []string{"/etc/chatd", "/var/lib/chatd"} {
		if _, err := sb.output(ctx, 10*time.Second, "test", "!", "-e", p); err != nil {
			t.Errorf("%s left after --purge", p)
		}
	}
	if _, err := sb.output(ctx, 10*time.Second, "id", "chatd"); err == nil {
		t.Errorf("user chatd left after --purge")
	}
	if _, err := sb.output(ctx, 10*time.Second, "getent", "group", "chatd"); err == nil {
		t.Errorf("group chatd left after --purge")
	}
}

// requireSandbox skips unless a throwaway systemd can be booted here, and
// returns the module root.
func requireSandbox(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("boots a throwaway systemd and builds chatd inside it; skipped with -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to boot a throwaway systemd in new namespaces (CI runs it as root)")
	}
	for _, tool := range []string{"unshare", "nsenter", "ip", "bash", "runuser", "pgrep", "ps"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (.ci/run installs it)", tool)
		}
	}
	if findSystemd() == "" {
		t.Skip("systemd is not installed (.ci/run installs it)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	probe := exec.CommandContext(ctx, "unshare", "--pid", "--fork", "--mount", "--net", "--uts", "--ipc",
		"--propagation", "private", "true")
	if out, err := probe.CombinedOutput(); err != nil {
		t.Skipf("namespaces are unavailable here (unshare: %v: %s)", err, strings.TrimSpace(string(out)))
	}
	_, file, _, _ := runtime.Caller(0)
	root, err := filepath.Abs(filepath.Join(filepath.Dir(file), "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// installEnv returns the environment in which install.sh runs inside the
// sandbox, and every directory it, go build, useradd and systemd may write
// (each becomes an overlay there, so the host stays untouched). Everything
// go build needs is in the host's module cache: there is no network in
// there.
func installEnv(t testing.TB, root string) (env, dirs []string) {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH: install.sh needs it inside the sandbox")
	}
	goEnv := hostGoEnv(t, goBin)
	env = []string{
		"PATH=" + filepath.Dir(goBin) + ":/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=/root", "LANG=C.UTF-8", "SYSTEMD_PAGER=", "SYSTEMD_COLORS=0",
		"GOCACHE=" + goEnv["GOCACHE"], "GOMODCACHE=" + goEnv["GOMODCACHE"],
		"GOFLAGS=-mod=readonly", "GOPROXY=off", "GOTOOLCHAIN=local", "GOTELEMETRY=off",
		// The checkout may belong to another user than root: let git
		// describe it (install.sh stamps the version from it).
		"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=safe.directory", "GIT_CONFIG_VALUE_0=*",
	}
	dirs = overlayDirs("/etc", "/usr/local", "/var", "/tmp", "/root", goEnv["GOCACHE"], goEnv["GOMODCACHE"], root)
	return env, dirs
}

func hostGoEnv(t testing.TB, goBin string) map[string]string {
	t.Helper()
	out, err := exec.Command(goBin, "env", "GOCACHE", "GOMODCACHE").Output()
	if err != nil {
		t.Fatalf("go env: %v", err)
	}
	f := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(f) != 2 || !filepath.IsAbs(f[0]) || !filepath.IsAbs(f[1]) {
		t.Fatalf("go env GOCACHE GOMODCACHE: %q", out)
	}
	return map[string]string{"GOCACHE": f[0], "GOMODCACHE": f[1]}
}

// chatdService is the installed chatd as the test sees it.
type chatdService struct {
	t   testing.TB
	sb  *sandbox
	ctx context.Context
}

// show reads unit properties.
func (s *chatdService) show(props ...string) map[string]string {
	s.t.Helper()
	out := s.sb.must(s.ctx, 10*time.Second, "systemctl", "show", "chatd", "-p", strings.Join(props, ","))
	m := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			m[k] = v
		}
	}
	return m
}

type status struct {
	MaxClients       int `json:"max_clients"`
	ClientsConnected int `json:"clients_connected"`
	Survival         struct {
		Held     int    `json:"held"`
		Degraded string `json:"degraded"`
	} `json:"restart_survival"`
}

func (s *chatdService) status() status {
	s.t.Helper()
	var st status
	out := s.sb.must(s.ctx, 10*time.Second, "chatctl", "status", "-o", "json")
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		s.t.Fatalf("chatctl status -o json: %v: %q", err, out)
	}
	return st
}

// clientIDs runs a `chatctl list -o json` command line and returns the IDs.
func (s *chatdService) clientIDs(args ...string) []uint64 {
	s.t.Helper()
	out := s.sb.must(s.ctx, 15*time.Second, args...)
	var list struct {
		Clients []struct {
			ID uint64 `json:"id"`
		} `json:"clients"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		s.t.Fatalf("%s: %v: %q", strings.Join(args, " "), err, out)
	}
	ids := make([]uint64, len(list.Clients))
	for i, c := range list.Clients {
		ids[i] = c.ID
	}
	return ids
}

// connect dials chatd inside the sandbox and checks a round trip, so the
// client is registered when connect returns.
func (s *chatdService) connect() net.Conn {
	s.t.Helper()
	c, err := s.sb.dial(chatAddr)
	if err != nil {
		s.t.Fatalf("dial chatd in the sandbox: %v", err)
	}
	s.echo(c, "ping")
	return c
}

func (s *chatdService) echo(c net.Conn, msg string) {
	s.t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := fmt.Fprintf(c, "%s\n", msg); err != nil {
		s.t.Fatalf("write to chatd: %v", err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != strings.ToUpper(msg)+"\n" {
		s.t.Fatalf("chatd answered %q, %v; want %q", line, err, strings.ToUpper(msg))
	}
}

// readToEOF reads what the server still sends until it closes (a reset
// counts as closed), within 10 s.
func readToEOF(t *testing.T, c net.Conn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the connection stayed open (read %q)", b)
	}
	return string(b)
}

func slicesMax(ids []uint64) uint64 {
	var m uint64
	for _, id := range ids {
		m = max(m, id)
	}
	return m
}
