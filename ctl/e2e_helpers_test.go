package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/admin/adminapi"
	"github.com/chatd/chatd/internal/testbin"
)

func TestMain(m *testing.M) { os.Exit(testbin.Main(m)) }

// result is what a chatctl run did.
type result struct {
	stdout, stderr string
	code           int
}

// ctl runs the real chatctl binary with args and the given environment
// additions.
func ctl(t *testing.T, env []string, args ...string) result {
	t.Helper()
	return runCtl(t, exec.Command(testbin.Path(t, "chatctl"), args...), env, "")
}

// ctlOn runs chatctl against the chatd's socket.
func ctlOn(t *testing.T, c *testbin.Chatd, args ...string) result {
	t.Helper()
	return ctl(t, nil, append([]string{"--socket", c.Socket}, args...)...)
}

func runCtl(t *testing.T, cmd *exec.Cmd, env []string, stdin string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(cleanEnv(), env...)
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run chatctl: %v", err)
	}
	return result{stdout: out.String(), stderr: errOut.String(), code: code}
}

// cleanEnv keeps a developer's CHATD_* and CHATCTL_* settings out of the tests. Under
// -race it also turns off the race runtime's one-second pause at a clean
// exit, which is there for goroutines still running and would otherwise
// add a second to every chatctl run; races during the run are reported
// all the same.
func cleanEnv() []string {
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "CHATD_") || strings.HasPrefix(kv, "CHATCTL_") || strings.HasPrefix(kv, "GORACE=")
	})
	return append(env, "GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
}

// mustOK fails the test unless chatctl exited 0 with nothing on stderr.
func (r result) mustOK(t *testing.T) result {
	t.Helper()
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("chatctl exited %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	return r
}

// listJSON returns `chatctl list -o json`, decoded.
func listJSON(t *testing.T, c *testbin.Chatd) []adminapi.Client {
	t.Helper()
	r := ctlOn(t, c, "list", "-o", "json").mustOK(t)
	var list adminapi.ClientList
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		t.Fatalf("list -o json: %v\n%s", err, r.stdout)
	}
	return list.Clients
}

// chatter is a connected chat client.
type chatter struct {
	t  *testing.T
	nc *net.TCPConn
}

func dial(t *testing.T, c *testbin.Chatd) *chatter {
	t.Helper()
	nc := c.Dial()
	t.Cleanup(func() { nc.Close() })
	return &chatter{t: t, nc: nc}
}

// addr is the client's own address: the remote address chatd sees.
func (ch *chatter) addr() string { return ch.nc.LocalAddr().String() }

// say sends a line and checks the answer; it returns the bytes sent (the
// same number come back).
func (ch *chatter) say(line string) int {
	ch.t.Helper()
	msg := line + "\n"
	if _, err := ch.nc.Write([]byte(msg)); err != nil {
		ch.t.Fatalf("write: %v", err)
	}
	got, err := testbin.ReadFull(ch.nc, len(msg), 5*time.Second)
	if err != nil {
		ch.t.Fatalf("read the answer to %q: %v (got %q)", line, err, got)
	}
	if want := strings.ToUpper(msg); string(got) != want {
		ch.t.Fatalf("answer %q, want %q", got, want)
	}
	return len(msg)
}

// waitFor polls `list -o json` until cond holds for the listing.
func waitFor(t *testing.T, c *testbin.Chatd, what string, cond func([]adminapi.Client) bool) []adminapi.Client {
	t.Helper()
	var last []adminapi.Client
	if !testbin.Poll(10*time.Second, func() bool {
		last = listJSON(t, c)
		return cond(last)
	}) {
		t.Fatalf("listing never showed %s; last: %+v", what, last)
	}
	return last
}

var tableGap = regexp.MustCompile(` {2,}`)

// tableRows splits a borderless table into cells (columns are at least
// two spaces apart; values hold at most single spaces).
func tableRows(out string) (header []string, rows [][]string, count string) {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	header = tableGap.Split(lines[0], -1)
	for _, l := range lines[1 : len(lines)-1] {
		rows = append(rows, tableGap.Split(l, -1))
	}
	return header, rows, lines[len(lines)-1]
}

// otherUser is uid 65534 (nobody), which the tests run chatctl as.
const otherUser = 65534

// ctlAs runs chatctl as uid 65534 with the given groups, from a copy in a
// directory that user can reach (testbin's build directory is private).
func ctlAs(t *testing.T, gid uint32, groups []uint32, args ...string) result {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to run chatctl as another user")
	}
	b, err := os.ReadFile(testbin.Path(t, "chatctl"))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(publicDir(t), "chatctl")
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: otherUser, Gid: gid, Groups: groups}}
	return runCtl(t, cmd, nil, "")
}

// outsiderGroup is an existing group that uid 65534 is not a member of:
// the admin group of the authorization tests. Nothing is created on the
// host.
func outsiderGroup(t *testing.T) (string, uint32) {
	t.Helper()
	var nobodys []string
	if u, err := user.LookupId(strconv.Itoa(otherUser)); err == nil {
		nobodys, _ = u.GroupIds()
	}
	for _, name := range []string{"daemon", "bin", "sys", "adm", "users", "staff", "operator"} {
		g, err := user.LookupGroup(name)
		if err != nil || g.Gid == "0" || slices.Contains(nobodys, g.Gid) || g.Gid == strconv.Itoa(otherUser) {
			continue
		}
		gid, _ := strconv.ParseUint(g.Gid, 10, 32)
		return name, uint32(gid)
	}
	t.Skip("no group on this host that uid 65534 is not in")
	return "", 0
}

// publicDir is a directory everyone can reach, for sockets that other
// users must get to.
func publicDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "chatd-pub-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(d, 0o755)
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}
