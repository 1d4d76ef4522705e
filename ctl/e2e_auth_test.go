package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/testbin"
)

// With the socket open to everyone (mode 0666 in a directory everyone can
// reach), the peer credentials are all that stands between a local user
// and the API: a stranger gets 403, a member of admin.group gets in.
func TestPeerCredentialsDecideWhoMayUseTheAPI(t *testing.T) {
	group, gid := outsiderGroup(t)
	dir := publicDir(t)
	sock := filepath.Join(dir, "admin.sock")
	c := testbin.StartChatd(t, testbin.Options{Config: fmt.Sprintf(
		"admin:\n  socket: %s\n  mode: \"0666\"\n  group: %s\n", sock, group)})
	c.Socket = sock
	dial(t, c).say("hello")

	t.Run("stranger", func(t *testing.T) {
		r := ctlAs(t, otherUser, nil, "--socket", sock, "list")
		if r.code != 1 || r.stdout != "" || r.stderr != "chatctl: permission denied: run as root or as a member of group "+group+"\n" {
			t.Fatalf("%+v", r)
		}
		r = ctlAs(t, otherUser, nil, "--socket", sock, "kick", "1")
		if r.code != 1 || !strings.Contains(r.stderr, "permission denied") {
			t.Fatalf("kick: %+v", r)
		}
		if recs := c.LogRecords("admin request refused"); len(recs) == 0 || recs[0]["uid"] != float64(otherUser) {
			t.Errorf("refusals not logged with the uid: %v", recs)
		}
	})
	t.Run("supplementary group member", func(t *testing.T) {
		r := ctlAs(t, otherUser, []uint32{gid}, "--socket", sock, "list").mustOK(t)
		if !strings.HasSuffix(r.stdout, "1 client\n") {
			t.Fatalf("%q", r.stdout)
		}
	})
	t.Run("primary group member", func(t *testing.T) {
		ctlAs(t, gid, nil, "--socket", sock, "status").mustOK(t)
	})
	if n := len(listJSON(t, c)); n != 1 {
		t.Fatalf("the refused kick disconnected someone: %d clients left", n)
	}
}

// By default the socket's directory is created 0750 with the admin group,
// and the socket is 0660: only the group gets through to the socket at
// all, and chatctl tells the others which group they need.
func TestSocketDirectoryKeepsOutsidersOut(t *testing.T) {
	group, gid := outsiderGroup(t)
	sock := filepath.Join(publicDir(t), "run", "admin.sock")
	testbin.StartChatd(t, testbin.Options{Config: fmt.Sprintf("admin:\n  socket: %s\n  group: %s\n", sock, group)})

	dir, err := os.Stat(filepath.Dir(sock))
	if err != nil {
		t.Fatal(err)
	}
	if dir.Mode().Perm() != 0o750 {
		t.Fatalf("socket directory mode %v, want 0750", dir.Mode().Perm())
	}
	r := ctlAs(t, otherUser, nil, "--socket", sock, "list")
	if r.code != 1 || r.stderr != "chatctl: permission denied: run as root or as a member of group "+group+"\n" {
		t.Fatalf("outsider: %+v", r)
	}
	ctlAs(t, otherUser, []uint32{gid}, "--socket", sock, "list").mustOK(t)
	ctl(t, nil, "--socket", sock, "status").mustOK(t) // root, of course
}

// The permission hint names what chatd is configured with: with no
// admin.group, no group (there may be no group "chatd" on the host at
// all), both where the socket shuts the caller out (chatctl's hint) and
// where chatd's API refuses (its 403).
func TestPermissionHintNamesWhatIsConfigured(t *testing.T) {
	closed := filepath.Join(publicDir(t), "run", "admin.sock") // chatd makes run/ 0750, root's group
	shut := testbin.StartChatd(t, testbin.Options{Config: fmt.Sprintf("admin:\n  socket: %s\n", closed)})
	open := filepath.Join(publicDir(t), "admin.sock")
	testbin.StartChatd(t, testbin.Options{Config: fmt.Sprintf("admin:\n  socket: %s\n  mode: \"0666\"\n", open)})
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"socket closed, configuration unknown", []string{"--socket", closed}, "permission denied: run as root"},
		{"socket closed, configuration read", []string{"--config", shut.Config}, "permission denied: run as root (admin.group is not set)"},
		{"chatd refuses", []string{"--socket", open}, "permission denied: run as root (admin.group is not set)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ctlAs(t, otherUser, nil, append(tc.args, "status")...)
			if r.code != 1 || r.stderr != "chatctl: "+tc.want+"\n" {
				t.Fatalf("exit %d, stderr %q; want %q", r.code, r.stderr, tc.want)
			}
		})
	}
}
