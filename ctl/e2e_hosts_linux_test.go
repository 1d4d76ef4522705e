package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/admin/adminapi"
	"github.com/chatd/chatd/internal/testbin"
)

// fleet is two chatd, each behind its own sshd ("web1", reached by its
// ~/.ssh/config-style alias, and 127.0.0.1:2202, reached by address and
// port), with clients connected to each.
type fleet struct {
	net        *sshNet
	web1, web2 *testbin.Chatd
}

// The two in the HOST column: the alias, and host:port.
const (
	web1Host = "web1"
	web2Host = "127.0.0.1:2202"
)

func startFleet(t *testing.T, extra ...sshHostSpec) *fleet {
	t.Helper()
	needSSHD(t)
	f := &fleet{web1: testbin.StartChatd(t, testbin.Options{}), web2: testbin.StartChatd(t, testbin.Options{})}
	path := remoteBin(t) + ":/usr/bin:/bin"
	hosts := append([]sshHostSpec{
		{alias: "web1", port: 2201, socket: f.web1.Socket, path: path},
		{alias: "web2", port: 2202, socket: f.web2.Socket, path: path},
	}, extra...)
	f.net = startSSHNet(t, hosts)
	// The chatctl a session finds must be the test's build, whatever the
	// login shell's start-up files add to PATH.
	for _, h := range hosts {
		if h.path != path {
			continue
		}
		if got, want := f.net.ssh(t, h.alias, "command -v chatctl"), strings.SplitN(path, ":", 2)[0]+"/chatctl"; got != want {
			t.Fatalf("a session on %s runs %s, not the test's chatctl %s", h.alias, got, want)
		}
	}
	return f
}

// listHosts is the --host flags for both chatd.
var listHosts = []string{"--host", "ssh://web1", "--host", "ssh://root@127.0.0.1:2202"}

