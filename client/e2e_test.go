package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/chatclient"
	"github.com/chatd/chatd/internal/chatclient/chatdtest"
	"github.com/chatd/chatd/internal/testbin"
)

// TestMain builds the real chat (and chatd) once for the run.
func TestMain(m *testing.M) { os.Exit(testbin.Main(m)) }

// chatBinary is the real chat command.
func chatBinary(t *testing.T) string {
	t.Helper()
	return testbin.Path(t, "chat")
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
		{name: "IPv6 without brackets", args: []string{"--addr", "::1:5605"}, wantCode: 2,
			wantStderr: `chat: invalid address "::1:5605": an IPv6 address needs brackets: [::1]:5605` + "\n"},
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

// TestE2EServerFullExits3: the real chatd, full, turns the real chat away;
// chat says why and exits 3, whether its input is still open or has
// already ended.
func TestE2EServerFullExits3(t *testing.T) {
	d := testbin.StartChatd(t, testbin.Options{Config: "max_clients: 1\n"})
	holder := d.Dial() // takes the one place
	defer holder.Close()
	if _, err := io.WriteString(holder, "x\n"); err != nil {
		t.Fatal(err)
	}
	if b, err := testbin.ReadFull(holder, 2, chatdtest.WaitTimeout); err != nil || string(b) != "X\n" {
		t.Fatalf("the first client was not served: %q, %v", b, err)
	}
	const want = "chat: connection closed by server: server full, try again later\n"
	for _, tc := range []struct {
		name      string
		inputOpen bool
	}{{"input ended", false}, {"input open", true}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), chatdtest.WaitTimeout)
			defer cancel()
			cmd := chatCmd(t, ctx, []string{"--addr", d.Addr})
			if tc.inputOpen {
				stdin, err := cmd.StdinPipe()
				if err != nil {
					t.Fatal(err)
				}
				defer stdin.Close()
			} else {
				cmd.Stdin = strings.NewReader("hi\n")
			}
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			code := exitCode(t, cmd.Run())
			if code != 3 || errb.String() != want {
				t.Errorf("exit %d, stderr %q; want 3, %q (stdout %q)", code, errb.String(), want, out.String())
			}
		})
	}
}
