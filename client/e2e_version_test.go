package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/testbin"
)

// `chat version` works as `chatd version` and `chatctl version` do, and
// the three print the same version in the same form.
func TestChatVersionCommandLikeChatdAndChatctl(t *testing.T) {
	var want string
	for _, tc := range []struct{ bin, arg string }{
		{"chatd", "version"}, {"chatctl", "version"}, {"chat", "version"}, {"chat", "--version"},
	} {
		out, err := exec.Command(testbin.Path(t, tc.bin), tc.arg).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v: %s", tc.bin, tc.arg, err, out)
		}
		v, ok := strings.CutPrefix(string(out), tc.bin+" ")
		if !ok || strings.Count(v, "\n") != 1 || !strings.HasSuffix(v, "\n") {
			t.Fatalf("%s %s printed %q, want one line %q", tc.bin, tc.arg, out, tc.bin+" VERSION")
		}
		if want == "" {
			want = v
		} else if v != want {
			t.Errorf("%s %s printed version %q, chatd %q", tc.bin, tc.arg, v, want)
		}
	}
}
