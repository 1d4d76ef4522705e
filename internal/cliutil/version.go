package cliutil

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/chatd/chatd/internal/version"
)

// AddVersion gives root a --version flag and a `version` command, both
// printing version.Line: one format for every program (chat too, whose
// only other commands are hidden) and both ways of asking.
func AddVersion(root *cobra.Command) {
	line := version.Line(root.Name())
	root.Version = version.String()
	// The template is text/template: keep a version's braces literal.
	root.SetVersionTemplate(strings.NewReplacer("{{", `{{"{{"}}`).Replace(line) + "\n")
	root.AddCommand(&cobra.Command{
		Use:   "version",
		Short: "Print " + root.Name() + "'s version",
		Args:  NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), line)
			return err
		},
	})
}
