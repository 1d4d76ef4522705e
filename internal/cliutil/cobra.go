package cliutil

import "github.com/spf13/cobra"

// FlagErrors is a cobra flag error function that marks every flag parsing
// error as a usage error: root.SetFlagErrorFunc(cliutil.FlagErrors).
func FlagErrors(_ *cobra.Command, err error) error { return Usage(err) }

// NoArgs is cobra.NoArgs with its error marked as a usage error.
func NoArgs(cmd *cobra.Command, args []string) error { return Usage(cobra.NoArgs(cmd, args)) }
