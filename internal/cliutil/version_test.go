package cliutil

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/chatd/chatd/internal/version"
)

func TestAddVersion(t *testing.T) {
	saved := version.Version
	defer func() { version.Version = saved }()
	for _, v := range []string{"1.2.3", "dev-{{odd}}"} {
		version.Version = v
		for _, sub := range []bool{true, false} {
			newRoot := func() *cobra.Command {
				root := &cobra.Command{Use: "prog", SilenceErrors: true, SilenceUsage: true,
					RunE: func(*cobra.Command, []string) error { return nil }}
				if sub {
					root.AddCommand(&cobra.Command{Use: "run", RunE: func(*cobra.Command, []string) error { return nil }})
				}
				AddVersion(root)
				return root
			}
			// Both ways, also for a program with no other command.
			ways := [][]string{{"--version"}, {"version"}}
			for _, args := range ways {
				root := newRoot()
				var out strings.Builder
				root.SetOut(&out)
				root.SetArgs(args)
				if err := root.Execute(); err != nil {
					t.Fatalf("%q: %v", args, err)
				}
				if want := "prog " + v + "\n"; out.String() != want {
					t.Errorf("%s, subcommands %v, %q: printed %q, want %q", v, sub, args, out.String(), want)
				}
			}
		}
	}
}
