package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/chatd/chatd/internal/admin/adminapi"
	"github.com/chatd/chatd/internal/cliutil"
)

// idsByHost sorts the IDs to kick by the host they are on. An ID without
// a host belongs to the only target; with several, it must say HOST/ID.
func (o *kickOptions) idsByHost(ts []target) (map[string][]uint64, error) {
	byHost := map[string][]uint64{}
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.host
	}
	for _, hid := range o.ids {
		host := hid.host
		switch {
		case host != "" && ts[0].host == "":
			return nil, cliutil.Usagef("%s/%d names a host: give it with --host ssh://%s (or $%s)", host, hid.id, host, envHost)
		case host == "" && len(ts) > 1:
			return nil, cliutil.Usagef("client %d: with several hosts, give HOST/ID (hosts: %s)", hid.id, strings.Join(names, ", "))
		case host == "":
			host = ts[0].host
		case !slices.Contains(names, host):
			return nil, cliutil.Usagef("%s/%d: no --host is %s (hosts: %s)", host, hid.id, host, strings.Join(names, ", "))
		}
		if !slices.Contains(byHost[host], hid.id) {
			byHost[host] = append(byHost[host], hid.id)
		}
	}
	return byHost, nil
}

// kickHosts kicks on several hosts at once: the given HOST/IDs, or with
// --all every client everywhere, after a question that names the hosts.
// Each host's result lines start with the host. A host that fails is one
// line on stderr and exit status 1; not connected IDs make it 3.
func (o *kickOptions) kickHosts(cmd *cobra.Command, ts []target, byHost map[string][]uint64) error {
	stderr := cmd.ErrOrStderr()
	failed := false
	if o.all && !o.yes {
		counts := queryAll(cmd.Context(), ts, func(ctx context.Context, t target) (int, error) {
			st, err := t.client.Status(ctx)
			return st.ClientsConnected, err
		})
		failed = reportFailures(stderr, counts) != nil
		question, total, reachable := kickAllQuestion(counts)
		if total == 0 {
			if len(reachable) > 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "no clients connected")
			}
			if failed {
				return cliutil.Silent(cliutil.ExitFailure)
			}
			return nil
		}
		ts = reachable
		if !confirm(cmd.InOrStdin(), stderr, question) {
			return errors.New("aborted: no client was kicked")
		}
	}
	if !o.all { // only the hosts that IDs were given for
		ts = slices.DeleteFunc(slices.Clone(ts), func(t target) bool { return len(byHost[t.host]) == 0 })
	}
	res := queryAll(cmd.Context(), ts, func(ctx context.Context, t target) (adminapi.BulkKickResult, error) {
		if o.all {
			return t.client.KickMany(ctx, adminapi.BulkKick{All: true, Reason: o.reason})
		}
		return t.client.KickMany(ctx, adminapi.BulkKick{IDs: byHost[t.host], Reason: o.reason})
	})
	notConnected := 0
	for _, r := range res {
		if r.err != nil {
			continue
		}
		if o.all && len(r.value.Results) == 0 {
			fmt.Fprintf(cmd.OutOrStdout(), "%s: no clients connected\n", r.host)
		}
		notConnected += printKickResults(cmd.OutOrStdout(), stderr, r.host+": ", r.value)
	}
	failed = reportFailures(stderr, res) != nil || failed
	switch {
	case failed:
		return cliutil.Silent(cliutil.ExitFailure)
	case notConnected > 0:
		return cliutil.Silent(exitNotConnected)
	}
	return nil
}

// kickAllQuestion is kick --all's question for several hosts, naming each
// that answered with its count, the total, and those hosts.
func kickAllQuestion(counts []hostResult[int]) (question string, total int, reachable []target) {
	var on []string
	for _, r := range counts {
		if r.err == nil {
			on = append(on, fmt.Sprintf("%s (%d)", r.host, r.value))
			total += r.value
			reachable = append(reachable, r.target)
		}
	}
	question = fmt.Sprintf("Kick all %s on %s? [y/N] ", plural(total, "connected client"), strings.Join(on, ", "))
	return question, total, reachable
}
