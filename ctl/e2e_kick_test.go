package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/admin/adminapi"
	"github.com/chatd/chatd/internal/testbin"
)

// idsByAddr maps each chatter to its client ID once all are listed.
func idsByAddr(t *testing.T, c *testbin.Chatd, chatters ...*chatter) []uint64 {
	t.Helper()
	list := waitFor(t, c, "every client", func(l []adminapi.Client) bool { return len(l) >= len(chatters) })
	ids := make([]uint64, len(chatters))
	for i, ch := range chatters {
		for _, cl := range list {
			if cl.RemoteAddr == ch.addr() {
				ids[i] = cl.ID
			}
		}
		if ids[i] == 0 {
			t.Fatalf("client from %s not listed: %+v", ch.addr(), list)
		}
	}
	return ids
}

func TestKickClosesThatConnectionOnly(t *testing.T) {
	c := testbin.StartChatd(t, testbin.Options{})
	a, b, d := dial(t, c), dial(t, c), dial(t, c)
	for _, ch := range []*chatter{a, b, d} {
		ch.say("before")
	}
	ids := idsByAddr(t, c, a, b, d)

	r := ctlOn(t, c, "kick", fmt.Sprint(ids[1]), "--reason", "spamming the channel").mustOK(t)
	if r.stdout != fmt.Sprintf("kicked client %d\n", ids[1]) {
		t.Fatalf("stdout %q", r.stdout)
	}
	// The kicked client reads the notice, then EOF.
	got, err := testbin.ReadAll(b.nc, 5*time.Second)
	if err != nil || string(got) != "*** kicked by operator: spamming the channel\n" {
		t.Fatalf("kicked client read %q, %v", got, err)
	}
	// The others keep chatting.
	for _, ch := range []*chatter{a, d} {
		ch.say("still here")
	}
	list := listJSON(t, c)
	var left []uint64
	for _, cl := range list {
		left = append(left, cl.ID)
	}
	want := []uint64{ids[0], ids[2]}
	slices.Sort(want)
	if !slices.Equal(left, want) {
		t.Fatalf("after the kick: %v, want %v", left, want)
	}
	recs := c.LogRecords("clients kicked by operator")
	if len(recs) != 1 || recs[0]["reason"] != "spamming the channel" || recs[0]["by_uid"] != float64(os.Geteuid()) ||
		fmt.Sprint(recs[0]["ids"]) != fmt.Sprintf("[%d]", ids[1]) {
		t.Errorf("kick log records: %v", recs)
	}
}

func TestKickUnknownIDExits3AndKicksTheRest(t *testing.T) {
	c := testbin.StartChatd(t, testbin.Options{})
	a, b := dial(t, c), dial(t, c)
	a.say("a")
	b.say("b")
	ids := idsByAddr(t, c, a, b)

	r := ctlOn(t, c, "kick", "999")
	if r.code != 3 || r.stdout != "" || r.stderr != "chatctl: client 999 is not connected\n" {
		t.Fatalf("unknown id: %+v", r)
	}
	r = ctlOn(t, c, "kick", fmt.Sprint(ids[0]), "998")
	if r.code != 3 || r.stdout != fmt.Sprintf("kicked client %d\n", ids[0]) || r.stderr != "chatctl: client 998 is not connected\n" {
		t.Fatalf("one known, one not: %+v", r)
	}
	if got, _ := testbin.ReadAll(a.nc, 5*time.Second); string(got) != "*** kicked by operator: no reason given\n" {
		t.Fatalf("kicked client read %q", got)
	}
	b.say("unaffected")
}

func TestKickAllNeedsYesWithoutATerminal(t *testing.T) {
	c := testbin.StartChatd(t, testbin.Options{})
	chatters := []*chatter{dial(t, c), dial(t, c), dial(t, c)}
	for _, ch := range chatters {
		ch.say("hello")
	}
	ids := idsByAddr(t, c, chatters...)

	r := ctlOn(t, c, "kick", "--all")
	if r.code != 2 || !strings.Contains(r.stderr, "stdin is not a terminal: add --yes") {
		t.Fatalf("kick --all without --yes: %+v", r)
	}
	if n := len(listJSON(t, c)); n != 3 {
		t.Fatalf("%d clients left after a refused kick --all", n)
	}

	r = ctlOn(t, c, "kick", "--all", "--yes", "--reason", "maintenance").mustOK(t)
	var want string
	for _, id := range ids {
		want += fmt.Sprintf("kicked client %d\n", id)
	}
	if r.stdout != want {
		t.Fatalf("stdout %q, want %q", r.stdout, want)
	}
	for _, ch := range chatters {
		if got, _ := testbin.ReadAll(ch.nc, 5*time.Second); string(got) != "*** kicked by operator: maintenance\n" {
			t.Fatalf("client read %q", got)
		}
	}
	if r := ctlOn(t, c, "kick", "--all", "--yes").mustOK(t); r.stdout != "no clients connected\n" {
		t.Fatalf("empty kick --all: %q", r.stdout)
	}
}
