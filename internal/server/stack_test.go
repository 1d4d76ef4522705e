package server

import (
	"net"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"
)

// TestIdleConnectionStackStaysSmall guards idle memory: a connection that
// has connected, been answered once and gone idle must keep its goroutine
// on the smallest stack (2 KiB) — idle cost is dominated by the stack.
// Everything the connection's goroutine runs must fit in it, and the depth
// it parks at must keep the runtime's adaptive starting stack size at the
// minimum.
func TestIdleConnectionStackStaysSmall(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector enlarges stacks")
	}
	if testing.Short() {
		t.Skip("opens 2000 connections")
	}
	const warm, n = 500, 2000
	st := defaultSettings()
	st.MaxClients = warm + n
	ts := startServer(t, st)
	conns := make([]net.Conn, 0, warm+n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	connect := func(k int) {
		for range k {
			c, err := net.DialTimeout("tcp", ts.addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
			mustWrite(t, c, "ping")
			if got := readN(t, c, 4); got != "PING" {
				t.Fatalf("got %q", got)
			}
		}
		ts.waitClients(t, len(conns))
	}
	// The runtime sizes new stacks from the goroutines the last
	// collection saw; with only the test's own goroutines (or those of a
	// previous test) that says nothing about idle connections. A server
	// holding clients sees mostly them.
	connect(warm)
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	connect(n)
	// Two collections: the first measures the parked depth and sets the
	// starting size, the second may shrink stacks that grew.
	runtime.GC()
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	perConn := float64(after.StackInuse-before.StackInuse) / n
	s := []metrics.Sample{{Name: "/gc/stack/starting-size:bytes"}}
	metrics.Read(s)
	start := s[0].Value.Uint64()
	t.Logf("stack per idle connection %.0f B; starting stack size %d B (stack in use %d -> %d, goroutines %d)", perConn, start, before.StackInuse, after.StackInuse, runtime.NumGoroutine())
	if start > 2048 {
		t.Errorf("starting stack size %d B: idle connections park too deep", start)
	}
	if perConn > 2300 {
		t.Errorf("%.0f B of stack per idle connection, want about 2 KiB", perConn)
	}
}
