package e2e

// Suite 8: the admin socket's security, with the real chatd and chatctl.
// The socket has the configured mode and group; a stranger is refused on
// every endpoint even when the file mode lets them in; nothing speaks the
// API over TCP; a planted symlink or a directory others can write is
// refused at start; and hostile admin clients (malformed HTTP, 10 MiB
// bodies, 1,000 idle connections, slow headers) stop neither the admin
// API nor the chat traffic.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/admin/adminapi"
	"github.com/chatd/chatd/internal/testbin"
)

// strangerUID is uid 65534 (nobody): not root, not chatd's user, not in
// the admin group.
const strangerUID = 65534

// adminBound is how long one chatctl run may take while hostile admin
// clients are at work: far below the 5 s ReadHeaderTimeout that frees a
// slot held by an idle or slow connection, so the bound holds only if
// such connections do not make the operator wait for them.
const adminBound = 2 * time.Second

// helperEnv, when set, makes this test binary a helper that sends admin
// requests instead of running tests: see adminRequestsHelper.
const helperEnv = "CHATD_E2E_ADMIN_HELPER_SOCKET"

func init() {
	if sock := os.Getenv(helperEnv); sock != "" {
		os.Exit(adminRequestsHelper(sock, os.Args[1:]))
	}
}

// helperAnswer is what the helper got for one request.
type helperAnswer struct {
	Request string `json:"request"`
	Status  int    `json:"status"`
	Body    string `json:"body"`
	Err     string `json:"err,omitempty"`
}

// adminRequestsHelper sends each "METHOD PATH" of reqs on a fresh
// connection to the admin socket and prints one JSON helperAnswer per
// line. It runs as another user, in a copy of the test binary.
func adminRequestsHelper(sock string, reqs []string) int {
	enc := json.NewEncoder(os.Stdout)
	for _, req := range reqs {
		method, path, _ := strings.Cut(req, " ")
		a := helperAnswer{Request: req}
		func() {
			c, err := net.DialTimeout("unix", sock, 5*time.Second)
			if err != nil {
				a.Err = err.Error()
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: chatd\r\nConnection: close\r\n\r\n", method, path)
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				a.Err = err.Error()
				return
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			a.Status, a.Body = resp.StatusCode, string(body)
		}()
		enc.Encode(a)
	}
	return 0
}

// ctlEnv is the environment for chatctl runs: no CHATD_* settings from a
// developer's shell, and no race-runtime pause of a second at exit.
func ctlEnv() []string {
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "CHATD_") || strings.HasPrefix(kv, "GORACE=")
	})
	return append(env, "GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
}

// chatctl runs the real chatctl against sock and says how long it took.
func chatctl(t *testing.T, sock string, args ...string) (string, time.Duration, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, testbin.Path(t, "chatctl"), append([]string{"--socket", sock}, args...)...)
	cmd.Env = ctlEnv()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	if err != nil {
		return out.String(), took, fmt.Errorf("chatctl %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(errOut.String()))
	}
	return out.String(), took, nil
}

// adminIDs lists the connected clients' IDs with `chatctl list -o json`.
func adminIDs(t *testing.T, sock string) []uint64 {
	t.Helper()
	out, _, err := chatctl(t, sock, "list", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var list adminapi.ClientList
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("list -o json: %v: %q", err, out)
	}
	var ids []uint64
	for _, c := range list.Clients {
		ids = append(ids, c.ID)
	}
	return ids
}

// operatorFor runs `chatctl list` and `chatctl status` by turns for
// about d (at least twice each, at most 200 rounds), as an operator would
// while something is wrong, and returns every run's latency, sorted.
// Each run must succeed, show the clients in want, and take at most
// adminBound.
func operatorFor(t *testing.T, c *testbin.Chatd, d time.Duration, want []uint64) []time.Duration {
	t.Helper()
	var lat []time.Duration
	failures := 0
	end := time.Now().Add(d)
	for i := 0; i < 200 && failures < 2 && (i < 2 || time.Now().Before(end)); i++ {
		if i > 0 {
			time.Sleep(20 * time.Millisecond) // pace: an operator, not a flood
		}
		out, took, err := chatctl(t, c.Socket, "list", "-o", "json")
		lat = append(lat, took)
		if err != nil {
			t.Errorf("round %d (after %v): %v", i, took, err)
			failures++
			continue
		}
		var list adminapi.ClientList
		if err := json.Unmarshal([]byte(out), &list); err != nil {
			t.Errorf("round %d: list -o json: %v: %q", i, err, out)
		}
		for _, id := range want {
			if !slices.ContainsFunc(list.Clients, func(c adminapi.Client) bool { return c.ID == id }) {
				t.Errorf("round %d: client %d missing from the listing", i, id)
			}
		}
		out, took, err = chatctl(t, c.Socket, "status", "-o", "json")
		lat = append(lat, took)
		var st adminapi.Status
		if err != nil {
			t.Errorf("round %d (after %v): %v", i, took, err)
			failures++
		} else if err := json.Unmarshal([]byte(out), &st); err != nil || st.PID != c.Pid() {
			t.Errorf("round %d: status -o json: %v: %q", i, err, out)
		}
	}
	slices.Sort(lat)
	if worst := lat[len(lat)-1]; worst > adminBound {
		t.Errorf("slowest chatctl run took %v; want at most %v", worst, adminBound)
	}
	return lat
}

