package serverproc

import (
	"os/exec"
	"syscall"
)

// DieWithParent makes the kernel kill cmd if this process dies without
// stopping it (a SIGKILL, a crash, a test binary killed at its timeout),
// so no server is left behind holding ports and files.
func DieWithParent(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}
