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

	"github.com/chatd/chatd/internal/sockettrust"
	"github.com/chatd/chatd/internal/testbin"
)

// The users of the squatting tests: the victim, whose default admin socket
// is /tmp/chatd-65534 when XDG_RUNTIME_DIR is not set, a local attacker,
// and the user an installed service runs as. Only root can be them all.
const (
	victimUID   = 65534
	attackerUID = 65533
	serviceUID  = 65532
)

// asUser runs the real binary name as uid (its own group, no others) with
// env added to the tests' environment, minus XDG_RUNTIME_DIR: from a copy
// in a directory every user can reach (testbin's build directory is
// private).
func asUser(t *testing.T, uid int, env []string, name string, args ...string) result {
	t.Helper()
	cmd := exec.Command(publicCopy(t, name), args...)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
	return runCtl(t, cmd, append([]string{"XDG_RUNTIME_DIR="}, env...), "")
}

// publicCopy copies a built binary to where every user can run it.
func publicCopy(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(testbin.Path(t, name))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(publicDir(t), name)
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// startChatdAs runs chatd as uid with its admin socket at socket and, if
// group is not "", that group (gid) as its admin.group and a group of its
// own.
func startChatdAs(t *testing.T, uid int, socket, group string, gid uint32) *testbin.Chatd {
	t.Helper()
	state := filepath.Join(publicDir(t), "state")
	os.Mkdir(state, 0o700)
	os.Chown(state, uid, uid)
	groups := "--clear-groups"
	config := fmt.Sprintf("state_dir: %s\nadmin:\n  socket: %s\n", state, socket)
	if group != "" {
		groups = fmt.Sprintf("--groups=%d", gid)
		config += "  group: " + group + "\n"
	}
	// The wrapper's last word is chatd's copy: the original path that
	// follows it is shifted away.
	wrapper := []string{"setpriv", fmt.Sprintf("--reuid=%d", uid), fmt.Sprintf("--regid=%d", uid), groups,
		"sh", "-c", `shift; exec "$0" "$@"`, publicCopy(t, "chatd")}
	return testbin.StartChatd(t, testbin.Options{Wrapper: wrapper, Config: config})
}

// fakeTmp is a directory like /tmp: everyone may create names in it, and
// the sticky bit keeps them from removing each other's. The squatting
// tests give it to the programs as TMPDIR.
func fakeTmp(t *testing.T) string {
	t.Helper()
	d := publicDir(t)
	os.Chmod(d, 0o777|os.ModeSticky)
	return d
}

func needRootAndSetpriv(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to run the programs as other users")
	}
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("setpriv is not installed (.ci/run installs util-linux)")
	}
}