// chatWatch keeps a few chat clients pinging and one client idle (the
// one hostile admin requests aim their kicks at) while a test does its
// worst; done stops them and checks that chat carried on.
type chatWatch struct {
	t       *testing.T
	d       *testbin.Chatd
	victim  *net.TCPConn
	ids     []uint64 // the watched clients' IDs, the victim's first
	stop    chan struct{}
	collect func() []time.Duration
}

func watchChat(t *testing.T, d *testbin.Chatd, pingers int) *chatWatch {
	t.Helper()
	w := &chatWatch{t: t, d: d, stop: make(chan struct{})}
	w.victim = d.Dial()
	t.Cleanup(func() { w.victim.Close() })
	say(t, w.victim, "victim here")
	w.ids = adminIDs(t, d.Socket)
	if len(w.ids) != 1 {
		t.Fatalf("clients before the pingers: %v", w.ids)
	}
	w.collect = pingLatencies(t, d.Addr, pingers, w.stop)
	if !testbin.Poll(10*time.Second, func() bool { return len(adminIDs(t, d.Socket)) == 1+pingers }) {
		t.Fatalf("pingers never all connected: %v", adminIDs(t, d.Socket))
	}
	w.ids = adminIDs(t, d.Socket)
	return w
}

// done stops the pingers and checks chat: every ping answered, p99 under a
// second, the victim still connected and answering.
func (w *chatWatch) done() (p50, p99 time.Duration, n int) {
	w.t.Helper()
	close(w.stop)
	lat := w.collect()
	if len(lat) < 10 {
		w.t.Errorf("only %d chat round trips during the test", len(lat))
	}
	p50, p99 = percentile(lat, 0.5), percentile(lat, 0.99)
	if p99 > time.Second {
		w.t.Errorf("chat p99 %v while hostile admin clients were at work; want under 1s", p99)
	}
	say(w.t, w.victim, "still here")
	if ids := adminIDs(w.t, w.d.Socket); !slices.Contains(ids, w.ids[0]) {
		w.t.Errorf("client %d (aimed at by hostile kicks) is gone: %v", w.ids[0], ids)
	}
	if n := countLog(w.d, "client kicked by operator"); n != 0 {
		w.t.Errorf("%d clients were kicked by hostile requests", n)
	}
	if w.d.Exited() {
		w.t.Fatal("chatd exited")
	}
	return p50, p99, len(lat)
}

// say writes a line and checks its uppercase answer.
func say(t *testing.T, c net.Conn, line string) {
	t.Helper()
	msg := line + "\n"
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatalf("write: %v", err)
	}
	got, err := testbin.ReadFull(c, len(msg), 5*time.Second)
	if err != nil || string(got) != strings.ToUpper(msg) {
		t.Fatalf("answer %q (%v), want %q", got, err, strings.ToUpper(msg))
	}
}

// adminFDBound is the most descriptors chatd may have beyond its baseline
// while admin clients pile up: the 32 admin connections it serves at once,
// the one it may hold while making room, and slack for the chat clients'
// churn and the runtime.
const adminFDBound = 32 + 1 + 8

