package admin

import (
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/admin/adminapi"
)

func TestBulkKick(t *testing.T) {
	f := newFixture(t, "")
	for i := range 6 {
		f.addClient(40001+i, 0, 0)
	}
	// Clients 2 and 5 do not close: they are the ones that do not read.
	for _, id := range []uint64{2, 5} {
		f.conns[id].mu.Lock()
		f.conns[id].linger = true
		f.conns[id].mu.Unlock()
	}
	start := time.Now()
	res := decode[adminapi.BulkKickResult](t, f.do(root, "POST", adminapi.PathKick,
		strings.NewReader(`{"ids":[3,2,99,3,5],"reason":"bulk"}`)))
	// Two lingering clients cost one wait, not two.
	if d := time.Since(start); d > bulkKickWait+2*time.Second {
		t.Fatalf("answered after %v; the wait is %v for all of them together", d, bulkKickWait)
	}
	want := []adminapi.KickOutcome{
		{ID: 3, Result: adminapi.KickDisconnected},
		{ID: 2, Result: adminapi.KickStillClosing},
		{ID: 99, Result: adminapi.KickNotConnected},
		{ID: 5, Result: adminapi.KickStillClosing},
	}
	if res.Reason != "bulk" || len(res.Results) != len(want) {
		t.Fatalf("result %+v, want %+v", res, want)
	}
	for i := range want {
		if res.Results[i] != want[i] {
			t.Fatalf("result %d: %+v, want %+v (all: %+v)", i, res.Results[i], want[i], res.Results)
		}
	}
	for _, id := range []uint64{2, 3, 5} {
		if got := f.conns[id].kicks(); len(got) != 1 || got[0] != "bulk" {
			t.Fatalf("client %d was told %q, want one kick with the reason", id, got)
		}
	}
	for _, id := range []uint64{1, 4, 6} {
		if got := f.conns[id].kicks(); len(got) != 0 {
			t.Fatalf("client %d, not in the list, was kicked", id)
		}
	}

	// all: every client connected now, by ID.
	res = decode[adminapi.BulkKickResult](t, f.do(root, "POST", adminapi.PathKick, strings.NewReader(`{"all":true}`)))
	var ids []uint64
	for _, r := range res.Results {
		ids = append(ids, r.ID)
	}
	if len(ids) != 5 || ids[0] != 1 || ids[4] != 6 { // 3 is gone; 2 and 5 still linger
		t.Fatalf("kick all reached %v, want 1 2 4 5 6", ids)
	}
}

func TestBadBulkKicksAre400(t *testing.T) {
	f := newFixture(t, "")
	f.addClient(40001, 0, 0)
	for body, want := range map[string]string{
		``:                                  "body must be",
		`{}`:                                "non-empty",
		`{"ids":[]}`:                        "non-empty",
		`{"all":true,"ids":[1]}`:            "not both",
		`{"ids":[0]}`:                       "bad client id 0",
		`{"ids":[-1]}`:                      "body must be",
		`{"ids":["1"]}`:                     "body must be",
		`{"all":true,"why":"x"}`:            "unknown field",
		`{"all":true}{"all":true}`:          "more than one",
		`{"all":true,"reason":"a\u2028b"}`:  "printable",
		`{"ids":[1],"reason":"two\nlines"}`: "printable",
	} {
		if msg := errorOf(t, f.do(root, "POST", adminapi.PathKick, strings.NewReader(body)), 400); !strings.Contains(msg, want) {
			t.Errorf("%s: message %q, want it to say %q", body, msg, want)
		}
	}
	if got := f.conns[1].kicks(); len(got) != 0 {
		t.Fatalf("a bad request kicked: %q", got)
	}
	// Only the bulk kick takes a large body.
	big := `{"ids":[` + strings.Repeat("1,", 100000) + `1]}`
	if w := f.do(root, "POST", adminapi.PathKick, strings.NewReader(big)); w.Code != 200 {
		t.Fatalf("a 200 KB list of IDs: %d %s", w.Code, w.Body)
	}
	errorOf(t, f.do(root, "POST", adminapi.PathReload, strings.NewReader(big)), 413)
}
