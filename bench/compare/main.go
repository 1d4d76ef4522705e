// Command compare benchmarks chatd against the bare baseline server in one
// run and prints one table: throughput and latency under ping-pong load,
// 1 MiB messages, idle memory per connection up to the machine's limit,
// chatctl list with that many clients, and the accept rate, each beside the
// baseline's figure and the target of issue 5.
//
//	cd bench && go run ./compare           # full run, about 8 minutes
//	cd bench && go run ./compare -quick    # about 1 minute, indicative only
//
// It builds chatd, the baseline, chatbench and chatctl into a temporary
// directory, starts the servers as child processes on 127.0.0.1:0, runs
// every load against chatd and the baseline alternately (A B A B …) and
// reports medians. Progress goes to stderr, the report to stdout. Every
// run ends by itself (-timeout); the servers and load generators are
// stopped on exit and on SIGINT/SIGTERM.
//
// Exit status: 0 when every run completed and every load verified, 1 when
// a run failed or the comparison stopped early (the report is still
// printed), 2 for a usage error.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/chatd/chatd/bench/internal/compare"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	quick := fs.Bool("quick", false, "a short run (fewer rounds, 1s windows): indicative only")
	rounds := fs.Int("rounds", 0, "ping-pong rounds, each chatd then baseline (default 9, quick 2)")
	holdRounds := fs.Int("hold-rounds", 0, "idle-hold rounds on fresh servers (default 3, quick 1)")
	dur := fs.Duration("d", 0, "measured window of each ping-pong run (default 3s, quick 1s)")
	warmup := fs.Duration("warmup", -1, "verified, uncounted traffic before each window (default 1s, quick 500ms)")
	counts := fs.String("counts", "", "idle connection counts, comma-separated (default 1000,10000,19500)")
	listRuns := fs.Int("list-runs", 0, "chatctl list runs, idle and during traffic (default 5, quick 3)")
	dir := fs.String("dir", "", "work directory for binaries and server logs (default: a temporary one)")
	keep := fs.Bool("keep", false, "keep the temporary work directory")
	profile := fs.String("profile", "", "build chatd with -tags benchprofile and save CPU and heap profiles in `DIR` (perturbs the figures)")
	raw := fs.String("raw", "", "also write every result as JSON to `FILE`")
	timeout := fs.Duration("timeout", 0, "stop the whole run after this long (default: a bound computed from the settings)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "compare: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	st := compare.Defaults(*quick)
	if *rounds > 0 {
		st.Rounds = *rounds
	}
	if *holdRounds > 0 {
		st.HoldRounds = *holdRounds
	}
	if *dur > 0 {
		st.Duration = *dur
	}
	if *warmup >= 0 {
		st.Warmup = *warmup
	}
	if *listRuns > 0 {
		st.ListRuns = *listRuns
	}
	if *counts != "" {
		cs, err := parseCounts(*counts)
		if err != nil {
			fmt.Fprintln(stderr, "compare: -counts:", err)
			return 2
		}
		st.Counts = cs
	}
	limit := *timeout
	if limit <= 0 {
		limit = compare.Budget(st)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()

	o := compare.Options{Settings: st, Dir: *dir, Keep: *keep, Profile: *profile, Log: stderr,
		Command: commandLine(args)}
	s, err := compare.Run(ctx, o)
	compare.Report(stdout, s)
	if *raw != "" {
		if werr := writeRaw(*raw, s); werr != nil {
			fmt.Fprintln(stderr, "compare:", werr)
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "compare:", err)
		return 1
	}
	if !allOK(s) {
		fmt.Fprintln(stderr, "compare: some runs failed; see the report")
		return 1
	}
	return 0
}

func parseCounts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive count", f)
		}
		if len(out) > 0 && n <= out[len(out)-1] {
			return nil, errors.New("counts must be ascending")
		}
		out = append(out, n)
	}
	return out, nil
}

func commandLine(args []string) string {
	return strings.TrimSpace("cd bench && go run ./compare " + strings.Join(args, " "))
}

func allOK(s *compare.Summary) bool {
	pairs := []*compare.Pair{&s.UnderLoad}
	for _, p := range s.Traffic {
		pairs = append(pairs, p)
	}
	for _, p := range s.Holds {
		pairs = append(pairs, p)
	}
	for _, p := range pairs {
		if compare.Failed(p.Chatd)+compare.Failed(p.Baseline) > 0 {
			return false
		}
	}
	return len(s.Errors) == 0
}

func writeRaw(path string, s *compare.Summary) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
