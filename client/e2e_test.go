package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chatd/chatd/internal/chatclient"
	"github.com/chatd/chatd/internal/chatclient/chatdtest"
)

var (
	binDir   string // made by TestMain, removed after the tests
	buildBin sync.Once
	binPath  string
	binErr   error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "chat-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// chatBinary builds the real chat command once per test run.
func chatBinary(t *testing.T) string {
	t.Helper()
	buildBin.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			binErr = fmt.Errorf("no go command to build chat with: %w", err)
			return
		}
		binPath = filepath.Join(binDir, "chat")
		out, err := exec.Command(goTool, "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// chatCmd prepares the chat binary with args and a clean environment plus
// envVars (KEY=VALUE).
func chatCmd(t *testing.T, ctx context.Context, args []string, envVars ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, chatBinary(t), args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, chatclient.AddrEnv+"=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, envVars...)
	return cmd
}

func exitCode(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee) && ee.Exited():
		return ee.ExitCode()
	}
	t.Fatalf("chat did not exit by itself: %v", err)
	return -1
}

// TestE2EPiped runs the built binary with piped input against the fake
// server.
func TestE2EPiped(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{})
	dead := refusedAddr(t)
	tests := []struct {
		name       string
		args       []string
		env        []string
		input      string
		wantCode   int
		wantOut    string
		wantStderr string
	}{
		{name: "round trip", args: []string{"--addr", srv.Addr}, input: "hello\nworld\n", wantOut: "HELLO\nWORLD\n"},
		{name: "close socket", args: []string{"--addr", srv.Addr}, input: "hi\nCLOSE SOCKET\nnever sent\n", wantOut: "HI\n"},
		{name: "CHAT_ADDR", env: []string{"CHAT_ADDR=" + srv.Addr}, input: "from env\n", wantOut: "FROM ENV\n"},
		{name: "flag beats CHAT_ADDR", args: []string{"--addr", srv.Addr}, env: []string{"CHAT_ADDR=" + dead}, input: "x\n", wantOut: "X\n"},
		{name: "refused", args: []string{"--addr", dead}, input: "x\n", wantCode: 1,
			wantStderr: "chat: cannot connect to " + dead + ": connection refused (is chatd running?)\n"},
		{name: "bad addr", args: []string{"--addr", "localhost"}, wantCode: 2,
			wantStderr: `chat: invalid address "localhost": missing port (want HOST:PORT, e.g. 127.0.0.1:5605)` + "\n"},
		{name: "unknown flag", args: []string{"-x"}, wantCode: 2,
			wantStderr: "chat: unknown shorthand flag: 'x' in -x\nRun 'chat --help' for usage.\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), chatdtest.WaitTimeout)
			defer cancel()
			cmd := chatCmd(t, ctx, tc.args, tc.env...)
			cmd.Stdin = strings.NewReader(tc.input)
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			code := exitCode(t, cmd.Run())
			if code != tc.wantCode {
				t.Errorf("exit code %d, want %d", code, tc.wantCode)
			}
			if out.String() != tc.wantOut {
				t.Errorf("stdout %q, want %q", out.String(), tc.wantOut)
			}
			if errb.String() != tc.wantStderr {
				t.Errorf("stderr %q, want %q", errb.String(), tc.wantStderr)
			}
		})
	}
}

// TestE2EServerCloses: the server drops an idle client; chat says why and
// exits 3.
func TestE2EServerCloses(t *testing.T) {
	tests := []struct {
		name       string
		close      func(*chatdtest.Conn)
		wantCode   int
		wantStderr string
	}{
		{"kicked", func(c *chatdtest.Conn) { c.Kick("*** kicked by operator: spam\n") }, 3,
			"chat: connection closed by server: kicked by operator: spam\n"},
		{"shutdown", func(c *chatdtest.Conn) { c.Kick("*** server shutting down\n") }, 3,
			"chat: connection closed by server: server shutting down\n"},
		{"silent", func(c *chatdtest.Conn) { c.Close() }, 3, "chat: connection closed by server\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := chatdtest.Start(t, chatdtest.Options{})
			ctx, cancel := context.WithTimeout(context.Background(), chatdtest.WaitTimeout)
			defer cancel()
			cmd := chatCmd(t, ctx, []string{"--addr", srv.Addr})
			stdin, err := cmd.StdinPipe() // kept open: the user is idle
			if err != nil {
				t.Fatal(err)
			}
			defer stdin.Close()
			var out, errb chatdtest.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			c := srv.Next(t)
			io.WriteString(stdin, "still here\n")
			out.WaitFor(t, "STILL HERE\n")
			tc.close(c)
			code := exitCode(t, cmd.Wait())
			if code != tc.wantCode {
				t.Errorf("exit code %d, want %d", code, tc.wantCode)
			}
			if errb.String() != tc.wantStderr {
				t.Errorf("stderr %q, want %q", errb.String(), tc.wantStderr)
			}
		})
	}
}

func TestE2EHelp(t *testing.T) {
	out, err := chatCmd(t, context.Background(), []string{"--help"}).Output()
	if code := exitCode(t, err); code != 0 {
		t.Fatalf("chat --help: exit code %d", code)
	}
	if !strings.Contains(string(out), "Examples:") || !strings.Contains(string(out), "--addr") {
		t.Errorf("chat --help does not explain usage:\n%s", out)
	}
}
