package compare

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the kernel kill cmd if this process dies without
// stopping it (a SIGKILL, a crash), so no server is left behind.
func dieWithParent(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}