// existingGroup picks an existing group of this machine, by gid, that is
// not root's and not our own: the admin group of the test. Nothing is
// created on the host.
func existingGroup(t *testing.T) (string, uint32) {
	t.Helper()
	if os.Geteuid() != 0 {
		// Only root may give a file a group it is not a member of.
		for _, g := range must(os.Getgroups()) {
			if grp, err := user.LookupGroupId(strconv.Itoa(g)); err == nil && g != 0 && g != os.Getegid() {
				return grp.Name, uint32(g)
			}
		}
		t.Skip("not root and in no group besides the primary one")
	}
	for gid := 1; gid < 1000; gid++ {
		if gid == os.Getegid() {
			continue
		}
		if g, err := user.LookupGroupId(strconv.Itoa(gid)); err == nil {
			return g.Name, uint32(gid)
		}
	}
	t.Skip("no group with a gid below 1000 on this machine")
	return "", 0
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestAdminSocketModeAndGroupAsConfigured(t *testing.T) {
	name, gid := existingGroup(t)
	for _, c := range []struct {
		desc, group, mode string
		perm              os.FileMode
	}{
		{"group by name", name, "0640", 0o640},
		{"group by number", strconv.Itoa(int(gid)), "0600", 0o600},
	} {
		t.Run(c.desc, func(t *testing.T) {
			// The whole admin section, socket included: a section in
			// Options.Config replaces testbin's.
			sock := filepath.Join(shortTemp(t), "run", "admin.sock")
			d := testbin.StartChatd(t, testbin.Options{Config: fmt.Sprintf("admin:\n  socket: %s\n  mode: %q\n  group: %q\n",
				sock, c.mode, c.group)})
			d.Socket = sock
			fi, err := os.Lstat(d.Socket)
			if err != nil {
				t.Fatal(err)
			}
			st := fi.Sys().(*syscall.Stat_t)
			if fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != c.perm || st.Gid != gid || int(st.Uid) != os.Geteuid() {
				t.Fatalf("socket %v uid %d gid %d; want a socket %v, uid %d, gid %d", fi.Mode(), st.Uid, st.Gid, c.perm, os.Geteuid(), gid)
			}
			// The directory chatd made for it lets the group through and
			// no one else.
			di, err := os.Stat(filepath.Dir(d.Socket))
			if err != nil {
				t.Fatal(err)
			}
			if dst := di.Sys().(*syscall.Stat_t); di.Mode().Perm() != 0o750 || dst.Gid != gid {
				t.Fatalf("socket directory %v gid %d; want 0750 gid %d", di.Mode().Perm(), dst.Gid, gid)
			}
			// The line may still be in the log pipe.
			d.WaitLog("admin API listening", 5*time.Second)
			recs := d.LogRecords("admin API listening")
			if len(recs) != 1 || recs[0]["mode"] != c.mode || recs[0]["group"] != c.group {
				t.Fatalf("listening log records %v", recs)
			}
			if _, _, err := chatctl(t, d.Socket, "status"); err != nil {
				t.Fatal(err)
			}
			t.Logf("socket %v uid %d gid %d (%s); directory %v", fi.Mode(), st.Uid, st.Gid, name, di.Mode())
		})
	}
}

// With the socket file chmod'ed 0666 and its directory 0755 by mistake,
// the file mode lets a stranger connect: the peer credentials still keep
// them out of every endpoint, and their kick does nothing.
func TestAdminRefusesAStrangerOnEveryEndpoint(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a helper as another user")
	}
	d := testbin.StartChatd(t, testbin.Options{})
	victim := d.Dial()
	defer victim.Close()
	say(t, victim, "kick me if you can")
	ids := adminIDs(t, d.Socket)
	if len(ids) != 1 {
		t.Fatalf("clients %v", ids)
	}
	id := strconv.FormatUint(ids[0], 10)

	// The mistake: everyone may reach and open the socket.
	if err := os.Chmod(filepath.Dir(d.Socket), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(d.Socket, 0o666); err != nil {
		t.Fatal(err)
	}

	// A copy of this test binary, where uid 65534 can run it.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := os.MkdirTemp("", "chatd-pub-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(pub)
	os.Chmod(pub, 0o755)
	helper := filepath.Join(pub, "helper")
	if err := os.WriteFile(helper, must(os.ReadFile(self)), 0o755); err != nil {
		t.Fatal(err)
	}
	requests := []string{
		"GET /v1/clients",
		"GET /v1/clients/" + id,
		"DELETE /v1/clients/" + id + "?reason=stranger",
		"GET /v1/status",
		"POST /v1/reload",
		"GET /metrics",
		"GET /no/such/endpoint",
		"PUT /v1/clients",
		"GET /v1/clients/not-an-id",
		"OPTIONS *", // net/http answers this itself unless told not to
		"GET *",
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, helper, requests...)
	cmd.Dir = "/"
	cmd.Env = append(ctlEnv(), helperEnv+"="+d.Socket)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: strangerUID, Gid: strangerUID}}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helper as uid %d: %v\n%s", strangerUID, err, stderr.String())
	}
	var answers []helperAnswer
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var a helperAnswer
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatalf("helper said %q: %v", line, err)
		}
		answers = append(answers, a)
	}
	if len(answers) != len(requests) {
		t.Fatalf("%d answers to %d requests: %s", len(answers), len(requests), out)
	}
	for _, a := range answers {
		var e adminapi.Error
		switch {
		case a.Err != "":
			// Connecting must work: the file mode is what the test opened.
			t.Errorf("%s: %s", a.Request, a.Err)
		case a.Status != http.StatusForbidden:
			t.Errorf("%s: status %d, want 403; body %q", a.Request, a.Status, a.Body)
		case json.Unmarshal([]byte(a.Body), &e) != nil || !strings.HasPrefix(e.Error, "permission denied: run as root"):
			t.Errorf("%s: body %q is not the JSON permission error", a.Request, a.Body)
		}
	}
	t.Logf("uid %d through a 0666 socket: %d requests, all answered 403: %q", strangerUID, len(answers), answers[0].Body)

	// Nothing happened: the victim is connected and answering, and chatd
	// logged every refusal with the stranger's uid.
	say(t, victim, "still here")
	if got := adminIDs(t, d.Socket); !slices.Equal(got, ids) {
		t.Fatalf("clients after the stranger's requests: %v, want %v", got, ids)
	}
	if n := countLog(d, "client kicked by operator"); n != 0 {
		t.Fatalf("a kick happened: %d log records", n)
	}
	if n := countLog(d, "configuration reload requested"); n != 0 {
		t.Fatalf("a reload happened: %d log records", n)
	}
	refused := 0
	for _, rec := range d.LogRecords("admin request refused") {
		if rec["uid"] == float64(strangerUID) {
			refused++
		}
	}
	if refused != len(requests) {
		t.Fatalf("%d refusals of uid %d logged, want %d", refused, strangerUID, len(requests))
	}
}

