package e2e

import (
	"os"
	"testing"

	"github.com/chatd/chatd/internal/testbin"
)

func TestMain(m *testing.M) { os.Exit(testbin.Main(m)) }

// skipIfShort skips a long test under -short, the quick loop while
// developing; CI and the README's test command run everything.
func skipIfShort(t *testing.T, what string) {
	t.Helper()
	if testing.Short() {
		t.Skip("long (" + what + "); runs without -short")
	}
}