func TestHostsListAndStatusOverSSH(t *testing.T) {
	f := startFleet(t)
	a1, a2 := dial(t, f.web1), dial(t, f.web1)
	b1 := dial(t, f.web2)
	for _, ch := range []*chatter{a1, a2, b1} {
		ch.say("hello")
	}
	waitFor(t, f.web1, "two clients", func(l []adminapi.Client) bool { return len(l) == 2 })
	waitFor(t, f.web2, "one client", func(l []adminapi.Client) bool { return len(l) == 1 })

	t.Run("one host: the local listing, from there", func(t *testing.T) {
		r := f.net.ctl(t, nil, "", "--host", "ssh://web1", "list").mustOK(t)
		header, rows, count := tableRows(r.stdout)
		if header[0] != "ID" || len(rows) != 2 || count != "2 clients" {
			t.Fatalf("list of web1:\n%s", r.stdout)
		}
		if rows[0][1] != a1.addr() || rows[1][1] != a2.addr() {
			t.Fatalf("list of web1 shows %v, want %s and %s", rows, a1.addr(), a2.addr())
		}
	})

	wantRows := [][2]string{{web2Host, b1.addr()}, {web1Host, a1.addr()}, {web1Host, a2.addr()}}
	checkMerged := func(t *testing.T, r result) {
		t.Helper()
		header, rows, count := tableRows(r.stdout)
		if strings.Join(header, "|") != "HOST|ID|REMOTE ADDRESS|CONNECTED|IDLE|IN|OUT" {
			t.Fatalf("header %q\n%s", header, r.stdout)
		}
		if count != "3 clients" || len(rows) != len(wantRows) {
			t.Fatalf("merged list:\n%s", r.stdout)
		}
		for i, w := range wantRows {
			if rows[i][0] != w[0] || rows[i][2] != w[1] {
				t.Errorf("row %d = %v, want host %s, address %s (sorted by host then ID)\n%s", i, rows[i], w[0], w[1], r.stdout)
			}
		}
	}
	t.Run("two hosts: merged with a HOST column", func(t *testing.T) {
		checkMerged(t, f.net.ctl(t, nil, "", append(listHosts, "list")...).mustOK(t))
	})
	t.Run("CHATCTL_HOST, comma separated", func(t *testing.T) {
		checkMerged(t, f.net.ctl(t, []string{"CHATCTL_HOST=ssh://root@127.0.0.1:2202, ssh://web1"}, "", "list").mustOK(t))
	})
	t.Run("-o wide has the HOST column too", func(t *testing.T) {
		r := f.net.ctl(t, nil, "", append(listHosts, "list", "-o", "wide")...).mustOK(t)
		header, rows, _ := tableRows(r.stdout)
		if header[0] != "HOST" || header[3] != "LOCAL ADDRESS" || len(rows) != 3 || rows[0][3] != f.web2.Addr {
			t.Fatalf("wide merged list:\n%s", r.stdout)
		}
	})
	t.Run("-o json nests by host", func(t *testing.T) {
		r := f.net.ctl(t, nil, "", append(listHosts, "list", "-o", "json")...).mustOK(t)
		var byHost map[string]adminapi.ClientList
		if err := json.Unmarshal([]byte(r.stdout), &byHost); err != nil {
			t.Fatalf("%v\n%s", err, r.stdout)
		}
		if len(byHost) != 2 || len(byHost[web1Host].Clients) != 2 || len(byHost[web2Host].Clients) != 1 ||
			byHost[web2Host].Clients[0].RemoteAddr != b1.addr() {
			t.Fatalf("list -o json:\n%s", r.stdout)
		}
	})
	t.Run("status per host", func(t *testing.T) {
		r := f.net.ctl(t, nil, "", append(listHosts, "status")...).mustOK(t)
		blocks := strings.Split(r.stdout, "\n\n")
		if len(blocks) != 2 {
			t.Fatalf("status of two hosts:\n%s", r.stdout)
		}
		for i, w := range []struct {
			host string
			c    *testbin.Chatd
			n    int
		}{{web2Host, f.web2, 1}, {web1Host, f.web1, 2}} {
			for _, line := range []string{"host:          " + w.host, fmt.Sprintf("pid:           %d", w.c.Pid()),
				fmt.Sprintf("clients:       %d (max", w.n), "admin socket:  " + w.c.Socket} {
				if !strings.Contains(blocks[i], line+"") {
					t.Errorf("status block %d lacks %q:\n%s", i, line, blocks[i])
				}
			}
		}
		r = f.net.ctl(t, nil, "", append(listHosts, "status", "-o", "json")...).mustOK(t)
		var byHost map[string]adminapi.Status
		if err := json.Unmarshal([]byte(r.stdout), &byHost); err != nil {
			t.Fatalf("%v\n%s", err, r.stdout)
		}
		if byHost[web1Host].PID != f.web1.Pid() || byHost[web2Host].PID != f.web2.Pid() {
			t.Fatalf("status -o json:\n%s", r.stdout)
		}
	})
	t.Run("kick <TAB> offers HOST/ID from every host", func(t *testing.T) {
		r := f.net.ctl(t, nil, "", append(append([]string{"__complete"}, listHosts...), "kick", "")...)
		var got []string
		for _, l := range strings.Split(r.stdout, "\n") {
			if id, _, ok := strings.Cut(l, "\t"); ok {
				got = append(got, id)
			}
		}
		list := listJSON(t, f.web1)
		want := []string{web2Host + "/" + adminapi.FormatID(listJSON(t, f.web2)[0].ID),
			"web1/" + adminapi.FormatID(list[0].ID), "web1/" + adminapi.FormatID(list[1].ID)}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("completions %q, want %q\n%s\n%s", got, want, r.stdout, r.stderr)
		}
	})
	t.Run("an unreachable host: one line, exit 1, the others listed", func(t *testing.T) {
		args := append(append([]string{}, listHosts...), "--host", "ssh://127.0.0.1:2209", "list")
		r := f.net.ctl(t, nil, "", args...)
		want := "chatctl: 127.0.0.1:2209: ssh: connect to host 127.0.0.1 port 2209: Connection refused\n"
		if r.code != 1 || r.stderr != want {
			t.Fatalf("exit %d, stderr %q; want 1 and %q", r.code, r.stderr, want)
		}
		checkMerged(t, r)

		r = f.net.ctl(t, nil, "", append(args[:len(args)-1], "list", "-o", "json")...)
		var byHost map[string]struct {
			Clients []adminapi.Client
			Error   string
		}
		if err := json.Unmarshal([]byte(r.stdout), &byHost); err != nil || r.code != 1 {
			t.Fatalf("exit %d, %v\n%s", r.code, err, r.stdout)
		}
		if e := byHost["127.0.0.1:2209"].Error; !strings.Contains(e, "Connection refused") || len(byHost[web1Host].Clients) != 2 {
			t.Fatalf("list -o json with a host down:\n%s", r.stdout)
		}
	})
}

