package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/testbin"
)

// misspelled is a CHATD_ variable that names no key, spelled so that the
// config package's scan of the repository's variables does not take it
// for one chatd reads.
var misspelled = "CHATD_" + "MAX_CLIENT"

// A misspelled CHATD_ variable fails `config check` with the nearest
// key's variable, and `run` warns with the same hint and serves.
func TestMisspelledEnvironmentVariable(t *testing.T) {
	code, stderr := runChatdWithin(t, []string{misspelled + "=5"}, "config", "check", "--config", "/dev/null")
	want := "config environment " + misspelled + ": unknown variable; did you mean CHATD_MAX_CLIENTS (max_clients)?"
	if code != 2 || strings.TrimSpace(stderr) != "chatd: "+want {
		t.Errorf("config check: exit %d, stderr %q; want 2 and %q", code, stderr, want)
	}
	// The variables chatd reads for other purposes are not misspellings.
	if code, stderr := runChatdWithin(t, []string{"CHATD_TEST_PACKAGES=1", "CHATD_INHERIT_FDS="}, "config", "check", "--config", "/dev/null"); code != 0 {
		t.Errorf("config check with chatd's own non-key variables: exit %d, %s", code, stderr)
	}

	d := testbin.StartChatd(t, testbin.Options{Env: []string{misspelled + "=5"}})
	d.WaitLog("did you mean CHATD_MAX_CLIENTS", 10*time.Second)
	echo(t, dialFrom(t, "127.0.0.1", d.Addr), "served all the same")
}
