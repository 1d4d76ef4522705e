package peercred

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

const status = `Name:	chatctl
Umask:	0022
State:	S (sleeping)
Tgid:	4242
Pid:	4242
Uid:	1000	1001	1000	1000
Gid:	100	100	100	100
FDSize:	64
Groups:	4 24 27 1000 
NStgid:	4242
`

func TestGroupsFromStatus(t *testing.T) {
	groups, err := groupsFromStatus([]byte(status), 1001)
	if err != nil {
		t.Fatal(err)
	}
	if want := []uint32{4, 24, 27, 1000}; !slices.Equal(groups, want) {
		t.Fatalf("groups %v, want %v", groups, want)
	}
}

func TestGroupsFromStatusChecksTheEffectiveUID(t *testing.T) {
	// The real uid matches, the effective one does not: not our peer.
	if _, err := groupsFromStatus([]byte(status), 1000); err == nil {
		t.Fatal("accepted the status of a process with another effective uid")
	}
}

func TestGroupsFromStatusMalformed(t *testing.T) {
	for name, s := range map[string]string{
		"no uid":     "Groups:\t1 2\n",
		"short uid":  "Uid:\t1000\n",
		"bad group":  "Uid:\t0\t0\t0\t0\nGroups:\t1 x\n",
		"bad uid":    "Uid:\t0\tzero\t0\t0\n",
		"empty file": "",
	} {
		if _, err := groupsFromStatus([]byte(s), 0); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	groups, err := groupsFromStatus([]byte("Uid:\t5\t5\t5\t5\nGroups:\t\n"), 5)
	if err != nil || groups == nil || len(groups) != 0 {
		t.Fatalf("no supplementary groups: %v %v", groups, err)
	}
}

// A peer running as another user, with supplementary groups it was given
// at exec, is seen with exactly those groups: the kernel's view of the
// process, not the user database's (where uid 65534 has none of them).
func TestSupplementaryGroupsOfAnotherProcess(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a process as another user")
	}
	dir, err := os.MkdirTemp("", "pc-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	// The connecting child is this test binary, copied where uid 65534
	// can run it (go test's build directory is private).
	helper := filepath.Join(dir, "helper")
	if err := copyExecutable(helper); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "s")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	os.Chmod(sock, 0o777)

	cmd := exec.Command(helper, "-test.run=^TestHelperConnect$")
	cmd.Env = append(os.Environ(), "PEERCRED_HELPER_SOCKET="+sock)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{4242, 4343}}}
	cmd.Dir = "/"
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	ln.SetDeadline(time.Now().Add(20 * time.Second))
	c, err := ln.Accept()
	if err != nil {
		cmd.Process.Kill()
		t.Fatalf("the helper did not connect: %v\n%s", err, out)
	}
	defer c.Close()
	cred, err := Get(c)
	if err != nil {
		t.Fatal(err)
	}
	if cred.UID != 65534 || cred.GID != 65534 || cred.PID != cmd.Process.Pid {
		t.Fatalf("cred %+v, want uid and gid 65534, pid %d", cred, cmd.Process.Pid)
	}
	for gid, want := range map[uint32]bool{4242: true, 4343: true, 65534: true, 0: false, 4444: false} {
		if got, err := cred.InGroup(gid); got != want || err != nil {
			t.Errorf("InGroup(%d) = %v, %v; want %v", gid, got, err, want)
		}
	}
}

func copyExecutable(to string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	b, err := os.ReadFile(self)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o755)
}

// TestHelperConnect is the child of TestSupplementaryGroupsOfAnotherProcess:
// it connects and holds the connection until the parent hangs up.
func TestHelperConnect(t *testing.T) {
	sock := os.Getenv("PEERCRED_HELPER_SOCKET")
	if sock == "" {
		t.Skip("helper process only")
	}
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	c.Read(make([]byte, 1))
}