// A user without XDG_RUNTIME_DIR gets /tmp/chatd-UID as their default
// socket directory; another user can create it first and serve a socket
// there. The victim's chatctl must refuse it with one line that says whose
// it is and what to do, every command alike, before it sends a byte: the
// squatter's chatd (which would log any request from the victim as
// refused) sees nothing. The victim's own chatd refuses the directory too,
// saying whose it is rather than that it is "not writable".
func TestSquattedDefaultSocketIsRefused(t *testing.T) {
	needRootAndSetpriv(t)
	tmp := fakeTmp(t)
	squat := filepath.Join(tmp, "chatd-"+strconv.Itoa(victimUID))
	if err := os.Mkdir(squat, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chown(squat, attackerUID, attackerUID)
	attacker := startChatdAs(t, attackerUID, filepath.Join(squat, "admin.sock"), "", 0)

	noConfig := filepath.Join(publicDir(t), "empty.yaml")
	os.WriteFile(noConfig, nil, 0o644)
	env := []string{"TMPDIR=" + tmp, "HOME=/nonexistent"}
	want := fmt.Sprintf("chatctl: refusing the admin socket %s/admin.sock: %s/admin.sock belongs to %s, not to you; it is not yours: remove it (as root if need be), or set XDG_RUNTIME_DIR or --socket to a directory of your own; nothing was sent to it\n",
		squat, squat, sockettrust.Describe(attackerUID))
	for _, args := range [][]string{{"list"}, {"list", "-o", "json"}, {"status"}, {"kick", "1"}, {"reload"}, {"restart"}, {"dial-stdio"}} {
		r := asUser(t, victimUID, env, "chatctl", append([]string{"--config", noConfig}, args...)...)
		if r.code != 1 || r.stdout != "" || r.stderr != want {
			t.Errorf("chatctl %s: exit %d\nstdout: %q\nstderr: %q\nwant:   %q", strings.Join(args, " "), r.code, r.stdout, r.stderr, want)
		}
	}
	if recs := attacker.LogRecords("admin request refused"); len(recs) > 0 {
		t.Errorf("the squatter's chatd received requests from the victim: %v", recs)
	}

	// The victim's own chatd: the same directory, refused for what it is.
	r := asUser(t, victimUID, env, "chatd", "run", "--config", noConfig, "--listen", "127.0.0.1:0",
		"--state-dir", filepath.Join(tmp, "victim-state"))
	if r.code != 2 || !strings.Contains(r.stderr, fmt.Sprintf("directory %s belongs to %s, not to root or to %s, which runs chatd: someone else made it",
		squat, sockettrust.Describe(attackerUID), sockettrust.Describe(victimUID))) || strings.Contains(r.stderr, "not writable") {
		t.Errorf("the victim's chatd: exit %d\n%s", r.code, r.stderr)
	}
	if lines := strings.Count(strings.TrimSpace(r.stderr), "\n"); lines != 0 {
		t.Errorf("the victim's chatd said more than one line:\n%s", r.stderr)
	}
}

// A socket right in /tmp is a name anyone may take first: the victim's
// chatd, finding another user's chatd (or any program) there, says whose
// it is rather than "another chatd".
func TestChatdNamesTheStrangerOnItsSocket(t *testing.T) {
	needRootAndSetpriv(t)
	tmp := fakeTmp(t)
	sock := filepath.Join(tmp, "admin.sock")
	startChatdAs(t, attackerUID, sock, "", 0)
	cfg := filepath.Join(publicDir(t), "victim.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("admin:\n  socket: %s\n", sock)), 0o644)
	victim := func() result {
		return asUser(t, victimUID, nil, "chatd", "run", "--config", cfg, "--listen", "127.0.0.1:0",
			"--state-dir", filepath.Join(tmp, "victim-state"))
	}
	r := victim()
	if want := "its lock file belongs to " + sockettrust.Describe(attackerUID) + ", whose chatd serves (or served) this path"; r.code != 1 || !strings.Contains(r.stderr, want) {
		t.Errorf("with the squatter's lock file: exit %d\n%s", r.code, r.stderr)
	}
	// Without the lock file (a program that is not chatd): the socket's
	// owner is named.
	if err := os.Remove(sock + ".lock"); err != nil {
		t.Fatal(err)
	}
	r = victim()
	if want := "admin socket " + sock + " belongs to " + sockettrust.Describe(attackerUID) + ", whose program serves (or served) it"; r.code != 1 || !strings.Contains(r.stderr, want) {
		t.Errorf("with only the squatter's socket: exit %d\n%s", r.code, r.stderr)
	}
}

// The legitimate owners still get through: a user's own chatd in
// /tmp/chatd-UID, and (as root, or as a member of admin.group) the
// installed service's socket, which belongs to the service's user in a
// directory that root made for it.
func TestLegitimateSocketOwnersAreTrusted(t *testing.T) {
	needRootAndSetpriv(t)
	t.Run("own chatd in /tmp/chatd-UID", func(t *testing.T) {
		tmp := fakeTmp(t)
		own := filepath.Join(tmp, "chatd-"+strconv.Itoa(victimUID))
		os.Mkdir(own, 0o700)
		os.Chown(own, victimUID, victimUID)
		startChatdAs(t, victimUID, filepath.Join(own, "admin.sock"), "", 0)
		noConfig := filepath.Join(publicDir(t), "empty.yaml")
		os.WriteFile(noConfig, nil, 0o644)
		r := asUser(t, victimUID, []string{"TMPDIR=" + tmp}, "chatctl", "--config", noConfig, "status")
		if r.code != 0 || !strings.Contains(r.stdout, "admin socket:  "+own+"/admin.sock") {
			t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("root and a group member to the service's socket", func(t *testing.T) {
		run := filepath.Join(publicDir(t), "run") // root's, 0755, like /run
		os.Mkdir(run, 0o755)
		svcDir := filepath.Join(run, "chatd") // as systemd makes RuntimeDirectory= for User=
		os.Mkdir(svcDir, 0o750)
		os.Chown(svcDir, serviceUID, serviceUID)
		sock := filepath.Join(svcDir, "admin.sock")
		group, gid := outsiderGroup(t)
		os.Chown(svcDir, serviceUID, int(gid))
		svc := startChatdAs(t, serviceUID, sock, group, gid)
		r := ctl(t, nil, "--socket", sock, "status").mustOK(t)
		if !strings.Contains(r.stdout, fmt.Sprintf("pid:           %d", svc.Pid())) {
			t.Fatalf("root's status of the service:\n%s", r.stdout)
		}
		ctlAs(t, otherUser, []uint32{gid}, "--socket", sock, "status").mustOK(t)
	})
}
