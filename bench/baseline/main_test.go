package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chatd/chatd/bench/internal/load"
)

const asMainEnv = "BASELINE_TEST_AS_MAIN"

// TestMain lets the tests run this binary as the baseline server itself.
func TestMain(m *testing.M) {
	if os.Getenv(asMainEnv) != "" {
		os.Args = append(os.Args[:1], os.Args[2:]...) // drop the marker argument
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestHoldAgainstBaselineProcess starts the baseline as its own process,
// holds 50 connections on it with its RSS measured, and stops it with
// SIGTERM.
func TestHoldAgainstBaselineProcess(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "as-main", "-addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), asMainEnv+"=1")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()

	line, err := bufio.NewReader(out).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if err != nil || !ok {
		t.Fatalf("first line %q, %v", line, err)
	}

	r, err := load.Hold(ctx, load.Config{Addr: addr, Conns: 50, Duration: 100 * time.Millisecond,
		PID: cmd.Process.Pid, SpreadSource: true})
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK || r.Answering != 50 || r.AnsweringEnd != 50 || r.RSSBeforeKiB <= 0 || r.RSSAfterKiB <= 0 {
		t.Errorf("hold: %+v", r)
	}
	p, err := load.PingPong(ctx, load.Config{Addr: addr, Conns: 4, Duration: 100 * time.Millisecond, Size: 100 << 10})
	if err != nil || !p.OK || p.Msgs == 0 {
		t.Errorf("pingpong: %+v, %v", p, err)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("baseline did not exit cleanly on SIGTERM: %v", err)
	}
}
