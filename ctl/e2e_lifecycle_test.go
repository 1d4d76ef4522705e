package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/testbin"
)

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

// plainLines are the lines of a chatd's output that are not JSON log
// records: what a person reads when it fails to start.
func plainLines(out string) []string {
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l != "" && !json.Valid([]byte(l)) {
			lines = append(lines, l)
		}
	}
	return lines
}

func TestSecondChatdOnTheSameSocketRefusesToStart(t *testing.T) {
	first := testbin.StartChatd(t, testbin.Options{})
	a := dial(t, first)
	a.say("before")
	ino := inode(t, first.Socket)

	second := testbin.StartChatd(t, testbin.Options{NoWait: true,
		Config: fmt.Sprintf("admin:\n  socket: %s\n", first.Socket)})
	if code := second.Wait(30 * time.Second); code != 1 {
		t.Fatalf("second chatd exited %d, want 1; output:\n%s", code, second.Logs())
	}
	lines := plainLines(second.Logs())
	want := fmt.Sprintf("chatd: admin API: another chatd (pid %d) is already serving the admin socket %s", first.Pid(), first.Socket)
	if len(lines) != 1 || lines[0] != want {
		t.Fatalf("second chatd said %q\nwant one line: %q", lines, want)
	}
	if len(second.LogRecords("chatd started")) != 0 {
		t.Fatal("the second chatd said it started")
	}

	// The first one is untouched: same socket file, admin API and chat work.
	if inode(t, first.Socket) != ino {
		t.Fatal("the second chatd replaced the first one's socket")
	}
	if r := ctlOn(t, first, "list").mustOK(t); !strings.HasSuffix(r.stdout, "1 client\n") {
		t.Fatalf("first chatd's list: %q", r.stdout)
	}
	a.say("after")
	dial(t, first).say("newcomer")
}

func TestStaleSocketIsReplacedAndRemovedOnExit(t *testing.T) {
	sock := filepath.Join(publicDir(t), "admin.sock")
	// What a chatd killed with SIGKILL leaves behind.
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()

	c := testbin.StartChatd(t, testbin.Options{Config: fmt.Sprintf("admin:\n  socket: %s\n", sock)})
	c.Socket = sock
	c.WaitLog("removed stale admin socket", 5*time.Second)
	ctlOn(t, c, "status").mustOK(t)

	c.Signal(syscall.SIGTERM)
	if code := c.Wait(30 * time.Second); code != 0 {
		t.Fatalf("chatd exited %d", code)
	}
	if _, err := os.Lstat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket left behind after a clean exit: %v", err)
	}
	r := ctlOn(t, c, "list")
	if r.code != 1 || r.stderr != "chatctl: cannot reach chatd at "+sock+": no such file (is chatd running?)\n" {
		t.Fatalf("chatctl with chatd gone: %+v", r)
	}
}

func TestUnsafeSocketPathsStopChatdWithOneLine(t *testing.T) {
	dir := publicDir(t)
	target := filepath.Join(dir, "target")
	os.WriteFile(target, []byte("precious"), 0o644)
	link := filepath.Join(dir, "admin.sock")
	os.Symlink(target, link)
	open := filepath.Join(dir, "open")
	os.Mkdir(open, 0o777)
	os.Chmod(open, 0o777)

	// Refused as configuration (exit 2, which a service manager does not
	// restart), before anything starts; config check says the same.
	for path, want := range map[string]string{
		link:                              "is a symbolic link; refusing to use it",
		filepath.Join(open, "admin.sock"): "is writable by everyone (mode 0777) without the sticky bit, so anyone could replace the socket",
	} {
		c := testbin.StartChatd(t, testbin.Options{NoWait: true, Config: fmt.Sprintf("admin:\n  socket: %s\n", path)})
		if code := c.Wait(30 * time.Second); code != 2 {
			t.Fatalf("%s: exit %d, want 2\n%s", path, code, c.Logs())
		}
		if lines := plainLines(c.Logs()); len(lines) != 1 || !strings.HasPrefix(lines[0], "chatd: config: admin.socket = ") ||
			!strings.Contains(lines[0], want) {
			t.Errorf("%s: said %q, want one line with %q", path, lines, want)
		}
	}
	if b, _ := os.ReadFile(target); string(b) != "precious" {
		t.Fatal("the symlink's target was touched")
	}
}

func TestSocketFoundThroughEnvironmentAndConfig(t *testing.T) {
	c := testbin.StartChatd(t, testbin.Options{})
	dial(t, c).say("hi")
	r := ctl(t, []string{"CHATD_ADMIN_SOCKET=" + c.Socket}, "list").mustOK(t)
	if !strings.HasSuffix(r.stdout, "1 client\n") {
		t.Fatalf("via CHATD_ADMIN_SOCKET: %q", r.stdout)
	}
	// chatd's config file names the socket; chatctl reads it the same way.
	r = ctl(t, nil, "--config", c.Config, "status", "-o", "json").mustOK(t)
	if !strings.Contains(r.stdout, `"admin_socket": "`+c.Socket+`"`) {
		t.Fatalf("via --config: %s", r.stdout)
	}
	// --socket beats the environment.
	ctl(t, []string{"CHATD_ADMIN_SOCKET=/nonexistent/x.sock"}, "--socket", c.Socket, "status").mustOK(t)
	if r := ctl(t, nil, "--config", "/nonexistent/chatd.yaml", "list"); r.code != 2 || !strings.Contains(r.stderr, "no such file") {
		t.Fatalf("missing --config: %+v", r)
	}
}
