package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/chatd/chatd/internal/admin/adminapi"
	"github.com/chatd/chatd/internal/testbin"
)

// hostileJSON is a JSON string a hostile chatd (or whatever answers on a
// remote host's socket) puts in every string of its answers: a window
// title, a clear screen, colour, a bell, a cursor report request as a C1
// CSI, a right-to-left override, a carriage return, DEL and a byte that
// is not UTF-8. JSON lets the last five travel raw.
const hostileJSON = "\"\\u001b]0;pwned\\u0007\\u001b[2J\\u001b[31mred\u009b6n\u202etxt\\rover\x7f\xffend\""

// hostileAPI answers like chatd's admin API, with hostileJSON for every
// string; failing, it answers every request with that status and the
// hostile string as the error.
func hostileAPI(failing int) http.Handler {
	answer := func(w http.ResponseWriter, status int, v any) {
		b, _ := json.Marshal(v)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write([]byte(strings.ReplaceAll(string(b), `"HOSTILE"`, hostileJSON)))
	}
	const h = "HOSTILE"
	client := adminapi.Client{ID: 7, RemoteAddr: h, LocalAddr: h, ConnectedAt: time.Now(), LastActiveAt: time.Now()}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failing != 0 {
			answer(w, failing, adminapi.Error{Error: h})
			return
		}
		switch {
		case r.URL.Path == adminapi.PathClients:
			answer(w, 200, adminapi.ClientList{Clients: []adminapi.Client{client}, Total: 1})
		case strings.HasPrefix(r.URL.Path, adminapi.PathClients+"/"):
			answer(w, 200, client)
		case r.URL.Path == adminapi.PathStatus:
			answer(w, 200, adminapi.Status{Version: h, Uptime: h, Listen: h, AdminSocket: h, ConfigFile: h,
				ClientsConnected: 1, ClientIDs: adminapi.ClientIDs{StateFile: h, Problem: h},
				Survival: adminapi.Survival{Enabled: true, Degraded: h}})
		case r.URL.Path == adminapi.PathKick:
			answer(w, 200, adminapi.BulkKickResult{Reason: h, Results: []adminapi.KickOutcome{{ID: 7, Result: h}}})
		case r.URL.Path == adminapi.PathReload:
			answer(w, 200, adminapi.ReloadResult{Applied: []string{h}, NeedRestart: []string{h}, ConfigFile: h, Origin: h})
		case r.URL.Path == adminapi.PathRestart:
			answer(w, 200, adminapi.RestartResult{PID: 42, Clients: 1, How: h})
		default:
			answer(w, 404, adminapi.Error{Error: h})
		}
	})
}

// serveHostile serves hostileAPI on a Unix socket of its own.
func serveHostile(t *testing.T, failing int) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "hostile-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "admin.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: hostileAPI(failing)}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return sock
}

// fakeSSHTo is an ssh on PATH that, for each host, runs the real
// `chatctl dial-stdio` for the socket that hosts names, as sshd would run
// it there.
func fakeSSHTo(t *testing.T, hosts map[string]string) []string {
	t.Helper()
	return fakeSSHWith(t, testbin.Path(t, "chatctl"), hosts)
}

// unprintable finds the first character of out that a terminal would act
// on or that would hide other text: anything but printable text, line
// feeds and (where allowed) tabs.
func unprintable(out string, tabs bool) (string, bool) {
	for i := 0; i < len(out); {
		r, size := utf8.DecodeRuneInString(out[i:])
		bad := r == utf8.RuneError && size == 1 || !unicode.IsPrint(r) && r != '\n' && !(tabs && r == '\t')
		if bad {
			return fmt.Sprintf("%q at byte %d in %q", out[i:i+size], i, out[max(0, i-20):min(len(out), i+20)]), true
		}
		i += size
	}
	return "", false
}

