package adminclient

import (
	"net"
	"os"
	"os/user"
	"path/filepath"
	"syscall"
	"testing"
)

func dialError(errno syscall.Errno) error {
	return &net.OpError{Op: "dial", Net: "unix", Err: os.NewSyscallError("connect", errno)}
}

func TestPermissionMessageNamesTheGroup(t *testing.T) {
	dir, err := os.MkdirTemp("", "acl-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "admin.sock")

	c := New(sock)
	if got := c.transportError(dialError(syscall.EACCES)).Error(); got != "permission denied: run as root or as a member of group chatd" {
		t.Errorf("unknown group: %q", got)
	}
	c.Group = "operators"
	if got := c.transportError(dialError(syscall.EACCES)).Error(); got != "permission denied: run as root or as a member of group operators" {
		t.Errorf("configured group: %q", got)
	}

	// Without the config, the socket's group tells (chatd sets it to
	// admin.group).
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a file another group")
	}
	g, err := user.LookupGroupId("1")
	if err != nil {
		t.Skip("no group 1")
	}
	os.WriteFile(sock, nil, 0o600)
	os.Chown(sock, -1, 1)
	c.Group = ""
	if got := c.transportError(dialError(syscall.EPERM)).Error(); got != "permission denied: run as root or as a member of group "+g.Name {
		t.Errorf("socket's group: %q", got)
	}
}
