//go:build !linux

package serverproc

import "os/exec"

// DieWithParent does nothing where the kernel cannot kill a child with its
// parent; Stop still ends every server on a normal exit.
func DieWithParent(*exec.Cmd) {}
