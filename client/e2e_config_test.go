package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/chatclient/chatdtest"
	"github.com/chatd/chatd/internal/paths"
	"github.com/chatd/chatd/internal/testbin"
)

// freePort is a loopback port nothing listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// With no address, chat finds the real chatd of this machine where its
// config says it listens, as chatctl finds its socket.
func TestChatFollowsChatdListen(t *testing.T) {
	if _, err := os.Stat(paths.SystemConfigFile); err == nil {
		t.Skipf("skipping: %s exists on this machine and would be read first", paths.SystemConfigFile)
	}
	port := freePort(t)
	// Every interface, as an operator may set it: reached on loopback.
	d := testbin.StartChatd(t, testbin.Options{Config: fmt.Sprintf("listen: ':%d'\n", port)})
	xdg := t.TempDir()
	if err := os.MkdirAll(filepath.Join(xdg, "chatd"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(d.Config)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(xdg, "chatd", "chatd.yaml"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	dead := refusedAddr(t)
	tests := []struct {
		name       string
		args, env  []string
		wantCode   int
		wantOut    string
		wantStderr string
	}{
		{name: "--config", args: []string{"--config", d.Config}, env: []string{"XDG_CONFIG_HOME=" + empty}, wantOut: "HELLO\n"},
		{name: "--config beats CHAT_ADDR", args: []string{"--config", d.Config}, env: []string{"CHAT_ADDR=" + dead}, wantOut: "HELLO\n"},
		{name: "chatd's own config file", env: []string{"XDG_CONFIG_HOME=" + xdg}, wantOut: "HELLO\n"},
		{name: "CHATD_LISTEN", env: []string{"XDG_CONFIG_HOME=" + empty, fmt.Sprintf("CHATD_LISTEN=127.0.0.1:%d", port)}, wantOut: "HELLO\n"},
		{name: "CHAT_ADDR beats chatd's files", env: []string{"XDG_CONFIG_HOME=" + xdg, "CHAT_ADDR=" + dead}, wantCode: 1,
			wantStderr: "chat: cannot connect to " + dead + ": connection refused (is chatd running?)\n"},
		{name: "--config missing", args: []string{"--config", filepath.Join(empty, "nope.yaml")}, wantCode: 2},
		{name: "--addr and --config", args: []string{"--addr", dead, "--config", d.Config}, wantCode: 2,
			wantStderr: "chat: give --addr or --config, not both\nRun 'chat --help' for usage.\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), chatdtest.WaitTimeout)
			defer cancel()
			cmd := chatCmd(t, ctx, tc.args, append([]string{"CHATD_LISTEN="}, tc.env...)...)
			cmd.Stdin = strings.NewReader("hello\n")
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			code := exitCode(t, cmd.Run())
			if code != tc.wantCode || out.String() != tc.wantOut {
				t.Errorf("exit %d, stdout %q (stderr %q); want %d, %q", code, out.String(), errb.String(), tc.wantCode, tc.wantOut)
			}
			if tc.wantStderr != "" && errb.String() != tc.wantStderr {
				t.Errorf("stderr %q, want %q", errb.String(), tc.wantStderr)
			}
			if tc.wantCode == 2 && !strings.HasPrefix(errb.String(), "chat: ") {
				t.Errorf("stderr %q, want one chat: line", errb.String())
			}
		})
	}
}
