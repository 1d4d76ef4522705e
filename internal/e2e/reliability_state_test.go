package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/testbin"
)

// connectID connects one client and returns the ID chatd logged for it.
func connectID(t *testing.T, d *testbin.Chatd) uint64 {
	t.Helper()
	before := len(d.LogRecords("client connected"))
	c := d.Dial()
	c.Write([]byte("id?"))
	if got, err := testbin.ReadFull(c, 3, 5*time.Second); err != nil || string(got) != "ID?" {
		t.Fatalf("client got %q, %v", got, err)
	}
	c.Close()
	var recs []map[string]any
	testbin.Poll(5*time.Second, func() bool {
		recs = d.LogRecords("client connected")
		return len(recs) > before
	})
	if len(recs) <= before {
		t.Fatal("no connect logged")
	}
	return uint64(recs[len(recs)-1]["id"].(float64))
}

func stop(t *testing.T, d *testbin.Chatd) {
	t.Helper()
	d.Signal(syscall.SIGTERM)
	if code := d.Wait(10 * time.Second); code != 0 {
		t.Fatalf("chatd exited %d", code)
	}
}

// Suite 9: a corrupt or unreadable client-ID state file is reported and
// chatd still serves, with IDs above every ID handed out before.
func TestBadStateFileIsReportedAndChatdServes(t *testing.T) {
	stateDir := t.TempDir()
	cfg := "state_dir: " + stateDir + "\n"
	stateFile := filepath.Join(stateDir, "client-ids")
	tests := []struct {
		name    string
		spoil   func(t *testing.T)
		wantLog string
	}{
		{"corrupt", func(t *testing.T) {
			if err := os.WriteFile(stateFile, []byte("\x00garbage\xff not a mark\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "client-ID state file is corrupt"},
		{"unreadable", func(t *testing.T) {
			// Root reads any file whatever its mode: a directory in its
			// place cannot be read by anyone.
			os.Remove(stateFile)
			if err := os.Mkdir(stateFile, 0o700); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Remove(stateFile) })
		}, "cannot read the client-ID state file"},
	}
	var highest uint64
	d := testbin.StartChatd(t, testbin.Options{Config: cfg})
	highest = max(connectID(t, d), connectID(t, d))
	stop(t, d)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.spoil(t)
			d := testbin.StartChatd(t, testbin.Options{Config: cfg})
			line := d.WaitLog(tt.wantLog, 5*time.Second)
			if !strings.Contains(line, `"level":"ERROR"`) {
				t.Fatalf("state problem not logged as an error: %s", line)
			}
			id := connectID(t, d)
			if id <= highest {
				t.Fatalf("after a %s state file, client ID %d is not above the earlier %d", tt.name, id, highest)
			}
			highest = id
			stop(t, d)
		})
	}
}
