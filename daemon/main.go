// Command chatd is the chat daemon: a TCP server that answers every client
// with its own message in capitals. See `chatd --help`.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/chatd/chatd/internal/config"
)

func main() {
	err := newRootCmd().Execute()
	if err == nil {
		return
	}
	if !errors.Is(err, errQuiet) {
		fmt.Fprintln(os.Stderr, "chatd:", err)
	}
	os.Exit(exitCode(err))
}

// errQuiet ends chatd with an exit status and no message, for a command
// whose output already said everything (service status: "stopped", 3).
var errQuiet = errors.New("exit status only")

// quietStatus is errQuiet with an exit status.
func quietStatus(code int) error { return withStatus(code, errQuiet) }

// exitStatus attaches a process exit status to an error.
type exitStatus struct {
	err  error
	code int
}

func (e *exitStatus) Error() string { return e.err.Error() }
func (e *exitStatus) Unwrap() error { return e.err }

func withStatus(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitStatus{err: err, code: code}
}

// exitCode maps an error to an exit status: 2 for bad configuration and
// usage, the attached status if any, else 1.
func exitCode(err error) int {
	var es *exitStatus
	if errors.As(err, &es) {
		return es.code
	}
	var ce *config.Error
	if errors.As(err, &ce) {
		return 2
	}
	var ue *usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

// usageError is a command-line mistake.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }
