package handover

// ExecHooks run on the thread that execs a restart in place, around the
// exec (Reexec).
type ExecHooks struct {
	// Before runs just before the exec and returns variables to add to
	// the next image's environment (signals that must not be lost, say).
	Before func() []string
	// Failed undoes Before when the exec failed.
	Failed func()
}
