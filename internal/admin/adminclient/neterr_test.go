package adminclient

import (
	"net"
	"os"
	"os/user"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/chatd/chatd/internal/sockettrust"
)

func dialError(errno syscall.Errno) error {
	return &net.OpError{Op: "dial", Net: "unix", Err: os.NewSyscallError("connect", errno)}
}

// The hint names what is configured, and never a group nothing set up.
func TestPermissionMessageNamesWhatIsConfigured(t *testing.T) {
	dir, err := os.MkdirTemp("", "acl-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "admin.sock")
	me := sockettrust.Describe(uint32(os.Geteuid()))
	rootOrMe := "permission denied: run as root"
	if os.Geteuid() != 0 {
		rootOrMe += " or as " + me + ", who owns " + dir
	}
	for _, tc := range []struct {
		name       string
		group      string
		groupKnown bool
		want       string
	}{
		{"configuration unknown", "", false, rootOrMe},
		{"admin.group configured", "operators", true, "permission denied: run as root or as a member of group operators"},
		{"admin.group not set", "", true, rootOrMe + " (admin.group is not set)"},
	} {
		c := New(sock)
		c.Group, c.GroupKnown = tc.group, tc.groupKnown
		if got := c.transportError(dialError(syscall.EACCES)).Error(); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}

	// Without the configuration, the socket's group tells (chatd sets it
	// to admin.group); with it, the configuration does.
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a file another owner and group")
	}
	g, err := user.LookupGroupId("1")
	if err != nil {
		t.Skip("no group 1")
	}
	os.WriteFile(sock, nil, 0o660)
	os.Chown(sock, 65534, 1)
	c := New(sock)
	if got := c.transportError(dialError(syscall.EPERM)).Error(); got != "permission denied: run as root or as a member of group "+g.Name {
		t.Errorf("socket's group: %q", got)
	}
	c.GroupKnown = true
	want := "permission denied: run as root or as " + sockettrust.Describe(65534) + ", who owns " + sock + " (admin.group is not set)"
	if got := c.transportError(dialError(syscall.EACCES)).Error(); got != want {
		t.Errorf("admin.group not set, the socket another user's: %q, want %q", got, want)
	}
}
