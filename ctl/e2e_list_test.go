package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/admin/adminapi"
	"github.com/chatd/chatd/internal/testbin"
)

func TestListShowsExactlyTheConnectedClients(t *testing.T) {
	c := testbin.StartChatd(t, testbin.Options{})
	gone := dial(t, c)
	gone.say("here for a moment")
	gone.nc.Close()

	const n = 3
	clients := make([]*chatter, n)
	sent := map[string]uint64{}
	for i := range clients {
		clients[i] = dial(t, c)
		sent[clients[i].addr()] = uint64(clients[i].say(strings.Repeat("x", 10*(i+1))))
	}
	// Counters are updated right after each write: poll until every
	// client's answer is counted.
	list := waitFor(t, c, "exactly the three clients with their bytes", func(l []adminapi.Client) bool {
		if len(l) != n {
			return false
		}
		for _, cl := range l {
			if cl.BytesIn != sent[cl.RemoteAddr] || cl.BytesOut != sent[cl.RemoteAddr] {
				return false
			}
		}
		return true
	})
	ids := map[string]uint64{}
	for i, cl := range list {
		ids[cl.RemoteAddr] = cl.ID
		if i > 0 && cl.ID <= list[i-1].ID {
			t.Errorf("not sorted by id: %d after %d", cl.ID, list[i-1].ID)
		}
		if cl.LocalAddr != c.Addr {
			t.Errorf("client %d local address %s, want %s", cl.ID, cl.LocalAddr, c.Addr)
		}
		if age := time.Since(cl.ConnectedAt); age < 0 || age > time.Minute || cl.LastActiveAt.Before(cl.ConnectedAt) {
			t.Errorf("client %d times %v / %v", cl.ID, cl.ConnectedAt, cl.LastActiveAt)
		}
	}
	for _, ch := range clients {
		if _, ok := ids[ch.addr()]; !ok {
			t.Errorf("client from %s not listed: %+v", ch.addr(), list)
		}
	}

	// The table says the same, human-sized, with a count line.
	header, rows, count := tableRows(ctlOn(t, c, "list").mustOK(t).stdout)
	if want := []string{"ID", "REMOTE ADDRESS", "CONNECTED", "IDLE", "IN", "OUT"}; !slices.Equal(header, want) {
		t.Fatalf("header %q", header)
	}
	if count != "3 clients" || len(rows) != n {
		t.Fatalf("count line %q, %d rows", count, len(rows))
	}
	for i, ch := range clients {
		bytes := fmt.Sprintf("%d B", sent[ch.addr()])
		want := []string{fmt.Sprint(ids[ch.addr()]), ch.addr(), rows[i][2], rows[i][3], bytes, bytes}
		if !slices.Equal(rows[i], want) {
			t.Errorf("row %d: %q, want %q", i, rows[i], want)
		}
	}

	// -o wide adds the local address and absolute times.
	header, rows, _ = tableRows(ctlOn(t, c, "list", "-o", "wide").mustOK(t).stdout)
	if len(header) != 9 || header[2] != "LOCAL ADDRESS" || rows[0][2] != c.Addr {
		t.Fatalf("wide: header %q, first row %q", header, rows[0])
	}
	if _, err := time.Parse(time.RFC3339, rows[0][3]); err != nil {
		t.Fatalf("wide: CONNECTED AT %q: %v", rows[0][3], err)
	}
}

func TestEmptyServerListsHeaderAndZero(t *testing.T) {
	c := testbin.StartChatd(t, testbin.Options{})
	out := ctlOn(t, c, "list").mustOK(t).stdout
	if out != "ID   REMOTE ADDRESS   CONNECTED   IDLE   IN   OUT\n0 clients\n" {
		t.Fatalf("%q", out)
	}
	if out := ctlOn(t, c, "list", "-o", "json").mustOK(t).stdout; strings.Join(strings.Fields(out), "") != `{"clients":[],"total":0}` {
		t.Fatalf("json %q", out)
	}
}

func TestOneClientIsCountedInTheSingular(t *testing.T) {
	c := testbin.StartChatd(t, testbin.Options{})
	dial(t, c).say("hi")
	waitFor(t, c, "one client", func(l []adminapi.Client) bool { return len(l) == 1 })
	_, _, count := tableRows(ctlOn(t, c, "list").mustOK(t).stdout)
	if count != "1 client" {
		t.Fatalf("count line %q", count)
	}
}

