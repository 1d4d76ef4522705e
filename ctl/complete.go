package main

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/chatd/chatd/internal/admin/adminapi"
	"github.com/chatd/chatd/internal/cliutil"
)

// completionTimeout keeps a shell's tab from hanging on a stuck daemon.
const completionTimeout = 2 * time.Second

// completeClientIDs offers the IDs of the clients connected now, each
// with its address and age, leaving out those already on the line.
//
// When chatd cannot be asked it offers nothing, and says so only in
// cobra's debug log: ShellCompDirectiveError would make cobra's bash
// script return before it turns off bash's file-name fallback (the
// script is registered with -o default), so `kick <TAB>` would offer the
// files of the current directory, none of which is a client ID.
func (a *app) completeClientIDs(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	ts, err := a.targets()
	if err != nil {
		cobra.CompDebugln("chatctl: "+err.Error(), true)
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	defer closeAll(ts)
	ctx, cancel := context.WithTimeout(cmd.Context(), completionTimeout)
	defer cancel()
	res := queryAll(ctx, ts, func(ctx context.Context, t target) ([]adminapi.Client, error) {
		return t.client.Clients(ctx)
	})
	now := time.Now()
	var out []cobra.Completion
	for _, r := range res {
		if r.err != nil {
			cobra.CompDebugln("chatctl: "+r.err.Error(), true)
			continue
		}
		for _, cl := range r.value {
			// With several hosts an ID is HOST/ID, as kick takes it.
			id := adminapi.FormatID(cl.ID)
			if len(ts) > 1 {
				id = r.host + "/" + id
			}
			if slices.Contains(args, id) || !strings.HasPrefix(id, toComplete) {
				continue
			}
			out = append(out, cobra.CompletionWithDesc(id, cliutil.Printable(cl.RemoteAddr)+", connected "+humanDuration(now.Sub(cl.ConnectedAt))))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
