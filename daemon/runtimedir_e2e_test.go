package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/syncbuf"
	"github.com/chatd/chatd/internal/testbin"
)

// A non-root chatd without XDG_RUNTIME_DIR puts its admin socket in
// $TMPDIR/chatd-UID, a directory it creates: it must not leave it behind
// when it exits. (As root, the test runs chatd as nobody.)
func TestNonRootChatdRemovesItsRuntimeDirectory(t *testing.T) {
	uid := os.Geteuid()
	var prefix []string
	if uid == 0 {
		setpriv, err := exec.LookPath("setpriv")
		if err != nil {
			t.Skip("setpriv is not installed: cannot drop root for this test")
		}
		uid = 65534
		prefix = []string{setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"}
	}
	tmp, err := os.MkdirTemp("", "chatd-tmp-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	os.Chmod(tmp, 0o777) // chatd's user makes its directories here
	cfg := filepath.Join(tmp, "chatd.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("listen: 127.0.0.1:0\nstate_dir: %s\nlog:\n  format: json\n", filepath.Join(tmp, "state"))), 0o644)

	argv := append(prefix, testbin.Path(t, "chatd"), "run", "--config", cfg)
	cmd := exec.Command(argv[0], argv[1:]...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "XDG_RUNTIME_DIR=") && !strings.HasPrefix(kv, "CHATD_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "TMPDIR="+tmp, "HOME="+tmp)
	var out syncbuf.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer cmd.Process.Kill()

	if !testbin.Poll(20*time.Second, func() bool { return countLogged(out.String(), "chatd started") == 1 }) {
		t.Fatalf("chatd did not start; output:\n%s", out.String())
	}
	runtimeDir := filepath.Join(tmp, "chatd-"+strconv.Itoa(uid))
	if _, err := os.Stat(filepath.Join(runtimeDir, "admin.sock")); err != nil {
		t.Fatalf("the default admin socket is not in %s: %v; output:\n%s", runtimeDir, err, out.String())
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("chatd after SIGTERM: %v; output:\n%s", err, out.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("chatd did not exit after SIGTERM")
	}
	if _, err := os.Lstat(runtimeDir); !os.IsNotExist(err) {
		t.Fatalf("%s is left behind (%v)", runtimeDir, err)
	}
}
