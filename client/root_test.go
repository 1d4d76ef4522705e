package main

import (
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/chatclient"
	"github.com/chatd/chatd/internal/chatclient/chatdtest"
)

// env returns a getenv that knows only the given variables.
func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// refusedAddr is an address where nothing listens.
func refusedAddr(t *testing.T) string {
	t.Helper()
	srv := chatdtest.Start(t, chatdtest.Options{})
	addr := srv.Addr
	srv.Close()
	return addr
}

// TestRun checks the command's flags and environment in-process.
func TestRun(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{})
	dead := refusedAddr(t)
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		input      string
		wantCode   int
		wantOut    string
		wantStderr string // prefix
	}{
		{name: "flag", args: []string{"--addr", srv.Addr}, input: "hi\n", wantOut: "HI\n"},
		{name: "flag with =", args: []string{"--addr=" + srv.Addr}, input: "hi\n", wantOut: "HI\n"},
		{name: "CHAT_ADDR", env: map[string]string{"CHAT_ADDR": srv.Addr}, input: "env\n", wantOut: "ENV\n"},
		{name: "flag beats CHAT_ADDR", args: []string{"--addr", srv.Addr}, env: map[string]string{"CHAT_ADDR": dead}, input: "flag\n", wantOut: "FLAG\n"},
		{name: "CHAT_ADDR refused", env: map[string]string{"CHAT_ADDR": dead}, wantCode: 1,
			wantStderr: "chat: cannot connect to " + dead + ": connection refused (is chatd running?)\n"},
		{name: "bad CHAT_ADDR", env: map[string]string{"CHAT_ADDR": "nowhere"}, wantCode: 2,
			wantStderr: `chat: invalid address "nowhere" (from CHAT_ADDR): missing port`},
		{name: "bad flag addr", args: []string{"--addr", "nowhere:"}, wantCode: 2,
			wantStderr: `chat: invalid address "nowhere:": port "" is not a number from 1 to 65535`},
		{name: "unknown flag", args: []string{"--bogus"}, wantCode: 2,
			wantStderr: "chat: unknown flag: --bogus\nRun 'chat --help' for usage.\n"},
		{name: "argument", args: []string{srv.Addr}, wantCode: 2,
			wantStderr: `chat: unexpected argument "` + srv.Addr + `" (give the server as --addr HOST:PORT)` + "\nRun 'chat --help' for usage.\n"},
		{name: "bad timeout", args: []string{"--timeout", "soon"}, wantCode: 2,
			wantStderr: `chat: invalid argument "soon" for "--timeout" flag`},
		{name: "negative timeout", args: []string{"--addr", srv.Addr, "--timeout", "-1s"}, wantCode: 2,
			wantStderr: "chat: timeouts must not be negative\n"},
		{name: "help", args: []string{"--help"}, wantOut: "chat connects to a chatd server"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb chatdtest.Buffer
			code := run(tc.args, strings.NewReader(tc.input), &out, &errb, env(tc.env))
			if code != tc.wantCode {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tc.wantCode, errb.String())
			}
			if got := out.String(); !strings.HasPrefix(got, tc.wantOut) {
				t.Errorf("stdout %q, want it to start with %q", got, tc.wantOut)
			}
			if got := errb.String(); !strings.HasPrefix(got, tc.wantStderr) || (tc.wantStderr == "") != (got == "") {
				t.Errorf("stderr %q, want it to start with %q", got, tc.wantStderr)
			}
			if n := strings.Count(errb.String(), "\n"); n > 2 {
				t.Errorf("stderr has %d lines, want one message (and a hint): %q", n, errb.String())
			}
		})
	}
}

func TestHelp(t *testing.T) {
	var out, errb chatdtest.Buffer
	if code := run([]string{"--help"}, strings.NewReader(""), &out, &errb, env(nil)); code != 0 {
		t.Fatalf("chat --help: exit code %d", code)
	}
	for _, want := range []string{
		"Usage:", "Examples:", "--addr", "--timeout", chatclient.AddrEnv, chatclient.DefaultAddr,
		"CLOSE SOCKET", "printf 'hello\\nworld\\n' | chat", "Exit status:",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q:\n%s", want, out.String())
		}
	}
	if errb.String() != "" {
		t.Errorf("stderr %q, want nothing", errb.String())
	}
}