// procSocket is one socket line of /proc/PID/net/{tcp,tcp6,unix}.
type procSocket struct {
	local string // address and port, or the Unix socket's path
	state string // hex TCP state; 0A is LISTEN
	inode string
}

// socketInodes returns the inodes of the sockets a process has open.
func socketInodes(t *testing.T, pid int) map[string]bool {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	inodes := map[string]bool{}
	for _, e := range ents {
		link, err := os.Readlink(filepath.Join(dir, e.Name()))
		if ino, ok := strings.CutPrefix(link, "socket:["); err == nil && ok {
			inodes[strings.TrimSuffix(ino, "]")] = true
		}
	}
	return inodes
}

// procTCP parses /proc/PID/net/tcp or tcp6 (the tables of the process's
// network namespace).
func procTCP(t *testing.T, pid int, table string) []procSocket {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/%s", pid, table))
	if err != nil {
		t.Fatal(err)
	}
	var out []procSocket
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 10 {
			continue
		}
		out = append(out, procSocket{local: hexAddr(t, f[1]), state: f[3], inode: f[9]})
	}
	return out
}

// hexAddr decodes /proc/net/tcp's "0100007F:1F90" into "127.0.0.1:8080".
func hexAddr(t *testing.T, s string) string {
	t.Helper()
	h, p, _ := strings.Cut(s, ":")
	raw, err := hex.DecodeString(h)
	port, perr := strconv.ParseUint(p, 16, 16)
	if err != nil || perr != nil {
		t.Fatalf("bad /proc/net/tcp address %q", s)
	}
	// The kernel prints the address as 32-bit words in host order
	// (little-endian on every machine this runs on).
	for i := 0; i+4 <= len(raw); i += 4 {
		slices.Reverse(raw[i : i+4])
	}
	return net.JoinHostPort(net.IP(raw).String(), strconv.FormatUint(port, 10))
}

// The admin API is on the Unix socket only: the chat port answers an HTTP
// request with its uppercase echo, and the chat listener is the only TCP
// socket chatd listens on.
func TestAdminAPIIsNotReachableOverTCP(t *testing.T) {
	d := testbin.StartChatd(t, testbin.Options{})
	c := d.Dial()
	defer c.Close()
	for _, req := range []string{
		"GET /v1/clients HTTP/1.1\r\nHost: chatd\r\n\r\n",
		"DELETE /v1/clients/1 HTTP/1.1\r\nHost: chatd\r\n\r\n",
		"GET /metrics HTTP/1.0\r\n\r\n",
	} {
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatal(err)
		}
		got, err := testbin.ReadFull(c, len(req), 5*time.Second)
		if err != nil || string(got) != strings.ToUpper(req) {
			t.Fatalf("chat port answered %q (%v), want the echo %q", got, err, strings.ToUpper(req))
		}
	}
	say(t, c, "still a chat")
	if ids := adminIDs(t, d.Socket); len(ids) != 1 {
		t.Fatalf("the HTTP requests on the chat port did something: clients %v", ids)
	}

	mine := socketInodes(t, d.Pid())
	var listeners []string
	for _, table := range []string{"tcp", "tcp6"} {
		for _, s := range procTCP(t, d.Pid(), table) {
			if mine[s.inode] && s.state == "0A" {
				listeners = append(listeners, s.local)
			}
		}
	}
	if len(listeners) != 1 || listeners[0] != d.Addr {
		t.Fatalf("chatd listens on TCP %v; want only the chat port %s", listeners, d.Addr)
	}
	// The API is on the Unix socket, owned by this chatd.
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/unix", d.Pid()))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 8 && f[7] == d.Socket && mine[f[6]] {
			found = true
		}
	}
	if !found {
		t.Fatalf("no listening Unix socket %s among chatd's sockets", d.Socket)
	}
	t.Logf("chatd's TCP listeners: %v (the chat port); admin API on unix:%s; %d sockets open", listeners, d.Socket, len(mine))
}

