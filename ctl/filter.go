package main

import (
	"github.com/spf13/cobra"

	"github.com/chatd/chatd/internal/admin/adminapi"
	"github.com/chatd/chatd/internal/cliutil"
)

// clientFilter is the --remote, --idle-over, --sort and --limit flags:
// which clients a command acts on. chatd does the selecting.
type clientFilter struct {
	remote string
	q      adminapi.ClientQuery
	sorts  bool // the command takes --sort and --limit
}

// addFilterFlags adds the selecting flags to cmd; with order, also --sort
// and --limit (a listing's order, which a kick has no use for).
func addFilterFlags(cmd *cobra.Command, order bool) *clientFilter {
	cf := &clientFilter{sorts: order}
	f := cmd.Flags()
	f.StringVar(&cf.remote, "remote", "", "only clients whose remote IP is this address or in this CIDR prefix (192.0.2.7, 10.0.0.0/8)")
	f.DurationVar(&cf.q.IdleOver, "idle-over", 0, "only clients idle for longer than this (90s, 5m, 1h)")
	if order {
		f.StringVar(&cf.q.Sort, "sort", adminapi.SortID, "order: id; or, most first: idle, in, out, connected")
		f.IntVar(&cf.q.Limit, "limit", 0, "at most this many clients, after sorting (0: all)")
		cmd.RegisterFlagCompletionFunc("sort", cobra.FixedCompletions(adminapi.SortOrders, cobra.ShellCompDirectiveNoFileComp))
	}
	return cf
}

// query checks the flags and returns what to ask chatd for.
func (cf *clientFilter) query() (adminapi.ClientQuery, error) {
	q := cf.q
	if cf.remote != "" {
		p, err := adminapi.ParseRemote(cf.remote)
		if err != nil {
			return q, cliutil.Usage(err)
		}
		q.Remote = p
	}
	for _, err := range []error{adminapi.CheckIdleOver(q.IdleOver), adminapi.CheckSort(q.Sort), adminapi.CheckLimit(q.Limit)} {
		if err != nil {
			return q, cliutil.Usage(err)
		}
	}
	return q, nil
}

// selects reports whether any flag narrows the selection.
func (cf *clientFilter) selects() bool {
	return cf.remote != "" || cf.q.IdleOver > 0 || cf.q.Limit > 0
}
