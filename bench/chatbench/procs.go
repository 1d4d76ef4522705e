package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/chatd/chatd/bench/internal/load"
	"github.com/chatd/chatd/bench/internal/procs"
)

// runChild runs one share of a -procs run (the protocol is described in
// package procs).
func runChild(ctx context.Context, o options, stdin io.Reader, stdout, stderr io.Writer) int {
	in := bufio.NewReader(stdin)
	o.cfg.Ready = func(ctx context.Context, _ load.Result) error {
		if _, err := fmt.Fprintln(stdout, procs.LineReady); err != nil {
			return err
		}
		got := make(chan error, 1)
		go func() {
			line, err := in.ReadString('\n')
			if err == nil && strings.TrimSpace(line) != procs.LineGo {
				err = fmt.Errorf("unexpected line %q from parent", line)
			}
			got <- err
		}()
		select {
		case err := <-got:
			if err != nil {
				return fmt.Errorf("waiting for the parent: %w", err)
			}
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	res, err := runMode(ctx, o)
	if err != nil {
		fmt.Fprintln(stderr, "chatbench child:", err)
		return 1
	}
	if err := res.WriteJSON(stdout); err != nil {
		return 1
	}
	return 0
}

// runProcs splits the run over o.procs children and merges their results.
func runProcs(ctx context.Context, o options, stderr io.Writer) (load.Result, error) {
	exe, err := os.Executable()
	if err != nil {
		return load.Result{}, err
	}
	return procs.Run(ctx, procs.Spec{Exe: exe, Mode: o.mode, Config: o.cfg, Procs: o.procs, Stderr: stderr})
}
