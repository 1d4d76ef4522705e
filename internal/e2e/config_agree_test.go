package e2e

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/testbin"
)

// What would fail the start is refused by `config check` and by `run`
// alike, with exit status 2 (the unit does not restart on 2) and one line
// naming the key, instead of a passing check and a start that exits 1.
func TestConfigCheckAndRunAgree(t *testing.T) {
	short := shortDir(t)
	aFile := filepath.Join(short, "file")
	os.WriteFile(aFile, nil, 0o644)
	tests := []struct {
		name   string
		config string
		args   []string
		want   []string
	}{
		{name: "group that does not exist",
			config: "admin:\n  socket: " + filepath.Join(short, "a.sock") + "\n  group: chatd-admns-typo\n",
			want:   []string{"admin.group", "chatd-admns-typo", "no such group"}},
		{name: "socket directory under a file",
			config: "admin:\n  socket: " + aFile + "/run/admin.sock\n",
			want:   []string{"admin.socket", "is not a directory"}},
		{name: "socket path is a file",
			config: "admin:\n  socket: " + aFile + "\n",
			want:   []string{"admin.socket", "not a socket"}},
		{name: "max clients flag not a number", args: []string{"--max-clients", "abc"},
			want: []string{"max_clients", `"abc"`, "flag --max-clients", "must be a whole number"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := testbin.StartChatd(t, testbin.Options{Config: tt.config, Args: tt.args, NoWait: true})
			code := d.Wait(20 * time.Second)
			runErr := strings.TrimSpace(d.Logs())
			checkCode, checkErr := runChatd(t, nil, append([]string{"config", "check", "--config", d.Config}, tt.args...)...)
			checkErr = strings.TrimSpace(checkErr)
			for what, got := range map[string]struct {
				code int
				out  string
			}{"run": {code, runErr}, "config check": {checkCode, checkErr}} {
				if got.code != 2 || strings.Contains(got.out, "\n") || strings.Contains(got.out, "strconv") {
					t.Errorf("%s: exit %d, want 2 with one line:\n%s", what, got.code, got.out)
				}
				for _, w := range tt.want {
					if !strings.Contains(got.out, w) {
						t.Errorf("%s: %q does not say %q", what, got.out, w)
					}
				}
			}
		})
	}
}

// An unquoted mode is the octal digits written, as chmod reads them: 660
// is rw-rw----, not six hundred and sixty.
func TestUnquotedAdminModeIsOctalDigits(t *testing.T) {
	sock := filepath.Join(shortDir(t), "admin.sock")
	d := testbin.StartChatd(t, testbin.Options{Config: "admin:\n  socket: " + sock + "\n  mode: 660\n"})
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatalf("%v; log:\n%s", err, d.Logs())
	}
	if fi.Mode().Perm() != 0o660 {
		t.Fatalf("socket mode %o, want 660", fi.Mode().Perm())
	}
	out, err := exec.Command(testbin.Path(t, "chatd"), "config", "show", "--config", d.Config).Output()
	if err != nil || !strings.Contains(string(out), `mode: "0660"`) {
		t.Fatalf("config show: %v\n%s", err, out)
	}
}

// `config check` says what is in effect: the CHATD_* variables too, not
// "built-in defaults" while they change the values.
func TestConfigCheckSaysWhatIsInEffect(t *testing.T) {
	cmd := exec.Command(testbin.Path(t, "chatd"), "config", "check")
	cmd.Env = append(cleanEnv(), "CHATD_MAX_CLIENTS=5", "HOME="+t.TempDir(), "XDG_CONFIG_HOME=")
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != "configuration OK: environment CHATD_MAX_CLIENTS over built-in defaults\n" {
		if _, err := os.Stat("/etc/chatd/chatd.yaml"); err == nil {
			t.Skip("this host has /etc/chatd/chatd.yaml")
		}
		t.Fatalf("config check said %q", out)
	}
}

// `chatd run --help` shows each flag's default and the CHATD_* variables.
func TestRunHelpShowsDefaultsAndEnvironment(t *testing.T) {
	out, err := exec.Command(testbin.Path(t, "chatd"), "run", "--help").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"(default 10000)", `(default "127.0.0.1:5605")`, "CHATD_MAX_CLIENTS", "CHATD_SHUTDOWN_GRACE"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("run --help lacks %q:\n%s", want, out)
		}
	}
}