// Every command, with every output format, over a local socket and over
// --host, shows a hostile server's strings escaped: nothing it prints can
// drive the terminal, and its JSON is still JSON. The answers carry the
// hostile string in every string field, and then as the error of a 4xx
// and a 5xx.
func TestHostileServerCannotReachTheTerminal(t *testing.T) {
	good, forbidden, failing := serveHostile(t, 0), serveHostile(t, http.StatusForbidden), serveHostile(t, http.StatusInternalServerError)
	env := fakeSSHTo(t, map[string]string{"evil": good, "evil2": good, "forbidden": forbidden, "failing": failing})
	commands := []struct {
		args  []string
		json  bool // stdout is JSON
		multi bool // takes several hosts
	}{
		{args: []string{"list"}, multi: true},
		{args: []string{"list", "-o", "wide"}, multi: true},
		{args: []string{"list", "-o", "json"}, json: true, multi: true},
		{args: []string{"list", "--remote", "10.0.0.0/8", "--sort", "idle"}},
		{args: []string{"status"}, multi: true},
		{args: []string{"status", "-o", "json"}, json: true, multi: true},
		{args: []string{"kick", "7"}},
		{args: []string{"kick", "--all", "--yes"}, multi: true},
		{args: []string{"kick", "--remote", "10.0.0.0/8", "--yes"}},
		{args: []string{"reload"}},
		{args: []string{"reload", "-o", "json"}, json: true},
		{args: []string{"restart"}},
		{args: []string{"restart", "-o", "json"}, json: true},
		{args: []string{"__complete", "kick", ""}},
	}
	type way struct {
		name    string
		flags   []string
		failing bool
	}
	ways := []way{
		{name: "socket", flags: []string{"--socket", good}},
		{name: "host", flags: []string{"--host", "ssh://evil"}},
		{name: "socket 403", flags: []string{"--socket", forbidden}, failing: true},
		{name: "host 500", flags: []string{"--host", "ssh://failing"}, failing: true},
	}
	for _, c := range commands {
		ws := ways
		if c.multi {
			ws = append(ws, way{name: "two hosts", flags: []string{"--host", "ssh://evil", "--host", "ssh://evil2"}},
				way{name: "hosts failing", flags: []string{"--host", "ssh://failing", "--host", "ssh://forbidden"}, failing: true})
		}
		for _, w := range ws {
			args := c.args
			if w.name == "two hosts" && args[0] == "kick" && len(args) > 1 && args[1] == "7" {
				args = []string{"kick", "evil/7", "evil2/7"}
			}
			t.Run(strings.Join(args, " ")+" via "+w.name, func(t *testing.T) {
				r := ctl(t, env, append(append([]string{}, w.flags...), args...)...)
				tabs := args[0] == "__complete" // completion's own separator
				if bad, found := unprintable(r.stdout, tabs); found {
					t.Errorf("stdout carries %s", bad)
				}
				if bad, found := unprintable(r.stderr, false); found {
					t.Errorf("stderr carries %s", bad)
				}
				if c.json && !w.failing && !json.Valid([]byte(r.stdout)) {
					t.Errorf("-o json printed what is not JSON:\n%s", r.stdout)
				}
				// The hostile string is shown, escaped: not dropped. (kick
				// prints no string of the server's; completion hides
				// the errors.)
				shown := r.stdout
				if w.failing {
					shown = r.stderr
				}
				if (args[0] != "kick" || w.failing) && !(args[0] == "__complete" && w.failing) &&
					!strings.Contains(shown, `\x1b]0;pwned\a\x1b[2J\x1b[31mred\u009b6n\u202etxt\rover\x7f`) &&
					!strings.Contains(shown, `\u001b]0;pwned\u0007\u001b[2J\u001b[31mred\u009b6n\u202etxt\rover\u007f`) {
					t.Errorf("the server's string is not shown escaped:\nstdout: %s\nstderr: %s", r.stdout, r.stderr)
				}
				if w.failing && r.code != 1 && args[0] != "__complete" {
					t.Errorf("exit %d on a failing server", r.code)
				}
				if r.code != 0 && !w.failing && args[0] != "__complete" {
					t.Errorf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
				}
			})
		}
	}
}
