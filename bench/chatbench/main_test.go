package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/bench/internal/baseline"
	"github.com/chatd/chatd/bench/internal/load"
	"github.com/chatd/chatd/bench/internal/procs"
)

// TestMain lets -procs re-execute the test binary as a chatbench child.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func startBaseline(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- baseline.Serve(ln) }()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(t.Context(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// schemaFields are the documented keys of -json output (bench/README.md).
var schemaFields = []string{
	"schema", "mode", "addr", "procs", "conns", "connected", "connect_errors", "connect_s", "conns_per_s",
	"size", "warmup_s", "duration_s", "msgs", "bytes", "msgs_per_s", "mib_per_s", "latency_us", "histogram",
	"verify_failures", "io_errors", "answering", "answering_end", "rss_before_kib", "rss_after_kib",
	"rss_per_conn_kib", "interrupted", "errors", "ok",
}

func parseJSON(t *testing.T, out string) load.Result {
	t.Helper()
	if strings.Count(out, "\n") != 1 {
		t.Fatalf("want one line of JSON, got %q", out)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	for _, k := range schemaFields {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	for k := range m {
		if !contains(schemaFields, k) {
			t.Errorf("JSON has undocumented field %q", k)
		}
	}
	lat, _ := m["latency_us"].(map[string]any)
	for _, k := range []string{"count", "min", "mean", "p50", "p90", "p99", "p999", "max"} {
		if _, ok := lat[k]; !ok {
			t.Errorf("latency_us lacks %q", k)
		}
	}
	var r load.Result
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

func TestRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{"10.0.0.1:5606", "192.168.1.10:5606", "8.8.8.8:53", "example.com:80", "[::]:5606", ":5606"} {
		code, out, errs := runCLI(t, "-addr", addr, "-d", "1s")
		if code != 2 || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, "refusing") {
			t.Errorf("-addr %s: code %d, stdout %q, stderr %q", addr, code, out, errs)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-mode", "flood"},
		{"-c", "0"},
		{"-size", "0"},
		{"-d", "0s"},
		{"-procs", "3", "-c", "2"},
		{"-nonsense"},
		{"extra"},
	} {
		if code, _, errs := runCLI(t, args...); code != 2 || errs == "" {
			t.Errorf("%q: code %d, stderr %q", args, code, errs)
		}
	}
}

func TestPingPongJSON(t *testing.T) {
	addr := startBaseline(t)
	code, out, errs := runCLI(t, "-addr", addr, "-c", "4", "-d", "200ms", "-warmup", "50ms", "-size", "64", "-json")
	if code != 0 {
		t.Fatalf("code %d, stderr %q, stdout %q", code, errs, out)
	}
	r := parseJSON(t, out)
	if !r.OK || r.Schema != load.Schema || r.Mode != "pingpong" || r.Msgs == 0 || r.Latency.Count != r.Msgs || r.Conns != 4 {
		t.Errorf("result %+v", r)
	}
}

func TestTextOutput(t *testing.T) {
	addr := startBaseline(t)
	code, out, _ := runCLI(t, "-addr", addr, "-c", "2", "-d", "100ms", "-warmup", "0s")
	if code != 0 || !strings.Contains(out, "msgs/s") || !strings.Contains(out, "p99") || !strings.HasSuffix(out, "OK\n") {
		t.Errorf("code %d, output:\n%s", code, out)
	}
}

func TestWrongRepliesExitNonZero(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 64)
				for {
					if _, err := io.ReadFull(c, buf); err != nil {
						return
					}
					// Forgets to uppercase the first byte.
					baseline.Upper(buf[1:])
					if _, err := c.Write(buf); err != nil {
						return
					}
				}
			}()
		}
	}()
	code, out, _ := runCLI(t, "-addr", ln.Addr().String(), "-c", "2", "-d", "100ms", "-warmup", "0s", "-json")
	r := parseJSON(t, out)
	if code != 1 || r.OK || r.VerifyFailures == 0 {
		t.Errorf("code %d, ok %v, verify failures %d", code, r.OK, r.VerifyFailures)
	}
}

func TestProcsHold(t *testing.T) {
	addr := startBaseline(t)
	code, out, errs := runCLI(t, "-addr", addr, "-mode", "hold", "-c", "50", "-procs", "2", "-d", "100ms",
		"-pid", strconv.Itoa(os.Getpid()), "-json")
	if code != 0 {
		t.Fatalf("code %d, stderr %q, stdout %q", code, errs, out)
	}
	r := parseJSON(t, out)
	if !r.OK || r.Procs != 2 || r.Conns != 50 || r.Connected != 50 || r.Answering != 50 || r.AnsweringEnd != 50 {
		t.Errorf("result %+v", r)
	}
	if r.RSSBeforeKiB <= 0 || r.RSSAfterKiB <= 0 {
		t.Errorf("rss before %d after %d", r.RSSBeforeKiB, r.RSSAfterKiB)
	}
}

func TestProcsPingPong(t *testing.T) {
	addr := startBaseline(t)
	code, out, errs := runCLI(t, "-addr", addr, "-c", "5", "-procs", "2", "-d", "200ms", "-warmup", "0s", "-json")
	if code != 0 {
		t.Fatalf("code %d, stderr %q, stdout %q", code, errs, out)
	}
	r := parseJSON(t, out)
	if !r.OK || r.Procs != 2 || r.Connected != 5 || r.Msgs == 0 || r.Latency.Count != r.Msgs {
		t.Errorf("result %+v", r)
	}
}

func TestTooManyConnsForOneProcess(t *testing.T) {
	code, _, errs := runCLI(t, "-addr", "127.0.0.1:1", "-mode", "hold", "-c", "1000000", "-procs", "1")
	if code != 2 || !strings.Contains(errs, "-procs") {
		t.Errorf("code %d, stderr %q", code, errs)
	}
}

// TestProcsAllReadyHook checks the hook bench/compare uses: it runs while
// every child holds its connections, and its error ends the run.
func TestProcsAllReadyHook(t *testing.T) {
	addr := startBaseline(t)
	spec := procs.Spec{Exe: os.Args[0], Mode: load.ModeHold, Procs: 2, Stderr: io.Discard,
		Config: load.Config{Addr: addr, Conns: 20, Duration: 50 * time.Millisecond, DialConcurrency: 8,
			DialTimeout: 5 * time.Second, IOTimeout: 5 * time.Second, SpreadSource: true}}
	calls := 0
	spec.AllReady = func(ctx context.Context) error {
		calls++
		// The held connections are all up: a ping-pong beside them works.
		r, err := load.PingPong(ctx, load.Config{Addr: addr, Conns: 2, Duration: 50 * time.Millisecond})
		if err != nil || !r.OK {
			t.Errorf("ping-pong beside the hold: %+v, %v", r, err)
		}
		return nil
	}
	r, err := procs.Run(t.Context(), spec)
	if err != nil || calls != 1 || !r.OK || r.Answering != 20 || r.AnsweringEnd != 20 || r.Procs != 2 {
		t.Fatalf("calls %d, err %v, result %+v", calls, err, r)
	}

	boom := errors.New("boom")
	spec.AllReady = func(context.Context) error { return boom }
	start := time.Now()
	if _, err := procs.Run(t.Context(), spec); !errors.Is(err, boom) {
		t.Fatalf("err %v, want the hook's", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("a failed hook took %v to end the run", d)
	}
}