// shutdown_grace at or above the unit's TimeoutStopSec is warned about:
// systemd would kill chatd before its clients were told goodbye.
func TestConfigCheckWarnsWhenGraceOutlastsTheUnitStopTimeout(t *testing.T) {
	dir := t.TempDir()
	unit := filepath.Join(dir, "chatd.service")
	os.WriteFile(unit, []byte("[Service]\nExecStart=/usr/bin/chatd run\nTimeoutStopSec=30\n"), 0o644)
	tests := []struct {
		grace string
		warn  bool
	}{{"5s", false}, {"29s", false}, {"30s", true}, {"1m30s", true}}
	for _, tt := range tests {
		f := filepath.Join(dir, "chatd.yaml")
		os.WriteFile(f, []byte("shutdown_grace: "+tt.grace+"\n"), 0o644)
		code, stderr := runChatd(t, nil, "config", "check", "--config", f, "--unit", unit)
		warned := strings.Contains(stderr, "warning: shutdown_grace "+tt.grace+" is not below TimeoutStopSec 30s")
		if code != 0 || warned != tt.warn {
			t.Errorf("shutdown_grace %s: exit %d, warned %v, want %v: %s", tt.grace, code, warned, tt.warn, stderr)
		}
	}
}

// A system config file a non-root user cannot read does not beat the
// user's own file. The test puts its own /etc in a private mount namespace
// and runs chatd as nobody, so it needs root, unshare and setpriv.
func TestUnreadableSystemConfigGivesWayToTheUsersOwn(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give chatd a private /etc")
	}
	for _, tool := range []string{"unshare", "setpriv"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skip(tool + " is not installed")
		}
	}
	root := shortDir(t)
	nobody := func(p string) { os.Chown(p, 65534, 65534) }
	etc := filepath.Join(root, "etc", "chatd")
	os.MkdirAll(etc, 0o755)
	os.WriteFile(filepath.Join(etc, "chatd.yaml"), []byte("max_clients: 1\n"), 0o600) // root's alone
	home := filepath.Join(root, "home")
	own := filepath.Join(home, ".config", "chatd", "chatd.yaml")
	os.MkdirAll(filepath.Dir(own), 0o755)
	os.WriteFile(own, []byte("listen: 127.0.0.1:0\nmax_clients: 7\nstate_dir: "+filepath.Join(home, "state")+
		"\nadmin:\n  socket: "+filepath.Join(home, "admin.sock")+"\nlog:\n  format: json\n"), 0o644)
	filepath.Walk(home, func(p string, _ os.FileInfo, _ error) error { nobody(p); return nil })
	// The test binaries' own directory is root's; nobody runs a copy.
	bin := filepath.Join(root, "chatd")
	b, err := os.ReadFile(testbin.Path(t, "chatd"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(bin, b, 0o755)

	run := func(args ...string) *exec.Cmd {
		script := `mount --bind "$1" /etc && shift && exec setpriv --reuid 65534 --regid 65534 --clear-groups "$@"`
		cmd := exec.Command("unshare", append([]string{"-m", "sh", "-c", script, "sh", filepath.Join(root, "etc"), bin}, args...)...)
		cmd.Env = append(cleanEnv(), "HOME="+home, "XDG_CONFIG_HOME=", "XDG_RUNTIME_DIR=", "XDG_STATE_HOME=")
		return cmd
	}
	out, err := run("config", "check").CombinedOutput()
	want := "configuration OK: file " + own + " over built-in defaults (skipped unreadable /etc/chatd/chatd.yaml)\n"
	if err != nil || string(out) != want {
		t.Fatalf("config check as nobody: %v\n%s\nwant %s", err, out, want)
	}

	cmd := run("run")
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var started string
	var logs []string
	deadline := time.After(20 * time.Second)
wait:
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				break wait
			}
			logs = append(logs, l)
			if strings.Contains(l, "chatd started") {
				started = l
				break wait
			}
		case <-deadline:
			break wait
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	for l := range lines {
		logs = append(logs, l)
	}
	cmd.Wait()
	if !strings.Contains(started, `"max_clients":7`) || !strings.Contains(started, own) {
		t.Fatalf("chatd run as nobody did not start from %s:\n%s", own, strings.Join(logs, "\n"))
	}
}

// shortDir is a temp directory with a short path (Unix socket paths are
// limited to about 100 bytes) that other users may enter.
func shortDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "chatd-cfg-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// cleanEnv is the environment without the developer's CHATD_* variables.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CHATD_") {
			env = append(env, kv)
		}
	}
	return env
}
