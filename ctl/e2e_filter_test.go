package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/admin/adminapi"
	"github.com/chatd/chatd/internal/testbin"
)

// threeBySize connects three clients that have sent 10, 30 and 20 bytes
// and returns their IDs, in that order, once chatd counts them.
func threeBySize(t *testing.T, c *testbin.Chatd) []uint64 {
	t.Helper()
	chatters := []*chatter{dial(t, c), dial(t, c), dial(t, c)}
	sent := map[string]uint64{}
	for i, n := range []int{9, 29, 19} {
		sent[chatters[i].addr()] = uint64(chatters[i].say(strings.Repeat("x", n)))
	}
	waitFor(t, c, "the three clients' bytes", func(l []adminapi.Client) bool {
		if len(l) != 3 {
			return false
		}
		for _, cl := range l {
			if cl.BytesIn != sent[cl.RemoteAddr] {
				return false
			}
		}
		return true
	})
	return idsByAddr(t, c, chatters...)
}

func TestListSelectsAndOrders(t *testing.T) {
	c := testbin.StartChatd(t, testbin.Options{})
	ids := threeBySize(t, c)

	_, rows, count := tableRows(ctlOn(t, c, "list", "--sort", "in", "--limit", "2").mustOK(t).stdout)
	if count != "2 of 3 clients" || len(rows) != 2 || rows[0][0] != fmt.Sprint(ids[1]) || rows[1][0] != fmt.Sprint(ids[2]) {
		t.Fatalf("--sort in --limit 2: count %q, rows %q (ids %v)", count, rows, ids)
	}
	if _, rows, count := tableRows(ctlOn(t, c, "list", "--remote", "10.0.0.0/8").mustOK(t).stdout); count != "0 of 3 clients" || len(rows) != 0 {
		t.Fatalf("--remote 10.0.0.0/8: count %q, rows %q", count, rows)
	}
	if _, rows, count := tableRows(ctlOn(t, c, "list", "--remote", "127.0.0.1", "--idle-over", "1h").mustOK(t).stdout); count != "0 of 3 clients" || len(rows) != 0 {
		t.Fatalf("--idle-over 1h: count %q, rows %q", count, rows)
	}
	if _, rows, count := tableRows(ctlOn(t, c, "list", "--remote", "127.0.0.0/8").mustOK(t).stdout); count != "3 of 3 clients" || len(rows) != 3 {
		t.Fatalf("--remote 127.0.0.0/8: count %q, rows %q", count, rows)
	}
	out := ctlOn(t, c, "list", "-o", "json", "--sort", "out", "--limit", "1").mustOK(t).stdout
	if !strings.Contains(out, fmt.Sprintf(`"id": %d,`, ids[1])) || !strings.Contains(out, `"total": 3`) || strings.Count(out, `"id"`) != 1 {
		t.Fatalf("-o json --sort out --limit 1:\n%s", out)
	}
}

func TestFilterFlagsAreChecked(t *testing.T) {
	c := testbin.StartChatd(t, testbin.Options{})
	for _, args := range [][]string{
		{"list", "--remote", "10.0.0.0/33"},
		{"list", "--remote", "example.com"},
		{"list", "--idle-over", "5"},
		{"list", "--idle-over", "-1m"},
		{"list", "--sort", "name"},
		{"list", "--limit", "-1"},
		{"kick", "--remote", "127.0.0.1", "7"},
		{"kick", "--all", "--idle-over", "1m"},
		{"kick", "--remote", "127.0.0.1"}, // stdin is not a terminal: --yes needed
	} {
		// A usage mistake is one line, then chatctl's usual pointer to --help.
		r := ctlOn(t, c, args...)
		first, rest, _ := strings.Cut(r.stderr, "\n")
		if r.code != 2 || !strings.HasPrefix(first, "chatctl: ") || rest != "Run 'chatctl --help' for usage.\n" {
			t.Errorf("%q: exit %d, stderr %q; want 2 and one line", args, r.code, r.stderr)
		}
	}
}

func TestKickSelected(t *testing.T) {
	c := testbin.StartChatd(t, testbin.Options{})
	ids := threeBySize(t, c)
	r := ctlOn(t, c, "kick", "--sort", "in", "--limit", "1", "--yes").mustOK(t)
	if r.stdout != fmt.Sprintf("kicked client %d\n", ids[1]) {
		t.Fatalf("kick --sort in --limit 1: %q", r.stdout)
	}
	left := waitFor(t, c, "two clients left", func(l []adminapi.Client) bool { return len(l) == 2 })
	if left[0].ID != ids[0] || left[1].ID != ids[2] {
		t.Fatalf("left %+v, want %d and %d", left, ids[0], ids[2])
	}
	if r := ctlOn(t, c, "kick", "--remote", "10.0.0.0/8", "--yes").mustOK(t); r.stdout != "no client matches (2 clients connected)\n" {
		t.Fatalf("kick --remote 10.0.0.0/8: %q", r.stdout)
	}
}
