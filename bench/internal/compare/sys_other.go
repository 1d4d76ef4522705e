//go:build !linux

package compare

import "os/exec"

// dieWithParent does nothing where the kernel cannot kill a child with its
// parent; Stop and the contexts still end every child on a normal exit or
// an interrupt.
func dieWithParent(*exec.Cmd) {}
