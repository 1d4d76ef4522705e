package adminclient

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/sockettrust"
)

// helperSocketEnv makes the test binary TestHelperStranger's listener.
const helperSocketEnv = "ADMINCLIENT_TEST_STRANGER_SOCKET"

// TestHelperStranger is not a test: run as another user with
// helperSocketEnv set, it listens there, says "ready", takes one
// connection and reports how many bytes it was sent.
func TestHelperStranger(t *testing.T) {
	path := os.Getenv(helperSocketEnv)
	if path == "" {
		t.Skip("a helper process for TestPeerCredentialsAreCheckedBeforeSending")
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		fmt.Println("listen:", err)
		os.Exit(1)
	}
	fmt.Println("ready")
	c, err := ln.Accept()
	if err != nil {
		fmt.Println("accept:", err)
		os.Exit(1)
	}
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, _ := io.Copy(io.Discard, c)
	fmt.Printf("got %d bytes\n", n)
	os.Exit(0)
}

// The path check passes, and then the socket is replaced (by another
// user, in a sticky directory like /tmp) before chatctl connects: the
// kernel's record of who answers is what catches it, and the stranger is
// sent nothing.
func TestPeerCredentialsAreCheckedBeforeSending(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a listener as another user")
	}
	const stranger = 65533
	dir, err := os.MkdirTemp("", "peer-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o777|os.ModeSticky)
	sock := filepath.Join(dir, "admin.sock")
	ours, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	// The test binary, where the stranger can run it.
	exe, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	helper := filepath.Join(dir, "helper.test")
	if err := os.WriteFile(helper, exe, 0o755); err != nil {
		t.Fatal(err)
	}
	var out *bufio.Reader
	var cmd *exec.Cmd
	defer func() {
		if cmd != nil && cmd.Process != nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	afterTrustCheck = func() {
		ours.Close() // removes the socket
		cmd = exec.Command(helper, "-test.run=^TestHelperStranger$")
		cmd.Env = append(os.Environ(), helperSocketEnv+"="+sock)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: stranger, Gid: stranger}}
		stdout, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Errorf("start the stranger: %v", err)
			return
		}
		out = bufio.NewReader(stdout)
		if line, _ := out.ReadString('\n'); line != "ready\n" {
			t.Errorf("the stranger did not listen: %q", line)
		}
	}
	defer func() { afterTrustCheck = func() {} }()

	c := New(sock)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = c.Status(ctx)
	var ue *sockettrust.UntrustedError
	want := fmt.Sprintf("the process answering on it is %s, pid ", sockettrust.Describe(stranger))
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), ", not root or you; ") {
		t.Fatalf("status from a stranger's socket: %v", err)
	}
	if out == nil {
		t.Fatal("the stranger never ran")
	}
	if line, _ := out.ReadString('\n'); line != "got 0 bytes\n" {
		t.Fatalf("the stranger was sent something: %q", line)
	}
}
