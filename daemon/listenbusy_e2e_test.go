package main

import (
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/testbin"
)

// plainLines are the lines of chatd's output that are not JSON log
// records: what a person reads when chatd refuses to start.
func plainLines(out string) []string {
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l != "" && !json.Valid([]byte(l)) {
			lines = append(lines, l)
		}
	}
	return lines
}

// A second chatd on a port in use says "listen" once, with the address
// and the cause; when the port is another chatd's, it names that chatd
// (found by its admin socket's lock) and the flag that fixes it.
func TestSecondChatdOnABusyPortNamesTheHolder(t *testing.T) {
	first := testbin.StartChatd(t, testbin.Options{})
	stranger, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	for _, tc := range []struct {
		name, config, want string
	}{
		{
			name: "another chatd's port, same admin socket",
			// Its own state_dir (the base config's), so that the port is
			// what collides.
			config: fmt.Sprintf("listen: [%q]\nadmin:\n  socket: %s\n", first.Addr, first.Socket),
			want: fmt.Sprintf("chatd: listen %s: address already in use by another chatd (pid %d), admin socket %s; give this one its own listen address (--listen, or listen in its config)",
				first.Addr, first.Cmd.Process.Pid, first.Socket),
		},
		{
			name:   "a port some other program holds",
			config: fmt.Sprintf("listen: [%q]\n", stranger.Addr().String()),
			want:   fmt.Sprintf("chatd: listen %s: address already in use", stranger.Addr()),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			second := testbin.StartChatd(t, testbin.Options{NoWait: true, Config: tc.config})
			if code := second.Wait(30 * time.Second); code != 1 {
				t.Fatalf("second chatd exited %d, want 1:\n%s", code, second.Logs())
			}
			if lines := plainLines(second.Logs()); len(lines) != 1 || lines[0] != tc.want {
				t.Fatalf("second chatd said %q\nwant one line: %q", lines, tc.want)
			}
		})
	}
	// The first one never noticed.
	c := first.Dial()
	defer c.Close()
	echo(t, c, "still here")
}
