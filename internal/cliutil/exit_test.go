package cliutil

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func TestCodeAndReport(t *testing.T) {
	failed := errors.New("cannot reach chatd")
	tests := []struct {
		name       string
		err        error
		wantCode   int
		wantStderr string
	}{
		{"nil", nil, 0, ""},
		{"plain failure", failed, 1, "prog: cannot reach chatd\n"},
		{"wrapped failure", fmt.Errorf("list: %w", failed), 1, "prog: list: cannot reach chatd\n"},
		{"usage", Usagef("give an ID"), 2, "prog: give an ID\nRun 'prog --help' for usage.\n"},
		{"usage wrapped by context", fmt.Errorf("kick: %w", Usagef("bad ID %q", "x")), 2,
			"prog: kick: bad ID \"x\"\nRun 'prog --help' for usage.\n"},
		{"bad config: status 2, no --help", WithCode(ExitUsage, errors.New("config: listen: bad")), 2, "prog: config: listen: bad\n"},
		{"own status", WithCode(3, errors.New("closed by server")), 3, "prog: closed by server\n"},
		{"silent", Silent(3), 3, ""},
		{"cobra unknown command", errors.New(`unknown command "lst" for "prog"`), 2,
			"prog: unknown command \"lst\" for \"prog\"\nRun 'prog --help' for usage.\n"},
		{"WithCode nil", WithCode(3, nil), 0, ""},
		{"Usage nil", Usage(nil), 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Code(tc.err); got != tc.wantCode {
				t.Errorf("Code = %d, want %d", got, tc.wantCode)
			}
			var b strings.Builder
			if got := Report(&b, "prog", tc.err); got != tc.wantCode {
				t.Errorf("Report returned %d, want %d", got, tc.wantCode)
			}
			if b.String() != tc.wantStderr {
				t.Errorf("Report wrote %q, want %q", b.String(), tc.wantStderr)
			}
		})
	}
}

func TestCobraErrorsAreUsage(t *testing.T) {
	for _, args := range [][]string{{"--bogus"}, {"extra"}, {"nosuch", "x"}} {
		root := &cobra.Command{Use: "prog", Args: NoArgs, RunE: func(*cobra.Command, []string) error { return nil },
			SilenceErrors: true, SilenceUsage: true}
		root.AddCommand(&cobra.Command{Use: "sub", RunE: func(*cobra.Command, []string) error { return nil }})
		root.SetFlagErrorFunc(FlagErrors)
		root.SetArgs(args)
		err := root.Execute()
		if Code(err) != ExitUsage {
			t.Errorf("%q: %v: exit %d, want %d", args, err, Code(err), ExitUsage)
		}
	}
}
