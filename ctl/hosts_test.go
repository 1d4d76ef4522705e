package main

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/admin/adminclient"
	"github.com/chatd/chatd/internal/cliutil"
)

func TestParseSSHHost(t *testing.T) {
	tests := []struct {
		in      string
		want    sshHost
		wantErr string
	}{
		{in: "ssh://web1", want: sshHost{host: "web1", label: "web1"}},
		{in: "ssh://ops@web1", want: sshHost{user: "ops", host: "web1", label: "web1"}},
		{in: "ssh://ops@10.0.0.7:2222", want: sshHost{user: "ops", host: "10.0.0.7", port: "2222", label: "10.0.0.7:2222"}},
		{in: "ssh://[2001:db8::1]:22/", want: sshHost{host: "2001:db8::1", port: "22", label: "[2001:db8::1]:22"}},
		{in: "web1", wantErr: "give ssh://[user@]host[:port]"},
		{in: "tcp://web1:22", wantErr: "give ssh://[user@]host[:port]"},
		{in: "ssh:web1", wantErr: "give ssh://[user@]host[:port]"},
		{in: "ssh://", wantErr: "names no host"},
		{in: "ssh://ops@", wantErr: "names no host"},
		{in: "ssh://-oProxyCommand=x", wantErr: "may not start with '-'"},
		{in: "ssh://-l@web1", wantErr: "may not start with '-'"},
		{in: "ssh://ops:secret@web1", wantErr: "no password"},
		{in: "ssh://web1/run/chatd", wantErr: "no path or query"},
		{in: "ssh://web1?socket=x", wantErr: "no path or query"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseSSHHost(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || cliutil.Code(err) != cliutil.ExitUsage {
					t.Fatalf("parseSSHHost(%q) = %+v, %v; want a usage error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("parseSSHHost(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestSSHCommand(t *testing.T) {
	base := []string{"ssh", "-T", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10"}
	tests := []struct {
		name           string
		host           sshHost
		socket, config string
		want           []string
	}{
		{"host only", sshHost{host: "web1"}, "", "",
			append(slices.Clone(base), "--", "web1", "chatctl", "dial-stdio")},
		{"user and port", sshHost{user: "ops", host: "web1", port: "2222"}, "", "",
			append(slices.Clone(base), "-l", "ops", "-p", "2222", "--", "web1", "chatctl", "dial-stdio")},
		{"--socket and --config name files there, quoted for its shell", sshHost{host: "web1"}, "/run/chat d/a.sock", "/etc/it's.yaml",
			append(slices.Clone(base), "--", "web1", "chatctl", "--socket", `'/run/chat d/a.sock'`, "--config", `'/etc/it'\''s.yaml'`, "dial-stdio")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.host.sshCommand(tt.socket, tt.config); !slices.Equal(got, tt.want) {
				t.Fatalf("sshCommand = %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestExplainNamesTheHost(t *testing.T) {
	web1 := target{host: "web1"}
	tests := []struct {
		name string
		t    target
		err  error
		want string
	}{
		{"local errors stay as they are", target{}, errors.New("cannot reach chatd at /x: no such file"), "cannot reach chatd at /x: no such file"},
		{"ssh failed", web1, &adminclient.CommandError{Command: "ssh", Status: 255, Stderr: "ssh: Could not resolve hostname web1: Name or service not known"},
			"web1: ssh: Could not resolve hostname web1: Name or service not known"},
		{"ssh failed silently", web1, &adminclient.CommandError{Command: "ssh", Status: 255}, "web1: ssh failed with status 255"},
		{"no chatctl there", web1, &adminclient.CommandError{Command: "ssh", Status: 127, Stderr: "sh: 1: chatctl: not found"},
			"web1: chatctl is not installed there, or not on the PATH ssh gives (sh: 1: chatctl: not found)"},
		{"an old chatctl there", web1, &adminclient.CommandError{Command: "ssh", Status: 2, Stderr: `chatctl: unknown command "dial-stdio" for "chatctl"`},
			"web1: the chatctl there is too old to be reached with --host (it has no dial-stdio)"},
		{"chatctl there said why", web1, &adminclient.CommandError{Command: "ssh", Status: 1, Stderr: "chatctl: permission denied: run as root or as a member of group chatd"},
			"web1: permission denied: run as root or as a member of group chatd"},
		{"no ssh here", web1, &adminclient.CommandError{Command: "ssh", Err: errors.New(`exec: "ssh": executable file not found in $PATH`)},
			`web1: cannot run ssh: exec: "ssh": executable file not found in $PATH`},
		{"an API answer", web1, &adminclient.PermissionError{Message: "permission denied: uid 1000 may not use the admin API"},
			"web1: permission denied: uid 1000 may not use the admin API"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.t.explain(tt.err); got == nil || got.Error() != tt.want {
				t.Fatalf("explain = %v, want %q", got, tt.want)
			}
		})
	}
}

func TestHostUsageMistakes(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--host", "web1", "list"}, "give ssh://[user@]host[:port]"},
		{[]string{"--host", "ssh://ops@web1,ssh://root@web1", "list"}, "host web1 is given twice, with different users"},
		{[]string{"--host", "ssh://web1", "--host", "ssh://web2", "reload"}, "reload talks to one host at a time"},
		{[]string{"kick", "web1/3"}, "web1/3 names a host: give it with --host ssh://web1"},
		{[]string{"--host", "ssh://web1,ssh://web2", "kick", "3"}, "client 3: with several hosts, give HOST/ID (hosts: web1, web2)"},
		{[]string{"--host", "ssh://web1,ssh://web2", "kick", "web1/3", "web3/4"}, "web3/4: no --host is web3 (hosts: web1, web2)"},
		{[]string{"--host", "ssh://web1", "kick", "web1/x"}, `bad client id "x"`},
	} {
		_, _, err := run(c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) || cliutil.Code(err) != cliutil.ExitUsage {
			t.Errorf("chatctl %q: %v (exit %d), want a usage error containing %q", c.args, err, cliutil.Code(err), c.want)
		}
	}
}

func TestKickAllQuestionNamesTheHosts(t *testing.T) {
	res := []hostResult[int]{
		{target: target{host: "web1"}, value: 3},
		{target: target{host: "web2"}, err: errors.New("web2: ssh: connect to host web2 port 22: Connection refused")},
		{target: target{host: "web3"}, value: 1},
	}
	q, total, reachable := kickAllQuestion(res)
	if want := "Kick all 4 connected clients on web1 (3), web3 (1)? [y/N] "; q != want || total != 4 {
		t.Fatalf("question %q, total %d; want %q, 4", q, total, want)
	}
	if len(reachable) != 2 || reachable[0].host != "web1" || reachable[1].host != "web3" {
		t.Fatalf("reachable %+v, want web1 and web3", reachable)
	}
}
