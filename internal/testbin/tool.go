package testbin

import (
	"os"
	"os/exec"
	"testing"
)

// Tool returns the path of a system program a test runs (openssl,
// haproxy: .ci/run installs them). Where it is missing the test is
// skipped, except under CI (CI set), where that is a failure.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(name + " not installed (.ci/run installs it)")
		}
		t.Skip(name + " not installed")
	}
	return p
}
