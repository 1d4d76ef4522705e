package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/admin/adminapi"
)

// fakePeer listens on a Unix socket at path and hands every connection
// to serve, until the test ends.
func fakePeer(t *testing.T, path string, serve func(net.Conn)) {
	t.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				serve(c)
			}()
		}
	}()
}

// fakeAPI serves h as an admin API on a Unix socket at path.
func fakeAPI(t *testing.T, path string, h http.HandlerFunc) {
	t.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
}

// fullBacklog makes a Unix socket at path that accepts no connection and
// whose queue of waiting connections is full, as a chatd too busy to
// accept would have: the next connect fails with EAGAIN.
func fullBacklog(t *testing.T, path string) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("a full backlog refuses with EAGAIN on Linux; other systems say ECONNREFUSED")
	}
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
	// A backlog of 0 queues one connection; the one below fills it.
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		c, err := net.DialTimeout("unix", path, time.Second)
		if err != nil {
			if i == 0 {
				t.Fatalf("first connection refused: %v", err)
			}
			return
		}
		t.Cleanup(func() { c.Close() })
		if i == 8 {
			t.Fatal("the backlog does not fill up")
		}
	}
}

// TestErrorsNameTheRealCause: whatever is at the socket's path, chatctl
// says in one line what it found there, with exit status 1.
func TestErrorsNameTheRealCause(t *testing.T) {
	dir := publicDir(t)
	tests := []struct {
		name       string
		setup      func(t *testing.T, sock string)
		wantStderr string // with SOCK for the path
	}{
		{
			name:       "regular file",
			setup:      func(t *testing.T, sock string) { os.WriteFile(sock, []byte("x"), 0o644) },
			wantStderr: "chatctl: cannot reach chatd: SOCK is not a socket (it is a regular file)\n",
		},
		{
			name:       "directory",
			setup:      func(t *testing.T, sock string) { os.Mkdir(sock, 0o755) },
			wantStderr: "chatctl: cannot reach chatd: SOCK is not a socket (it is a directory)\n",
		},
		{
			name:       "full backlog",
			setup:      fullBacklog,
			wantStderr: "chatctl: chatd at SOCK is busy: too many connections are waiting on its admin socket; try again\n",
		},
		{
			name: "not HTTP",
			setup: func(t *testing.T, sock string) {
				fakePeer(t, sock, func(c net.Conn) {
					c.Read(make([]byte, 4096))
					io.WriteString(c, "SSH-2.0-OpenSSH_9.6\r\n")
				})
			},
			wantStderr: "chatctl: the program at SOCK does not speak chatd's admin API (it did not answer in HTTP); is --socket right?\n",
		},
		{
			name: "closes without answering",
			setup: func(t *testing.T, sock string) {
				fakePeer(t, sock, func(c net.Conn) { c.Read(make([]byte, 4096)) })
			},
			wantStderr: "chatctl: cannot reach chatd at SOCK: the connection was closed without an answer (is it chatd's admin socket?)\n",
		},
		{
			name: "HTTP but not the API",
			setup: func(t *testing.T, sock string) {
				fakeAPI(t, sock, func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "text/html; charset=utf-8")
					w.WriteHeader(http.StatusNotFound)
					io.WriteString(w, "<html><body>Not here</body></html>")
				})
			},
			wantStderr: "chatctl: the program at SOCK does not speak chatd's admin API (it answered 404 Not Found with text/html; charset=utf-8); is --socket right?\n",
		},
		{
			name: "JSON but not ours",
			setup: func(t *testing.T, sock string) {
				fakeAPI(t, sock, func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "application/json")
					io.WriteString(w, `["not", "a", "client", "list"]`)
				})
			},
			wantStderr: "chatctl: chatd at SOCK sent an answer chatctl cannot read; are chatd and chatctl the same version?\n",
		},
		{
			name: "error message with controls",
			setup: func(t *testing.T, sock string) {
				fakeAPI(t, sock, func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusInternalServerError)
					json.NewEncoder(w).Encode(adminapi.Error{Error: "disk \x1b[2Jfull\u202e"})
				})
			},
			wantStderr: `chatctl: disk \x1b[2Jfull\u202e` + "\n",
		},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sock := filepath.Join(dir, "s"+string(rune('a'+i)))
			tc.setup(t, sock)
			r := ctl(t, nil, "--socket", sock, "list")
			want := strings.ReplaceAll(tc.wantStderr, "SOCK", sock)
			if r.code != 1 || r.stdout != "" || r.stderr != want {
				t.Errorf("exit %d, stdout %q\nstderr %q\nwant   %q", r.code, r.stdout, r.stderr, want)
			}
		})
	}
}

// TestDaemonStringsAreEscaped: what the daemon sends is shown, not
// obeyed, in the table, the status and the reload summary.
func TestDaemonStringsAreEscaped(t *testing.T) {
	sock := filepath.Join(publicDir(t), "admin.sock")
	now := time.Now()
	fakeAPI(t, sock, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case adminapi.PathClients:
			json.NewEncoder(w).Encode(adminapi.ClientList{Clients: []adminapi.Client{{ID: 7,
				RemoteAddr: "192.0.2.1:1\x1b[31m", LocalAddr: "x\u009b2J", ConnectedAt: now, LastActiveAt: now}}})
		case adminapi.PathStatus:
			json.NewEncoder(w).Encode(adminapi.Status{Version: "1.0\x1b]0;owned\x07", Listen: "127.0.0.1:5605\r\n",
				ConfigFile: "/etc/chatd/\u202elmay.yaml", StartedAt: now})
		case adminapi.PathReload:
			json.NewEncoder(w).Encode(adminapi.ReloadResult{ConfigFile: "/c\x1b.yaml", Applied: []string{"log.level\x07"}})
		}
	})
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"list"}, []string{`192.0.2.1:1\x1b[31m`}},
		{[]string{"list", "-o", "wide"}, []string{`192.0.2.1:1\x1b[31m`, `x\u009b2J`}},
		{[]string{"status"}, []string{`1.0\x1b]0;owned\a`, `127.0.0.1:5605\r\n`, `/etc/chatd/\u202elmay.yaml`}},
		{[]string{"reload"}, []string{`/c\x1b.yaml`, `log.level\a`}},
	} {
		r := ctl(t, nil, append([]string{"--socket", sock}, tc.args...)...).mustOK(t)
		for _, w := range tc.want {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("%q: output lacks %q:\n%s", tc.args, w, r.stdout)
			}
		}
		if strings.ContainsAny(r.stdout, "\x1b\x07\r\u009b\u202e") {
			t.Errorf("%q: raw control characters in the output: %q", tc.args, r.stdout)
		}
	}
}
