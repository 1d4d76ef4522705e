package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/registry"
	"github.com/chatd/chatd/internal/sockettrust"
)

// shortDir is a temp dir with a path short enough for Unix sockets (test
// names make t.TempDir too long).
func shortDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "adm-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

func startAt(t *testing.T, socket string, mode os.FileMode, group string) (*Server, error) {
	t.Helper()
	return startLogging(t, socket, mode, group, nil)
}

func startLogging(t *testing.T, socket string, mode os.FileMode, group string, log io.Writer) (*Server, error) {
	t.Helper()
	var logger *slog.Logger
	if log != nil {
		logger = slog.New(slog.NewTextHandler(log, nil))
	}
	s, err := Start(Options{
		Log:      logger,
		Socket:   socket,
		Mode:     mode,
		Group:    group,
		Clients:  registry.New(nil),
		Counters: func() Counters { return Counters{} },
		Info:     func() Info { return Info{Version: "test", PID: os.Getpid()} },
	})
	if err == nil {
		t.Cleanup(func() { s.Shutdown(context.Background()) })
	}
	return s, err
}

// get does GET path over the socket and returns the status.
func get(t *testing.T, socket, path string) int {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", socket)
		}}}
	resp, err := c.Get("http://chatd" + path)
	if err != nil {
		t.Fatalf("GET %s over %s: %v", path, socket, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func statOf(t *testing.T, p string) *syscall.Stat_t {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t)
}

func TestSocketDirIsCreated0750WithModeAndGroup(t *testing.T) {
	group, gid := someGroup(t)
	if os.Geteuid() != 0 {
		t.Skip("needs root to give the socket another group")
	}
	base := shortDir(t)
	dir := filepath.Join(base, "var", "run")
	sock := filepath.Join(dir, "admin.sock")
	s, err := startAt(t, sock, 0o660, group)
	if err != nil {
		t.Fatal(err)
	}
	// Every directory made on the way gets the mode and the group, so
	// that the group can reach the socket.
	for _, d := range []string{dir, filepath.Dir(dir)} {
		di, _ := os.Stat(d)
		if di.Mode().Perm() != 0o750 || statOf(t, d).Gid != gid {
			t.Errorf("%s mode %v gid %d, want 0750 and %d", d, di.Mode().Perm(), statOf(t, d).Gid, gid)
		}
	}
	if di, _ := os.Stat(base); di.Mode().Perm() != 0o700 || statOf(t, base).Gid == gid {
		t.Errorf("the existing directory %s was changed", base)
	}
	fi, _ := os.Lstat(sock)
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o660 || statOf(t, sock).Gid != gid {
		t.Errorf("socket mode %v gid %d, want socket 0660 and %d", fi.Mode(), statOf(t, sock).Gid, gid)
	}
	if code := get(t, sock, "/v1/status"); code != 200 {
		t.Fatalf("status %d", code)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket still there after Shutdown: %v", err)
	}
}

func TestSocketModeIsApplied(t *testing.T) {
	sock := filepath.Join(shortDir(t), "admin.sock")
	if _, err := startAt(t, sock, 0o600, ""); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Lstat(sock); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode().Perm())
	}
}

// staleSocket leaves a socket file nobody listens on, as a chatd killed
// with SIGKILL does.
func staleSocket(t *testing.T, path string) {
	t.Helper()
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
}

func TestStaleSocketIsReplaced(t *testing.T) {
	sock := filepath.Join(shortDir(t), "admin.sock")
	staleSocket(t, sock)
	var log strings.Builder
	if _, err := startLogging(t, sock, 0o660, "", &log); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "removed stale admin socket") {
		t.Fatalf("no word of the stale socket in the log:\n%s", log.String())
	}
	if code := get(t, sock, "/v1/status"); code != 200 {
		t.Fatalf("status %d", code)
	}
}