// nonJSONLines are the lines of chatd's output that are not JSON log
// records: what a person reads when it fails to start.
func nonJSONLines(out string) []string {
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l != "" && !json.Valid([]byte(l)) {
			lines = append(lines, l)
		}
	}
	return lines
}

func lines0(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	return lines[0]
}

// refusedAtStart runs chatd with the socket at sock and checks that it
// exits non-zero with one clear line saying want, before it serves.
func refusedAtStart(t *testing.T, sock, want string) {
	t.Helper()
	d := testbin.StartChatd(t, testbin.Options{NoWait: true, Config: fmt.Sprintf("admin:\n  socket: %s\n", sock)})
	code := d.Wait(30 * time.Second)
	lines := nonJSONLines(d.Logs())
	// Refused by the config checks (exit 2), or by the admin server for what
	// only the start can find.
	refused := strings.HasPrefix(lines0(lines), "chatd: config: admin.socket = ") || strings.HasPrefix(lines0(lines), "chatd: admin API: ")
	if code == 0 || len(lines) != 1 || !refused || !strings.Contains(lines[0], want) {
		t.Fatalf("chatd exited %d saying %q; want a non-zero exit and one line with %q; output:\n%s", code, lines, want, d.Logs())
	}
	if len(d.LogRecords("chatd started")) != 0 {
		t.Fatal("chatd said it started")
	}
	t.Logf("exit %d: %s", code, lines[0])
}

func TestAdminRefusesPlantedSymlinkAndOpenDirectory(t *testing.T) {
	t.Run("symlink to a file", func(t *testing.T) {
		dir := t.TempDir()
		target := filepath.Join(dir, "precious")
		if err := os.WriteFile(target, []byte("keep me"), 0o600); err != nil {
			t.Fatal(err)
		}
		sock := filepath.Join(shortTemp(t), "admin.sock")
		if err := os.Symlink(target, sock); err != nil {
			t.Fatal(err)
		}
		refusedAtStart(t, sock, "is a symbolic link; refusing to use it")
		if got, err := os.Readlink(sock); err != nil || got != target {
			t.Fatalf("the symlink was changed: %q %v", got, err)
		}
		if b, err := os.ReadFile(target); err != nil || string(b) != "keep me" {
			t.Fatalf("the symlink's target was changed: %q %v", b, err)
		}
	})
	t.Run("dangling symlink", func(t *testing.T) {
		// Where bind would create the socket for whoever planted the
		// link, in a place of their choosing.
		target := filepath.Join(t.TempDir(), "theirs.sock")
		sock := filepath.Join(shortTemp(t), "admin.sock")
		if err := os.Symlink(target, sock); err != nil {
			t.Fatal(err)
		}
		refusedAtStart(t, sock, "is a symbolic link; refusing to use it")
		if got, err := os.Readlink(sock); err != nil || got != target {
			t.Fatalf("the symlink was changed: %q %v", got, err)
		}
		if _, err := os.Lstat(target); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("something was created at the symlink's target: %v", err)
		}
	})
	t.Run("directory writable by everyone", func(t *testing.T) {
		open := filepath.Join(shortTemp(t), "open")
		if err := os.Mkdir(open, 0o777); err != nil {
			t.Fatal(err)
		}
		os.Chmod(open, 0o777) // past the umask
		marker := filepath.Join(open, "someone-elses")
		if err := os.WriteFile(marker, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		sock := filepath.Join(open, "admin.sock")
		refusedAtStart(t, sock, "directory "+open+" is writable by everyone (mode 0777) without the sticky bit, so anyone could replace the socket")
		fi, err := os.Stat(open)
		if err != nil || fi.Mode().Perm() != 0o777 || fi.Mode()&os.ModeSticky != 0 {
			t.Fatalf("the directory was changed: %v %v", fi.Mode(), err)
		}
		ents, _ := os.ReadDir(open)
		if len(ents) != 1 || ents[0].Name() != "someone-elses" {
			t.Fatalf("the directory's contents changed: %v", ents)
		}
	})
	t.Run("sticky directory like /tmp is fine", func(t *testing.T) {
		sticky := filepath.Join(shortTemp(t), "sticky")
		if err := os.Mkdir(sticky, 0o777); err != nil {
			t.Fatal(err)
		}
		os.Chmod(sticky, 0o777|os.ModeSticky)
		sock := filepath.Join(sticky, "admin.sock")
		testbin.StartChatd(t, testbin.Options{Config: fmt.Sprintf("admin:\n  socket: %s\n", sock)})
		if _, _, err := chatctl(t, sock, "status"); err != nil {
			t.Fatal(err)
		}
	})
}

