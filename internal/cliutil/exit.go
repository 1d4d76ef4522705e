// Package cliutil holds what chat, chatctl and chatd share as command-line
// programs: the exit statuses they have in common, errors that carry a
// status, and the one place that turns the error a command returned into a
// message on standard error and the process's exit status. Command
// handlers return errors and never call os.Exit; main calls Report once.
//
// A program's own statuses (chat's 3, "the server closed the connection";
// chatctl's 3, "a client to kick was not connected") are defined in that
// program and attached with WithCode or Silent.
package cliutil

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// Exit statuses every program uses in the same sense.
const (
	ExitSuccess = 0
	// ExitFailure: the program could not do what was asked (unreachable,
	// refused, failed).
	ExitFailure = 1
	// ExitUsage: the command line or the configuration is wrong; running
	// it again unchanged will fail again.
	ExitUsage = 2
	// ExitInterrupted: Ctrl-C or SIGTERM ended the program; 128+SIGINT,
	// as shells report a program killed by SIGINT.
	ExitInterrupted = 130
)

// Error is an error with the exit status it ends the program with. An
// Error without Err ends it silently: the command has already said
// everything there is to say.
type Error struct {
	Code int
	Err  error

	usage bool // a command-line mistake: Report points to --help
}

func (e *Error) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// WithCode attaches an exit status to err; nil stays nil.
func WithCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Code: code, Err: err}
}

// Silent ends the program with code and no further message.
func Silent(code int) error { return &Error{Code: code} }

// Usage marks err as a mistake in the command line: exit status 2, and
// Report points to --help. (A bad configuration file also exits 2, but
// --help does not fix it: use WithCode(ExitUsage, err) for that.)
func Usage(err error) error {
	if err == nil {
		return nil
	}
	return &Error{Code: ExitUsage, Err: err, usage: true}
}

// Usagef is Usage with a message formatted as by fmt.Errorf.
func Usagef(format string, a ...any) error { return Usage(fmt.Errorf(format, a...)) }

// Code is the exit status err ends the program with: 0 for nil, the status
// attached to it, 2 for cobra's own usage errors (which carry no type),
// else 1.
func Code(err error) int {
	if err == nil {
		return ExitSuccess
	}
	var ee *Error
	if errors.As(err, &ee) {
		return ee.Code
	}
	if isCobraUsage(err) {
		return ExitUsage
	}
	return ExitFailure
}

// Report writes err to w as one line, "prog: message", followed for a
// command-line mistake by a pointer to --help, and returns the exit status
// for it. A nil or silent error writes nothing.
func Report(w io.Writer, prog string, err error) int {
	code := Code(err)
	var ee *Error
	isExit := errors.As(err, &ee)
	if err == nil || isExit && ee.Err == nil {
		return code
	}
	fmt.Fprintf(w, "%s: %v\n", prog, err)
	if isExit && ee.usage || !isExit && isCobraUsage(err) {
		fmt.Fprintf(w, "Run '%s --help' for usage.\n", prog)
	}
	return code
}

// cobraUsagePrefixes start the errors cobra makes itself for a command
// line it cannot take: an unknown subcommand, a missing required flag.
// Flag parsing errors reach FlagErrors and are typed there.
var cobraUsagePrefixes = []string{"unknown command ", "required flag(s) ", "invalid argument "}

func isCobraUsage(err error) bool {
	for _, p := range cobraUsagePrefixes {
		if strings.HasPrefix(err.Error(), p) {
			return true
		}
	}
	return false
}