func TestStatusMatchesTheDaemon(t *testing.T) {
	c := testbin.StartChatd(t, testbin.Options{Config: "max_clients: 77\n"})
	a, b := dial(t, c), dial(t, c)
	total := uint64(a.say("hello") + b.say("hi"))
	left := dial(t, c)
	total += uint64(left.say("bye"))
	left.nc.Close()
	var st adminapi.Status
	if !testbin.Poll(10*time.Second, func() bool {
		r := ctlOn(t, c, "status", "-o", "json").mustOK(t)
		st = adminapi.Status{}
		if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
			t.Fatalf("status -o json: %v\n%s", err, r.stdout)
		}
		return st.ClientsConnected == 2 && st.BytesIn == total && st.BytesOut == total
	}) {
		t.Fatalf("status never showed 2 clients and %d bytes each way: %+v", total, st)
	}
	if st.PID != c.Pid() || st.Listen != c.Addr || st.AdminSocket != c.Socket || st.ConfigFile != c.Config ||
		st.ClientsTotal != 3 || st.MaxClients != 77 || st.Version == "" {
		t.Fatalf("status %+v\nwant pid %d, listen %s, socket %s, config %s, 3 total, max 77", st, c.Pid(), c.Addr, c.Socket, c.Config)
	}
	if age := time.Since(st.StartedAt); age < 0 || age > time.Minute || st.UptimeSeconds <= 0 {
		t.Fatalf("started_at %v, uptime %v", st.StartedAt, st.UptimeSeconds)
	}
	text := ctlOn(t, c, "status").mustOK(t).stdout
	for _, want := range []string{
		fmt.Sprintf("pid:           %d\n", c.Pid()),
		"listen:        " + c.Addr + "\n",
		"admin socket:  " + c.Socket + "\n",
		"config file:   " + c.Config + "\n",
		"clients:       2 (max 77)\n",
		"clients total: 3\n",
		fmt.Sprintf("bytes in:      %d B (%d)\n", total, total),
	} {
		if !strings.Contains(text, want) {
			t.Errorf("status has no %q:\n%s", want, text)
		}
	}
}

func TestCompletionOffersTheLiveIDs(t *testing.T) {
	c := testbin.StartChatd(t, testbin.Options{})
	a, b := dial(t, c), dial(t, c)
	a.say("a")
	b.say("b")
	list := waitFor(t, c, "two clients", func(l []adminapi.Client) bool { return len(l) == 2 })
	first, second := adminapi.FormatID(list[0].ID), adminapi.FormatID(list[1].ID)

	// __complete is what the shell scripts call; it reports its directive
	// on stderr.
	complete := func(args ...string) string {
		r := ctlOn(t, c, append([]string{"__complete", "kick"}, args...)...)
		if r.code != 0 {
			t.Fatalf("__complete kick %q: %+v", args, r)
		}
		return r.stdout
	}
	out := complete("")
	for _, cl := range list {
		if !strings.Contains(out, adminapi.FormatID(cl.ID)+"\t"+cl.RemoteAddr+", connected ") {
			t.Errorf("no completion for client %d in\n%s", cl.ID, out)
		}
	}
	if !strings.Contains(out, ":4\n") {
		t.Errorf("completion should not offer files (directive 4):\n%s", out)
	}
	// An ID already on the line is not offered again.
	out = complete(first, "")
	if strings.Contains(out, first+"\t") || !strings.Contains(out, second+"\t") {
		t.Errorf("after %s:\n%s", first, out)
	}
	// Shell scripts come from cobra.
	if out := ctlOn(t, c, "completion", "bash").mustOK(t).stdout; !strings.Contains(out, "__start_chatctl") {
		t.Errorf("bash completion script:\n%.300s", out)
	}
}

// With chatd not running, `kick <TAB>` must offer nothing, not file names:
// the directive is NoFileComp alone (4). With the error bit (1) set too,
// cobra's bash script returns early and bash falls back to completing
// the files of the current directory.
func TestCompletionWithoutChatdOffersNoFiles(t *testing.T) {
	dir := t.TempDir()
	for _, socket := range []string{
		filepath.Join(dir, "nobody-listens.sock"), // chatd not running
		filepath.Join(dir, "missing", "admin.sock"),
	} {
		r := ctl(t, nil, "--socket", socket, "__complete", "kick", "")
		if r.code != 0 {
			t.Fatalf("__complete kick with %s: %+v", socket, r)
		}
		if r.stdout != ":4\n" {
			t.Errorf("__complete kick with %s offered %q, want nothing and directive 4 (no files)", socket, r.stdout)
		}
	}
}
