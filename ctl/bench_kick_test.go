package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/testbin"
)

// BenchmarkKickAll times `chatctl kick --all --yes` against the release
// chatd with 15,000 connected clients, 20 of which do not read: their
// receive windows are full, so chatd cannot deliver their notice and must
// give up on them after its notice timeout. The target is under 3 s.
// Every iteration connects a fresh set of clients (not timed):
//
//	go test -run '^$' -bench BenchmarkKickAll -benchtime 3x ./ctl/
func BenchmarkKickAll(b *testing.B) {
	const clients, notReading = 15000, 20
	d := testbin.StartChatd(b, testbin.Options{Binary: "chatd-release",
		Config: "max_clients: 16000\nlog:\n  level: info\n  format: json\n"})
	var closing int
	var total time.Duration
	for range b.N {
		b.StopTimer()
		conns := connectMany(b, d.Addr, clients-notReading)
		stuck := stuckClients(b, d.Addr, notReading)
		waitConnected(b, d, clients)
		b.StartTimer()
		start := time.Now()
		r := ctlBench(b, "--socket", d.Socket, "kick", "--all", "--yes")
		elapsed := time.Since(start)
		b.StopTimer()
		if r.code != 0 {
			b.Fatalf("kick --all: exit %d: %s", r.code, r.stderr)
		}
		if n := strings.Count(r.stdout, "kicked client "); n != clients {
			b.Fatalf("kick --all reported %d clients, want %d", n, clients)
		}
		closing += strings.Count(r.stdout, "(still closing)")
		total += elapsed
		for _, c := range append(conns, stuck...) {
			c.Close()
		}
		waitConnected(b, d, 0)
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/kick-all")
	b.ReportMetric(float64(closing)/float64(b.N), "still-closing/op")
}

// connectMany opens n chat connections, each answered once, from a few
// dialers at a time.
func connectMany(b testing.TB, addr string, n int) []net.Conn {
	b.Helper()
	conns := make([]net.Conn, n)
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	const workers = 32
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				c, err := net.DialTimeout("tcp", addr, 10*time.Second)
				if err == nil {
					_, err = c.Write([]byte("hi"))
				}
				if err == nil {
					_, err = testbin.ReadFull(c, 2, 10*time.Second)
				}
				if err != nil {
					select {
					case errs <- fmt.Errorf("client %d: %w", i, err):
					default:
					}
					return
				}
				conns[i] = c
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	return conns
}

// stuckClients opens n connections with a tiny receive buffer and writes
// to each until chatd's answers fill it and chatd stops reading: from
// then on nothing chatd sends, its kick notice included, gets through.
func stuckClients(b *testing.B, addr string, n int) []net.Conn {
	b.Helper()
	dialer := net.Dialer{Timeout: 10 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 2048) })
		return serr
	}}
	conns := make([]net.Conn, n)
	var wg sync.WaitGroup
	for i := range n {
		c, err := dialer.DialContext(context.Background(), "tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		conns[i] = c
		wg.Add(1)
		go func() {
			defer wg.Done()
			chunk := make([]byte, 64<<10)
			for range 1024 { // at most 64 MiB: far more than any buffers hold
				c.SetWriteDeadline(time.Now().Add(500 * time.Millisecond))
				if _, err := c.Write(chunk); err != nil {
					return // blocked: both directions are full
				}
			}
		}()
	}
	wg.Wait()
	return conns
}

// waitConnected polls chatd's status until n clients are connected.
func waitConnected(b *testing.B, d *testbin.Chatd, n int) {
	b.Helper()
	if !testbin.Poll(60*time.Second, func() bool {
		r := ctlBench(b, "--socket", d.Socket, "status")
		return r.code == 0 && strings.Contains(r.stdout, fmt.Sprintf("clients:       %d ", n))
	}) {
		b.Fatalf("never %d clients connected", n)
	}
}

// ctlBench runs the real chatctl for a benchmark.
func ctlBench(b *testing.B, args ...string) result {
	b.Helper()
	var out, errOut bytes.Buffer
	cmd := exec.Command(testbin.Path(b, "chatctl"), args...)
	cmd.Stdout, cmd.Stderr, cmd.Env = &out, &errOut, cleanEnv()
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		b.Fatalf("run chatctl: %v", err)
	}
	return result{stdout: out.String(), stderr: errOut.String(), code: code}
}
