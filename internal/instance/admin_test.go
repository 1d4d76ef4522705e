package instance

import (
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/chatd/chatd/internal/admin"
	"github.com/chatd/chatd/internal/config"
	"github.com/chatd/chatd/internal/logging"
)

func newTestDaemon(t *testing.T, dir, listen, socket string) *Instance {
	t.Helper()
	cfg := config.Defaults()
	cfg.Listen = []string{listen}
	cfg.StateDir = filepath.Join(dir, "state-"+filepath.Base(listen))
	cfg.Admin.Socket = socket
	log, err := logging.New(io.Discard, "text", "error")
	if err != nil {
		t.Fatal(err)
	}
	return New(&cfg, log)
}

// A chatd that cannot have its admin socket must not keep the chat port:
// it would answer chat clients while refusing to start.
func TestStartFailsCleanlyWhenTheAdminSocketIsTaken(t *testing.T) {
	dir, err := os.MkdirTemp("", "chatd-adm-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "admin.sock")

	first := newTestDaemon(t, dir, "127.0.0.1:0", sock)
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	defer first.Stop()

	// A port known to be free: listen, note it, release it.
	probe, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := probe.Addr().String()
	probe.Close()

	second := newTestDaemon(t, dir, port, sock)
	err = second.Start()
	var inUse *admin.InUseError
	if !errors.As(err, &inUse) || inUse.PID != os.Getpid() {
		t.Fatalf("second Start: %v, want an InUseError naming pid %d", err, os.Getpid())
	}
	if second.Addr() != nil {
		t.Fatal("the failed daemon still reports a listen address")
	}
	ln, err := net.Listen("tcp", port)
	if err != nil {
		t.Fatalf("the failed daemon kept the chat port %s: %v", port, err)
	}
	ln.Close()
	if _, err := os.Stat(sock); err != nil {
		t.Fatalf("the first daemon's socket is gone: %v", err)
	}
}

func TestStopRemovesTheAdminSocket(t *testing.T) {
	dir, err := os.MkdirTemp("", "chatd-adm-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "run", "admin.sock")
	d := newTestDaemon(t, dir, "127.0.0.1:0", sock)
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(sock); err != nil {
		t.Fatalf("no socket after Start: %v", err)
	}
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket still there after Stop: %v", err)
	}
}
