package serverproc_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/serverproc"
	"github.com/chatd/chatd/internal/testbin"
)

func TestMain(m *testing.M) { os.Exit(testbin.Main(m)) }

func TestChatdListening(t *testing.T) {
	for _, tt := range []struct {
		name, line, addr string
	}{
		{"json", `{"time":"t","level":"INFO","msg":"chatd started","listen":"127.0.0.1:4242","pid":7}`, "127.0.0.1:4242"},
		{"text", `time=t level=INFO msg="chatd started" listen=127.0.0.1:4243 pid=7`, "127.0.0.1:4243"},
		{"text with CR", "time=t level=INFO msg=\"chatd started\" listen=[::1]:5 pid=7\r", "[::1]:5"},
		{"json other message", `{"msg":"client connected","listen":"127.0.0.1:1"}`, ""},
		{"json without address", `{"msg":"chatd started"}`, ""},
		{"text other message", `level=INFO msg="listening" listen=127.0.0.1:1`, ""},
		{"broken json", `{"msg":"chatd started","listen":`, ""},
		{"empty", ``, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			addr, ok := serverproc.ChatdListening([]byte(tt.line))
			if addr != tt.addr || ok != (tt.addr != "") {
				t.Errorf("ChatdListening(%q) = %q, %v; want %q", tt.line, addr, ok, tt.addr)
			}
		})
	}
}

func TestMergeYAML(t *testing.T) {
	base := "listen: 127.0.0.1:0\nadmin:\n  socket: /s\nlog:\n  format: json\n"
	for _, tt := range []struct {
		name, extra, want string
	}{
		{"nothing", "", base},
		{"new key", "max_clients: 5\n", base + "max_clients: 5\n"},
		{"replaces a scalar", "listen: 127.0.0.1:9", "admin:\n  socket: /s\nlog:\n  format: json\nlisten: 127.0.0.1:9\n"},
		{"replaces a section", "admin:\n  mode: \"0660\"\n", "listen: 127.0.0.1:0\nlog:\n  format: json\nadmin:\n  mode: \"0660\"\n"},
		{"comments are not keys", "# listen: no\nmax_clients: 1\n", base + "# listen: no\nmax_clients: 1\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := serverproc.MergeYAML(base, tt.extra); got != tt.want {
				t.Errorf("MergeYAML:\n got  %q\n want %q", got, tt.want)
			}
		})
	}
}

func TestCleanEnv(t *testing.T) {
	t.Setenv("CHATD_MAX_CLIENTS", "3")
	t.Setenv("CHAT_ADDR", "127.0.0.1:1")
	t.Setenv("SERVERPROC_KEPT", "yes")
	env := serverproc.CleanEnv()
	for _, kv := range env {
		if strings.HasPrefix(kv, "CHATD_") || strings.HasPrefix(kv, "CHAT_ADDR=") {
			t.Errorf("CleanEnv kept %q", kv)
		}
	}
	if !slices.Contains(env, "SERVERPROC_KEPT=yes") {
		t.Error("CleanEnv dropped an unrelated variable")
	}
}

func waitCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestStartChatdServesAndStops starts chatd with each log format: the
// text one is how the benchmark runs it, JSON how the tests do.
func TestStartChatdServesAndStops(t *testing.T) {
	// Not passed on: chatd would refuse to start.
	t.Setenv("CHATD_MAX_CLIENTS", "x")
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			out := &testbin.LockedBuffer{}
			dir := filepath.Join(t.TempDir(), "d")
			c, err := serverproc.StartChatd(serverproc.ChatdOptions{Binary: testbin.Path(t, "chatd"), Dir: dir,
				Config: "log:\n  format: " + format + "\n", Output: out})
			if err != nil {
				t.Fatal(err)
			}
			addr, err := c.WaitListening(waitCtx(t))
			if err != nil {
				t.Fatalf("%v; output:\n%s", err, out)
			}
			if addr != c.Addr || !strings.HasPrefix(addr, "127.0.0.1:") {
				t.Fatalf("WaitListening = %q, Addr %q", addr, c.Addr)
			}
			conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			conn.Write([]byte("hi\n"))
			if got, err := testbin.ReadFull(conn, 3, 10*time.Second); err != nil || string(got) != "HI\n" {
				t.Fatalf("answer %q, %v", got, err)
			}
			conn.Close()
			if _, err := os.Stat(c.Socket); err != nil {
				t.Errorf("admin socket: %v", err)
			}
			if err := c.Stop(10 * time.Second); err != nil {
				t.Fatalf("Stop: %v; output:\n%s", err, out)
			}
			if !c.Exited() || c.ExitCode() != 0 {
				t.Errorf("after Stop: exited %v, code %d", c.Exited(), c.ExitCode())
			}
		})
	}
}

func TestStartChatdExitsBeforeListening(t *testing.T) {
	out := &testbin.LockedBuffer{}
	c, err := serverproc.StartChatd(serverproc.ChatdOptions{Binary: testbin.Path(t, "chatd"),
		Dir: filepath.Join(t.TempDir(), "d"), Config: "max_clients: -1\n", Output: out})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.WaitListening(waitCtx(t))
	if err == nil || !strings.Contains(err.Error(), "exited before listening") {
		t.Fatalf("WaitListening = %v; want exited before listening", err)
	}
	if c.ExitCode() != 2 || !strings.Contains(out.String(), "max_clients") {
		t.Errorf("exit %d, output %q; want 2 naming max_clients", c.ExitCode(), out)
	}
	if err := c.Stop(time.Second); err == nil {
		t.Error("Stop of a failed chatd returned nil")
	}
}

func TestStopKillsAServerThatIgnoresSIGTERM(t *testing.T) {
	p, err := serverproc.Start(serverproc.Spec{Name: "stubborn",
		Argv: []string{"sh", "-c", `trap "" TERM; echo "listening on 127.0.0.1:1"; while :; do sleep 0.1; done`},
		Listening: func(line []byte) (string, bool) {
			a, ok := bytes.CutPrefix(line, []byte("listening on "))
			return string(a), ok
		}})
	if err != nil {
		t.Fatal(err)
	}
	if addr, err := p.WaitListening(waitCtx(t)); err != nil || addr != "127.0.0.1:1" {
		t.Fatalf("WaitListening = %q, %v", addr, err)
	}
	err = p.Stop(300 * time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("Stop = %v; want killed", err)
	}
	if !p.Exited() || p.ExitCode() != -1 {
		t.Errorf("exited %v, code %d; want killed by a signal", p.Exited(), p.ExitCode())
	}
}

func TestWaitListeningEndsWithTheContext(t *testing.T) {
	p, err := serverproc.Start(serverproc.Spec{Name: "silent", Argv: []string{"sleep", "60"},
		Listening: func([]byte) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(5 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := p.WaitListening(ctx); err == nil || !strings.Contains(err.Error(), "did not say where it listens") {
		t.Fatalf("WaitListening = %v", err)
	}
}

func TestStartWithoutCommand(t *testing.T) {
	if _, err := serverproc.Start(serverproc.Spec{Name: "x"}); err == nil {
		t.Fatal("Start without a command succeeded")
	}
	if _, err := serverproc.Start(serverproc.Spec{Name: "x", Argv: []string{"/nonexistent/server"}}); err == nil ||
		!strings.Contains(err.Error(), "start x") {
		t.Fatalf("Start of a missing program = %v", err)
	}
}
