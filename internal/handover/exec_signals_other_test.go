//go:build unix && !linux

package handover

import (
	"fmt"
	"os"
)

// signalRole: the signal probes read /proc, which only Linux has; their
// test skips itself elsewhere, so no role is ever asked for here.
func signalRole(role string) int {
	fmt.Fprintln(os.Stderr, "no signal probe role", role, "on this system")
	return 2
}