func TestLiveSocketIsLeftAloneAndRefused(t *testing.T) {
	sock := filepath.Join(shortDir(t), "admin.sock")
	first, err := startAt(t, sock, 0o660, "")
	if err != nil {
		t.Fatal(err)
	}
	ino := statOf(t, sock).Ino
	_, err = startAt(t, sock, 0o660, "")
	var inUse *InUseError
	if !errors.As(err, &inUse) || inUse.PID != os.Getpid() {
		t.Fatalf("err %v, want an InUseError naming pid %d", err, os.Getpid())
	}
	if want := "another chatd (pid " + itoa(os.Getpid()) + ") is already serving the admin socket " + sock; err.Error() != want {
		t.Fatalf("message %q\nwant    %q", err, want)
	}
	if statOf(t, sock).Ino != ino || get(t, sock, "/v1/status") != 200 {
		t.Fatal("the first server's socket was disturbed")
	}
	first.Shutdown(context.Background())
}

func TestUnsafePathsAreRefused(t *testing.T) {
	base := shortDir(t)
	target := filepath.Join(base, "elsewhere.sock")
	staleSocket(t, target)

	link := filepath.Join(base, "link.sock")
	os.Symlink(target, link)
	regular := filepath.Join(base, "file.sock")
	os.WriteFile(regular, []byte("precious"), 0o644)
	open := filepath.Join(base, "open")
	os.Mkdir(open, 0o755)
	os.Chmod(open, 0o777)
	groupWritable := filepath.Join(base, "group")
	os.Mkdir(groupWritable, 0o755)
	os.Chmod(groupWritable, 0o770)
	os.Chown(groupWritable, -1, 1) // a group other than root's, if we may
	sticky := filepath.Join(base, "sticky")
	os.Mkdir(sticky, 0o755)
	os.Chmod(sticky, 0o777|os.ModeSticky)
	notDir := filepath.Join(regular, "admin.sock")

	for _, c := range []struct{ path, want string }{
		{link, "is a symbolic link; refusing"},
		{regular, "exists and is not a socket; refusing"},
		{filepath.Join(open, "admin.sock"), "is writable by everyone (mode 0777) without the sticky bit, so anyone could replace the socket"},
		{notDir, "is not a directory"},
	} {
		_, err := startAt(t, c.path, 0o660, "")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want %q", c.path, err, c.want)
		}
	}
	if b, _ := os.ReadFile(regular); string(b) != "precious" {
		t.Error("the regular file at the socket path was touched")
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Error("the symlink at the socket path was touched")
	}
	if _, err := startAt(t, filepath.Join(sticky, "admin.sock"), 0o660, ""); err != nil {
		t.Errorf("a sticky world-writable directory (like /tmp) was refused: %v", err)
	}
	if fi, err := os.Stat(groupWritable); err == nil && fi.Sys().(*syscall.Stat_t).Gid != 0 {
		_, err := startAt(t, filepath.Join(groupWritable, "admin.sock"), 0o660, "")
		if err == nil || !strings.Contains(err.Error(), "(mode 0770), whose members could replace the socket; run chmod g-w "+groupWritable) {
			t.Errorf("a group-writable directory: err %v", err)
		}
	}
}

func TestDirOwnedByAnotherUserIsRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a directory away")
	}
	dir := filepath.Join(shortDir(t), "theirs")
	os.Mkdir(dir, 0o755)
	os.Chown(dir, 65534, 65534)
	_, err := startAt(t, filepath.Join(dir, "admin.sock"), 0o660, "")
	// Whose it is, that this is not chatd's doing, and what to do.
	want := fmt.Sprintf("admin socket directory %s belongs to %s, not to root or to %s, which runs chatd: someone else made it",
		dir, sockettrust.Describe(65534), sockettrust.Describe(0))
	if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "set admin.socket (or XDG_RUNTIME_DIR) to a directory of your own") {
		t.Fatalf("err %v", err)
	}
}

func TestShutdownLeavesAReplacementSocketAlone(t *testing.T) {
	sock := filepath.Join(shortDir(t), "admin.sock")
	s, err := startAt(t, sock, 0o660, "")
	if err != nil {
		t.Fatal(err)
	}
	// Someone (an operator, another chatd) replaced the socket meanwhile.
	os.Remove(sock)
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(sock); err != nil {
		t.Fatalf("Shutdown removed a socket that was not its own: %v", err)
	}
}
