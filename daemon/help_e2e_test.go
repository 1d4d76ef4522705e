package main

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/testbin"
)

// The help of the commands that read the configuration lists the
// environment variables as a table, one key a row, not run together in
// the --config flag's line.
func TestHelpListsTheEnvironmentAsATable(t *testing.T) {
	row := regexp.MustCompile(`^  ([a-z_]+(\.[a-z_]+)?) +(CHATD_[A-Z_]+)( +--[a-z-]+)?$`)
	for _, args := range [][]string{{"run", "--help"}, {"config", "check", "--help"}, {"config", "show", "--help"}} {
		out, err := exec.Command(testbin.Path(t, "chatd"), args...).CombinedOutput()
		if err != nil {
			t.Fatalf("chatd %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		rows := 0
		for _, line := range strings.Split(string(out), "\n") {
			if n := strings.Count(line, "CHATD_"); n > 1 {
				t.Errorf("chatd %s: %d variables in one line: %s", strings.Join(args, " "), n, line)
			}
			m := row.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			rows++
			if want := "CHATD_" + strings.ToUpper(strings.ReplaceAll(m[1], ".", "_")); m[3] != want {
				t.Errorf("row %q: variable %s, want %s", line, m[3], want)
			}
		}
		if rows < 27 {
			t.Errorf("chatd %s: %d rows of key and variable, want one for every key (27):\n%s", strings.Join(args, " "), rows, out)
		}
	}
}
