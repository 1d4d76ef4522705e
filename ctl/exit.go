package main

import (
	"errors"
	"strings"

	"github.com/chatd/chatd/internal/config"
)

// Exit statuses, documented in the package comment and the README.
const (
	exitFailure      = 1 // chatd unreachable, permission denied, daemon errors
	exitUsage        = 2 // bad command line or config
	exitNotConnected = 3 // kick: some client was not connected
)

// usageError is a command-line mistake.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(msg string) error { return &usageError{msg: msg} }

// silentExit ends chatctl with a status after the command has already
// said everything there is to say.
type silentExit struct{ code int }

func (e *silentExit) Error() string { return "exit status" }

func exitCode(err error) int {
	var se *silentExit
	if errors.As(err, &se) {
		return se.code
	}
	var ue *usageError
	var ce *config.Error
	if errors.As(err, &ue) || errors.As(err, &ce) {
		return exitUsage
	}
	// cobra's own argument errors carry no type.
	if strings.HasPrefix(err.Error(), "unknown command") {
		return exitUsage
	}
	return exitFailure
}
