package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/testbin"
)

// TestVersionIsTheSameEverywhere: chatd, chatctl and chat print their
// version in one format, `NAME VERSION`, with the same version, whether
// asked by flag or by command.
func TestVersionIsTheSameEverywhere(t *testing.T) {
	var version string
	for _, tc := range []struct {
		bin  string
		name string
		args []string
	}{
		{"chatd", "chatd", []string{"version"}},
		{"chatd", "chatd", []string{"--version"}},
		{"chatctl", "chatctl", []string{"version"}},
		{"chatctl", "chatctl", []string{"--version"}},
		{"chat", "chat", []string{"--version"}},
	} {
		cmd := exec.Command(testbin.Path(t, tc.bin), tc.args...)
		cmd.Env = cleanEnv()
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s %q: %v", tc.bin, tc.args, err)
		}
		v, ok := strings.CutPrefix(string(out), tc.name+" ")
		if !ok || !strings.HasSuffix(v, "\n") || strings.Count(v, "\n") != 1 || strings.Contains(v, " ") {
			t.Errorf("%s %q printed %q, want one line %q", tc.bin, tc.args, out, tc.name+" VERSION")
			continue
		}
		if version == "" {
			version = v
		} else if v != version {
			t.Errorf("%s %q printed version %q, others %q", tc.bin, tc.args, v, version)
		}
	}
}
