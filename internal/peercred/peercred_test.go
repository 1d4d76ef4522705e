package peercred

import (
	"net"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// pair returns both ends of a Unix socket connection made in this process.
func pair(t *testing.T) (server, client net.Conn) {
	t.Helper()
	dir, err := os.MkdirTemp("", "pc-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	ln, err := net.Listen("unix", filepath.Join(dir, "s"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("unix", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return server, client
}

func TestBothEndsSeeThisProcess(t *testing.T) {
	server, client := pair(t)
	for name, c := range map[string]net.Conn{"server side": server, "client side": client} {
		cred, err := Get(c)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if cred.UID != uint32(os.Geteuid()) || cred.GID != uint32(os.Getegid()) {
			t.Errorf("%s: uid %d gid %d, want %d %d", name, cred.UID, cred.GID, os.Geteuid(), os.Getegid())
		}
		if runtime.GOOS != "freebsd" && cred.PID != os.Getpid() {
			t.Errorf("%s: pid %d, want %d", name, cred.PID, os.Getpid())
		}
	}
}

func TestInGroup(t *testing.T) {
	server, _ := pair(t)
	cred, err := Get(server)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := cred.InGroup(uint32(os.Getegid())); !ok || err != nil {
		t.Errorf("not in its own primary group: %v", err)
	}
	groups, _ := os.Getgroups()
	for _, g := range groups {
		if ok, err := cred.InGroup(uint32(g)); !ok || err != nil {
			t.Errorf("not in its supplementary group %d: %v", g, err)
		}
	}
	if ok, _ := cred.InGroup(4000000000); ok {
		t.Error("member of a group nobody has")
	}
}

func TestNotASocket(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if _, err := Get(a); err == nil {
		t.Fatal("credentials of a pipe")
	}
}