// shortTemp is a temp dir with a path short enough for a Unix socket.
func shortTemp(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "chatd-adm-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// rawAdmin sends req on a fresh admin connection (the body, if any, from a
// goroutine, so that an early answer is read while it is still being sent)
// and returns the status line of the answer, "" if chatd closed the
// connection without one.
func rawAdmin(sock, head string, body io.Reader) (string, error) {
	c, err := net.DialTimeout("unix", sock, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		if _, err := io.WriteString(c, head); err != nil || body == nil {
			return
		}
		io.Copy(c, body)
	}()
	line, err := bufio.NewReader(c).ReadString('\n')
	c.Close() // ends the writer if chatd answered before taking all of it
	<-wrote
	if err != nil && line == "" {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return "", fmt.Errorf("no answer within 20s")
		}
		return "", nil // closed without an answer: a refusal too
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// zeros is an io.Reader of n zero bytes.
func zeros(n int64) io.Reader { return io.LimitReader(zeroReader{}, n) }

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// chunked10MiB is a 10 MiB chunked body, in 64 KiB chunks.
func chunked10MiB() io.Reader {
	chunk := append(append([]byte("10000\r\n"), bytes.Repeat([]byte("x"), 64<<10)...), "\r\n"...)
	return io.MultiReader(bytes.NewReader(bytes.Repeat(chunk, 160)), strings.NewReader("0\r\n\r\n"))
}

func TestAdminSurvivesMalformedHTTPAndHugeBodies(t *testing.T) {
	skipIfShort(t, "10 MiB bodies and many malformed requests")
	d := testbin.StartChatd(t, testbin.Options{})
	w := watchChat(t, d, 10)
	id := strconv.FormatUint(w.ids[0], 10)
	const tenMiB = 10 << 20
	cases := []struct {
		name, head string
		body       func() io.Reader
		want       string // status line prefix; "" accepts any 4xx
	}{
		{"garbage bytes", "\x00\x01\x02\xff\xfe garbage \x7f\r\n\r\n", nil, "HTTP/1.1 400"},
		{"binary noise", string(bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef, 0, '\n'}, 2000)), nil, ""},
		{"request line only a method", "GET\r\n\r\n", nil, "HTTP/1.1 400"},
		{"unknown protocol version", "GET /v1/status HTTP/9.9\r\nHost: x\r\n\r\n", nil, "HTTP/1.1 505"},
		{"spaces in the target", "GET /v1/clients /x HTTP/1.1\r\nHost: x\r\n\r\n", nil, "HTTP/1.1 400"},
		{"NUL in the method", "DE\x00ETE /v1/clients/" + id + " HTTP/1.1\r\nHost: x\r\n\r\n", nil, "HTTP/1.1 400"},
		{"absolute URL elsewhere", "DELETE http://evil/v1/clients/" + id + "/.. HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", nil, "HTTP/1.1 404"},
		{"100 KiB request line", "GET /" + strings.Repeat("a", 100<<10) + " HTTP/1.1\r\nHost: x\r\n\r\n", nil, "HTTP/1.1 431"},
		{"header without colon", "GET /v1/status HTTP/1.1\r\nHost: x\r\nnocolon\r\n\r\n", nil, "HTTP/1.1 400"},
		{"two content lengths", "DELETE /v1/clients/" + id + " HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx", nil, "HTTP/1.1 400"},
		{"negative content length", "DELETE /v1/clients/" + id + " HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n", nil, "HTTP/1.1 400"},
		{"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", nil, ""},
		{"HTTP/2 preface and a SETTINGS frame", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00", nil, ""},
		{"10 MiB declared body on a kick", "DELETE /v1/clients/" + id + " HTTP/1.1\r\nHost: x\r\nContent-Length: " + strconv.Itoa(tenMiB) + "\r\n\r\n",
			func() io.Reader { return zeros(tenMiB) }, "HTTP/1.1 413"},
		{"10 MiB declared body on a reload", "POST /v1/reload HTTP/1.1\r\nHost: x\r\nContent-Length: " + strconv.Itoa(tenMiB) + "\r\n\r\n",
			func() io.Reader { return zeros(tenMiB) }, "HTTP/1.1 413"},
		{"10 MiB chunked body on a kick", "DELETE /v1/clients/" + id + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
			chunked10MiB, "HTTP/1.1 411"},
		// HTTP/1.0 without a length has no body: the 10 MiB that follow
		// are junk after a complete request.
		{"10 MiB of junk after an HTTP/1.0 request", "GET /v1/status HTTP/1.0\r\nHost: x\r\n\r\n",
			func() io.Reader { return zeros(tenMiB) }, "HTTP/1.0 200"},
	}
	// Eight attackers go through the list over and over, at once, for as
	// long as the operator works (at most 100 times each).
	const attackers = 8
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	answered := map[string]int{}
	var bad, sent, huge atomic.Int64
	start := time.Now()
	for a := range attackers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range 100 {
				for i := range cases {
					select {
					case <-stop:
						return
					default:
					}
					tc := cases[(i+a+r)%len(cases)]
					var body io.Reader
					if tc.body != nil {
						body = tc.body()
						huge.Add(1)
					}
					got, err := rawAdmin(d.Socket, tc.head, body)
					sent.Add(1)
					// Besides the answer itself, chatd may close a hostile
					// connection to make room for others before it has read
					// a whole request, or turn it away (503).
					ok := err == nil && (got == "" || strings.HasPrefix(got, "HTTP/1.1 503") ||
						tc.want != "" && strings.HasPrefix(got, tc.want) ||
						tc.want == "" && strings.HasPrefix(got, "HTTP/1.1 4"))
					if !ok && bad.Add(1) <= 10 {
						t.Errorf("%s: answered %q (%v), want %q", tc.name, got, err, tc.want)
					}
					mu.Lock()
					answered[got]++
					mu.Unlock()
				}
			}
		}()
	}
	lat := operatorFor(t, d, 3*time.Second, w.ids)
	close(stop)
	wg.Wait()
	took := time.Since(start)
	p50, p99, n := w.done()
	if n := countLog(d, "configuration reload requested"); n != 0 {
		t.Errorf("a hostile request reloaded the configuration (%d times)", n)
	}
	t.Logf("%d malformed and oversized requests (%d with 10 MiB bodies) in %v; answers %v", sent.Load(), huge.Load(),
		took.Round(time.Millisecond), answered)
	t.Logf("chatctl meanwhile: %d runs, p50 %v, max %v; chat: %d round trips, p50 %v, p99 %v",
		len(lat), percentile(lat, 0.5), lat[len(lat)-1], n, p50, p99)
}

