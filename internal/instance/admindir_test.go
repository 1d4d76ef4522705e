package instance

import (
	"os"
	"path/filepath"
	"testing"
)

// The directories chatd makes for its admin socket (a non-root chatd's
// /tmp/chatd-UID) go when it stops, if nothing else is in them; those
// that were there before, or hold something else, stay.
func TestStopRemovesTheSocketDirectoriesItMade(t *testing.T) {
	for _, tc := range []struct {
		name     string
		existing string // made before chatd starts, relative to the temp dir
		other    string // a file someone else put beside the socket
		gone     []string
		kept     []string
	}{
		{name: "made by chatd", gone: []string{"chatd-1000", "chatd-1000/run"}},
		{name: "there before", existing: "chatd-1000/run", kept: []string{"chatd-1000/run"}},
		{name: "parent there before", existing: "chatd-1000", gone: []string{"chatd-1000/run"}, kept: []string{"chatd-1000"}},
		{name: "something else inside", other: "chatd-1000/run/other.sock", kept: []string{"chatd-1000/run/other.sock"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, err := os.MkdirTemp("", "chatd-dir-") // short: a socket path lives here
			if err != nil {
				t.Fatal(err)
			}
			defer os.RemoveAll(dir)
			if tc.existing != "" {
				if err := os.MkdirAll(filepath.Join(dir, tc.existing), 0o750); err != nil {
					t.Fatal(err)
				}
			}
			d := newTestDaemon(t, dir, "127.0.0.1:0", filepath.Join(dir, "chatd-1000", "run", "admin.sock"))
			if err := d.Start(); err != nil {
				t.Fatal(err)
			}
			if tc.other != "" {
				if err := os.WriteFile(filepath.Join(dir, tc.other), nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			d.Stop()
			for _, p := range tc.gone {
				if _, err := os.Lstat(filepath.Join(dir, p)); !os.IsNotExist(err) {
					t.Errorf("%s is still there after Stop (%v)", p, err)
				}
			}
			for _, p := range tc.kept {
				if _, err := os.Lstat(filepath.Join(dir, p)); err != nil {
					t.Errorf("%s was removed: %v", p, err)
				}
			}
		})
	}
}
