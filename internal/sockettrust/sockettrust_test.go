package sockettrust

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The uids of the table: the user asking, the one who squats, and the
// service's user. None needs to exist.
const (
	me      = 65534
	mallory = 65533
	service = 65532
)

// tree builds, below a fresh directory, the layouts the table checks, each
// with the owners and modes it names. Giving files away needs root.
func tree(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to give files to other users")
	}
	base, err := os.MkdirTemp("", "trust-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	dir := func(rel string, mode os.FileMode, uid, gid int) {
		p := filepath.Join(base, rel)
		if err := os.Mkdir(p, 0o700); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, mode)
		os.Chown(p, uid, gid)
	}
	sock := func(rel string, uid int) {
		p := filepath.Join(base, rel)
		ln, err := net.Listen("unix", p)
		if err != nil {
			t.Fatal(err)
		}
		ln.(*net.UnixListener).SetUnlinkOnClose(false)
		ln.Close()
		os.Chown(p, uid, uid)
	}
	dir("tmp", 0o777|os.ModeSticky, 0, 0) // a /tmp
	dir("tmp/chatd-65534", 0o700, me, me)
	sock("tmp/chatd-65534/admin.sock", me)
	dir("tmp/chatd-1000", 0o755, mallory, mallory) // squatted, with a socket
	sock("tmp/chatd-1000/admin.sock", mallory)
	dir("tmp/chatd-1001", 0o777, mallory, mallory) // squatted, open to all, empty
	dir("run", 0o755, 0, 0)
	dir("run/chatd", 0o750, service, service)
	sock("run/chatd/admin.sock", service)
	dir("open", 0o777, 0, 0)
	sock("open/admin.sock", service)
	dir("group", 0o770, 0, 1)
	sock("group/admin.sock", service)
	dir("theirs", 0o755, mallory, mallory)
	dir("theirs/sub", 0o755, service, service)
	sock("theirs/sub/admin.sock", service)
	os.Symlink(filepath.Join(base, "run/chatd/admin.sock"), filepath.Join(base, "link.sock"))
	return base
}

func TestKeeper(t *testing.T) {
	base := tree(t)
	for _, tc := range []struct {
		name   string
		path   string
		me     uint32
		own    bool
		keeper uint32
		found  bool
		err    string // part of the error; "" for none
	}{
		{name: "own default socket in /tmp", path: "tmp/chatd-65534/admin.sock", me: me, own: true, keeper: me, found: true},
		{name: "own default, nothing there yet", path: "tmp/chatd-4242/admin.sock", me: me, own: true, keeper: 0},
		{name: "squatted default", path: "tmp/chatd-1000/admin.sock", me: me, own: true,
			err: "/tmp/chatd-1000/admin.sock belongs to uid 65533, not to you"},
		{name: "squatted, not the default", path: "tmp/chatd-1000/admin.sock", me: me,
			err: "/tmp/chatd-1000 belongs to uid 65533 and is in " + base + "/tmp, where anyone may create a name first"},
		{name: "squatted without a socket", path: "tmp/chatd-1001/admin.sock", me: me, own: true,
			err: "/tmp/chatd-1001 belongs to uid 65533, not to you"},
		{name: "squatted without a socket, not the default", path: "tmp/chatd-1001/admin.sock", me: me,
			err: "/tmp/chatd-1001 belongs to uid 65533 and is in " + base + "/tmp, where anyone may create a name first"},
		{name: "root asking for a user's socket in /tmp", path: "tmp/chatd-1000/admin.sock", me: 0,
			err: "where anyone may create a name first"},
		{name: "service socket, a member asking", path: "run/chatd/admin.sock", me: me, keeper: service, found: true},
		{name: "service socket, root asking", path: "run/chatd/admin.sock", me: 0, keeper: service, found: true},
		{name: "service stopped", path: "run/chatd/gone.sock", me: me, keeper: service},
		{name: "through a symbolic link", path: "link.sock", me: me, keeper: service, found: true},
		{name: "world-writable directory", path: "open/admin.sock", me: me, err: "/open is writable by others (mode 0777, group 0)"},
		{name: "group-writable directory", path: "group/admin.sock", me: me, err: "/group is writable by others (mode 0770, group 1)"},
		{name: "a third user's directory above", path: "theirs/sub/admin.sock", me: me, err: "/theirs belongs to uid 65533, who could replace"},
		{name: "relative, below a third user's directory", path: "./admin.sock", me: me, err: "/theirs belongs to uid 65533, who could replace"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(base, tc.path)
			if strings.HasPrefix(tc.path, "./") {
				path = tc.path
				t.Chdir(filepath.Join(base, "theirs/sub"))
			}
			keeper, found, err := Keeper(path, tc.me, tc.own, "FIX")
			if tc.err != "" {
				var ue *UntrustedError
				if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.err) || !strings.HasSuffix(err.Error(), "; FIX") {
					t.Fatalf("err %v, want one with %q", err, tc.err)
				}
				return
			}
			if err != nil || keeper != tc.keeper || found != tc.found {
				t.Fatalf("Keeper = %d, %v, %v; want %d, %v, nil", keeper, found, err, tc.keeper, tc.found)
			}
		})
	}
}

func TestCheckPeer(t *testing.T) {
	for _, tc := range []struct {
		name          string
		peer, keeper  uint32
		found         bool
		ok            bool
		wantInMessage string
	}{
		{name: "root", peer: 0, keeper: service, found: true, ok: true},
		{name: "myself", peer: me, keeper: service, found: true, ok: true},
		{name: "the keeper", peer: service, keeper: service, found: true, ok: true},
		{name: "a stranger", peer: mallory, keeper: service, found: true,
			wantInMessage: "the process answering on it is uid 65533, pid 77, not root, you or the socket's owner uid 65532"},
		{name: "a socket that was not there when checked", peer: service, keeper: service, found: false,
			wantInMessage: "the process answering on it is uid 65532, pid 77, not root or you"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckPeer("/s", tc.peer, 77, me, tc.keeper, tc.found, "FIX")
			if tc.ok != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.wantInMessage) {
				t.Fatalf("CheckPeer: %v", err)
			}
		})
	}
}