// dialAdmin opens n admin connections at once and returns those that
// connected.
func dialAdmin(t *testing.T, sock string, n int) []net.Conn {
	t.Helper()
	conns := make([]net.Conn, n)
	var wg sync.WaitGroup
	var failed atomic.Int64
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.DialTimeout("unix", sock, 5*time.Second)
			if err != nil {
				failed.Add(1)
				return
			}
			conns[i] = c
		}()
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	})
	if f := failed.Load(); f > 0 {
		t.Fatalf("%d of %d admin connections could not connect", f, n)
	}
	return conns
}

// closedByPeer counts the connections the other end has closed.
func closedByPeer(conns []net.Conn) int {
	var n atomic.Int64
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			var b [1]byte
			if _, err := c.Read(b[:]); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
				n.Add(1)
			}
			c.SetReadDeadline(time.Time{})
		}()
	}
	wg.Wait()
	return int(n.Load())
}

// 1,000 admin connections held open at once, half of them fresh and
// silent, half idle after a request, tie up neither the admin API nor
// chat, and cost chatd a bounded number of descriptors.
func TestAdminSurvivesAThousandIdleConnections(t *testing.T) {
	skipIfShort(t, "1,000 idle admin connections")
	d := testbin.StartChatd(t, testbin.Options{})
	w := watchChat(t, d, 10)
	baseFDs := openFDs(t, d.Pid())

	const idle = 1000
	start := time.Now()
	conns := dialAdmin(t, d.Socket, idle)
	// Every other one asks for the status first and then idles on its
	// keep-alive connection.
	var wg sync.WaitGroup
	var served, refused atomic.Int64
	for i := 0; i < idle; i += 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := conns[i]
			c.SetDeadline(time.Now().Add(20 * time.Second))
			defer c.SetDeadline(time.Time{})
			if _, err := io.WriteString(c, "GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
				refused.Add(1)
				return
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				refused.Add(1) // closed to make room for others
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			served.Add(1)
		}()
	}
	wg.Wait()
	opened := time.Since(start)

	// While they are all held, past ReadHeaderTimeout: the operator, and
	// chatd's descriptors.
	peakFDs := openFDs(t, d.Pid())
	lat := operatorFor(t, d, 6*time.Second, w.ids)
	peakFDs = max(peakFDs, openFDs(t, d.Pid()))
	closed := closedByPeer(conns)
	// Making room is logged, rate-limited (at most every 10s).
	if n := countLog(d, "admin connections at the limit"); n < 1 || n > 2 {
		t.Errorf("%d warnings about the admin connection limit in %v; want one or two", n, time.Since(start))
	}
	p50, p99, n := w.done()
	if peakFDs > baseFDs+adminFDBound {
		t.Errorf("chatd had %d descriptors with %d admin connections pending, %d before; want at most %d more",
			peakFDs, idle, baseFDs, adminFDBound)
	}
	for _, c := range conns {
		c.Close()
	}
	if !testbin.Poll(10*time.Second, func() bool { return openFDs(t, d.Pid()) <= baseFDs }) {
		t.Errorf("chatd's descriptors did not return to %d: %d", baseFDs, openFDs(t, d.Pid()))
	}
	t.Logf("%d admin connections opened in %v (%d status requests answered, %d closed to make room); chatd fds %d -> peak %d; %d of them closed by chatd while held",
		idle, opened.Round(time.Millisecond), served.Load(), refused.Load(), baseFDs, peakFDs, closed)
	t.Logf("chatctl with them held: %d runs, p50 %v, max %v; chat: %d round trips, p50 %v, p99 %v",
		len(lat), percentile(lat, 0.5), lat[len(lat)-1], n, p50, p99)
}