// TestHostErrorsOverSSH: whatever goes wrong on the way to a host is one
// line on stderr that names the host, and exit status 1.
func TestHostErrorsOverSSH(t *testing.T) {
	f := startFleet(t,
		sshHostSpec{alias: "bare", port: 2203, socket: "/nonexistent/admin.sock", path: "/usr/bin:/bin"},
		sshHostSpec{alias: "idle", port: 2204, socket: "/nonexistent/admin.sock", path: remoteBin(t) + ":/usr/bin:/bin"},
		sshHostSpec{alias: "stranger", port: 2205, socket: "/nonexistent/admin.sock", path: "/usr/bin:/bin", unknown: true},
	)
	tests := []struct {
		name, host, want string
	}{
		{"nothing listens", "ssh://127.0.0.1:2209", "chatctl: 127.0.0.1:2209: ssh: connect to host 127.0.0.1 port 2209: Connection refused"},
		{"authentication fails", "ssh://nosuchuser@web1", "chatctl: web1: ssh: nosuchuser@127.0.0.1: Permission denied (publickey)."},
		{"its host key is not known", "ssh://stranger", "chatctl: stranger: ssh: Host key verification failed."},
		{"chatctl is not installed there", "ssh://bare", "chatctl: bare: chatctl is not installed there, or not on the PATH ssh gives ("},
		{"chatd does not run there", "ssh://idle", "chatctl: idle: cannot reach chatd at /nonexistent/admin.sock: no such file (is chatd running?)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, cmd := range [][]string{{"list"}, {"status"}, {"reload"}, {"restart"}} {
				r := f.net.ctl(t, nil, "", append([]string{"--host", tt.host}, cmd...)...)
				t.Logf("%s: %s", cmd[0], r.stderr)
				if r.code != 1 || !strings.HasPrefix(r.stderr, tt.want) || strings.Count(r.stderr, "\n") != 1 || r.stdout != "" {
					t.Errorf("%s: exit %d, stdout %q, stderr %q; want 1 and one line starting %q", cmd[0], r.code, r.stdout, r.stderr, tt.want)
				}
			}
		})
	}
}

func TestHostsKickOverSSH(t *testing.T) {
	f := startFleet(t)
	a1, a2 := dial(t, f.web1), dial(t, f.web1)
	b1, b2 := dial(t, f.web2), dial(t, f.web2)
	for _, ch := range []*chatter{a1, a2, b1, b2} {
		ch.say("hello")
	}
	ids := map[string]uint64{}
	for _, c := range []*testbin.Chatd{f.web1, f.web2} {
		for _, cl := range waitFor(t, c, "two clients", func(l []adminapi.Client) bool { return len(l) == 2 }) {
			ids[cl.RemoteAddr] = cl.ID
		}
	}
	idOf := func(ch *chatter) string { return fmt.Sprint(ids[ch.addr()]) }

	t.Run("one host: kick ID, as there", func(t *testing.T) {
		r := f.net.ctl(t, nil, "", "--host", "ssh://web1", "kick", idOf(a1), "--reason", "bye").mustOK(t)
		if r.stdout != "kicked client "+idOf(a1)+"\n" {
			t.Fatalf("kick on one host: %q", r.stdout)
		}
		waitFor(t, f.web1, "a1 gone", func(l []adminapi.Client) bool { return len(l) == 1 && l[0].RemoteAddr == a2.addr() })
	})
	t.Run("HOST/ID on two hosts; a not connected ID is exit 3", func(t *testing.T) {
		args := append(append([]string{}, listHosts...), "kick", web2Host+"/"+idOf(b1), "web1/"+idOf(a1))
		r := f.net.ctl(t, nil, "", args...)
		wantOut := web2Host + ": kicked client " + idOf(b1) + "\n"
		wantErr := "chatctl: web1: client " + idOf(a1) + " is not connected\n"
		if r.code != 3 || r.stdout != wantOut || r.stderr != wantErr {
			t.Fatalf("exit %d, stdout %q, stderr %q; want 3, %q, %q", r.code, r.stdout, r.stderr, wantOut, wantErr)
		}
		waitFor(t, f.web2, "b1 gone", func(l []adminapi.Client) bool { return len(l) == 1 && l[0].RemoteAddr == b2.addr() })
	})
	t.Run("--all everywhere, one host down: the others kicked, exit 1", func(t *testing.T) {
		args := append(append([]string{}, listHosts...), "--host", "ssh://127.0.0.1:2209", "kick", "--all", "--yes")
		r := f.net.ctl(t, nil, "", args...)
		wantOut := web2Host + ": kicked client " + idOf(b2) + "\n" + "web1: kicked client " + idOf(a2) + "\n"
		wantErr := "chatctl: 127.0.0.1:2209: ssh: connect to host 127.0.0.1 port 2209: Connection refused\n"
		if r.code != 1 || r.stdout != wantOut || r.stderr != wantErr {
			t.Fatalf("exit %d, stdout %q, stderr %q; want 1, %q, %q", r.code, r.stdout, r.stderr, wantOut, wantErr)
		}
		for _, c := range []*testbin.Chatd{f.web1, f.web2} {
			waitFor(t, c, "no clients", func(l []adminapi.Client) bool { return len(l) == 0 })
		}
		r = f.net.ctl(t, nil, "", append(append([]string{}, listHosts...), "kick", "--all", "--yes")...).mustOK(t)
		if r.stdout != web2Host+": no clients connected\nweb1: no clients connected\n" {
			t.Fatalf("kick --all of none: %q", r.stdout)
		}
	})
}
