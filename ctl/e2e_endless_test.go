package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/admin/adminapi"
	"github.com/chatd/chatd/internal/testbin"
)

// oneClient is a client as chatd sends it in a listing.
const oneClient = `{"id":%d,"remote_addr":"192.0.2.1:1234","local_addr":"127.0.0.1:5605","connected_at":"2026-12-08T00:00:00Z","last_active_at":"2026-12-08T00:00:00Z","bytes_in":0,"bytes_out":0}`

// serveEndless serves a double of chatd's API whose status claims
// maxClients and whose client list never ends (until chatctl hangs up,
// some 50 million clients or a minute, whichever comes first).
func serveEndless(tb testing.TB, maxClients int) string {
	tb.Helper()
	dir, err := os.MkdirTemp("", "endless-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "admin.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		tb.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == adminapi.PathStatus {
			fmt.Fprintf(w, `{"max_clients":%d,"clients_connected":%d}`, maxClients, maxClients)
			return
		}
		// The same 64 KiB of clients again and again: the double costs
		// next to nothing, so that it is chatctl that is measured.
		var chunk []byte
		for i := 1; len(chunk) < 64<<10; i++ {
			chunk = fmt.Appendf(chunk, ","+oneClient, i)
		}
		w.Write([]byte(`{"clients":[` + fmt.Sprintf(oneClient, 0)))
		deadline := time.Now().Add(time.Minute)
		for i := 0; i < 50_000_000/300 && time.Now().Before(deadline); i++ {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})}
	go srv.Serve(ln)
	tb.Cleanup(func() { srv.Close() })
	return sock
}

// runMeasured runs chatctl with env and args and returns what it did
// and its peak resident memory in MiB.
func runMeasured(tb testing.TB, bin string, env []string, args ...string) (result, float64) {
	tb.Helper()
	var out, errOut strings.Builder
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr, cmd.Env = &out, &errOut, append(cleanEnv(), env...)
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		tb.Fatalf("run chatctl: %v", err)
	}
	rss := float64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) / 1024 // KiB on Linux
	return result{stdout: out.String(), stderr: errOut.String(), code: code}, rss
}

// A listing that never ends, from a chatd that says it has max_clients
// 1000: chatctl stops at what such a chatd could send, with one line,
// locally and over --host, and a host that behaves is listed all the same.
func TestEndlessListingEndsWithOneLine(t *testing.T) {
	endless := serveEndless(t, 1000)
	honest := serveHostile(t, 0)
	env := fakeSSHTo(t, map[string]string{"endless": endless, "honest": honest})
	want := "sent more than 1200 clients, more than its max_clients of 1000 allows; chatctl stopped reading it\n"
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"socket", []string{"--socket", endless, "list"}, "chatctl: chatd at " + endless + " " + want},
		{"socket, json", []string{"--socket", endless, "list", "-o", "json"}, "chatctl: chatd at " + endless + " " + want},
		{"host", []string{"--host", "ssh://endless", "list"}, "chatctl: endless: chatd " + want},
		{"two hosts", []string{"--host", "ssh://endless", "--host", "ssh://honest", "list"}, "chatctl: endless: chatd " + want},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, rss := runMeasured(t, testbin.Path(t, "chatctl"), env, tc.args...)
			if r.code != 1 || r.stderr != tc.want {
				t.Fatalf("exit %d, stderr %q, want %q", r.code, r.stderr, tc.want)
			}
			if tc.name == "two hosts" && !strings.Contains(r.stdout, "honest") {
				t.Errorf("the honest host was not listed:\n%s", r.stdout)
			}
			t.Logf("peak RSS %.1f MiB", rss)
		})
	}
}