// Slowloris: clients that send their request headers a few bytes at a
// time and never finish, and come back when cut off, tie up neither the
// admin API nor chat.
func TestAdminSurvivesSlowHeaderClients(t *testing.T) {
	skipIfShort(t, "seconds of slow-header clients")
	d := testbin.StartChatd(t, testbin.Options{})
	w := watchChat(t, d, 10)
	baseFDs := openFDs(t, d.Pid())

	const slow = 200
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var connects, cut, dialFailed atomic.Int64
	for range slow {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 { // reconnects, bounded
				c, err := net.DialTimeout("unix", d.Socket, 5*time.Second)
				if err != nil {
					dialFailed.Add(1)
					return
				}
				connects.Add(1)
				_, err = io.WriteString(c, "GET /v1/clients HTTP/1.1\r\nHost: x\r\n")
				for i := 0; err == nil && i < 200; i++ { // a header line every 50ms, for at most 10s
					select {
					case <-stop:
						c.Close()
						return
					case <-time.After(50 * time.Millisecond):
					}
					_, err = fmt.Fprintf(c, "X-Slow-%d: 1\r\n", i)
				}
				c.Close()
				if err == nil {
					return
				}
				cut.Add(1)
				select { // and come back a little later
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
				}
			}
		}()
	}
	// Let them all get going before the operator starts measuring.
	if !testbin.Poll(10*time.Second, func() bool { return connects.Load() >= slow }) {
		t.Fatalf("only %d slow clients connected", connects.Load())
	}
	peakFDs := openFDs(t, d.Pid())
	lat := operatorFor(t, d, 6*time.Second, w.ids)
	peakFDs = max(peakFDs, openFDs(t, d.Pid()))
	close(stop)
	wg.Wait()
	p50, p99, n := w.done()
	if f := dialFailed.Load(); f > 0 {
		t.Errorf("%d slow clients could not connect at all", f)
	}
	if peakFDs > baseFDs+adminFDBound {
		t.Errorf("chatd had %d descriptors with %d slow clients, %d before; want at most %d more", peakFDs, slow, baseFDs, adminFDBound)
	}
	t.Logf("%d slow-header clients: %d connections, %d cut off by chatd; chatd fds %d -> peak %d", slow, connects.Load(), cut.Load(), baseFDs, peakFDs)
	t.Logf("chatctl meanwhile: %d runs, p50 %v, max %v; chat: %d round trips, p50 %v, p99 %v",
		len(lat), percentile(lat, 0.5), lat[len(lat)-1], n, p50, p99)
}
