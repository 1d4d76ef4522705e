package load

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatd/chatd/bench/internal/baseline"
)

// serve runs handler for every connection accepted on a fresh loopback
// listener until the test ends, and returns the listener's address.
func serve(t *testing.T, handler func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() {
				defer c.Close()
				handler(c)
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// serveBaseline runs the real baseline server in-process.
func serveBaseline(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- baseline.Serve(ln) }()
	t.Cleanup(func() {
		ln.Close()
		if err := <-done; err != nil {
			t.Errorf("baseline.Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

// corrupter answers whole messages of size bytes with their uppercase form,
// but replaces one byte of every nth reply; corrupted counts them.
func corrupter(size, nth int, corrupted *atomic.Int64) func(net.Conn) {
	return func(c net.Conn) {
		buf := make([]byte, size)
		for k := 1; ; k++ {
			if _, err := io.ReadFull(c, buf); err != nil {
				return
			}
			baseline.Upper(buf)
			if k%nth == 0 {
				buf[k%size] = '#'
				corrupted.Add(1)
			}
			if _, err := c.Write(buf); err != nil {
				return
			}
		}
	}
}

func checkSane(t *testing.T, r Result, size int) {
	t.Helper()
	if r.Schema != Schema || r.Mode != ModePingPong || r.Procs != 1 {
		t.Errorf("schema/mode/procs = %q/%q/%d", r.Schema, r.Mode, r.Procs)
	}
	if r.Msgs <= 0 {
		t.Fatalf("no messages counted: %+v", r)
	}
	if r.Bytes != r.Msgs*int64(size) {
		t.Errorf("bytes %d != msgs %d × size %d", r.Bytes, r.Msgs, size)
	}
	if r.DurationSeconds <= 0 || r.MsgsPerSec <= 0 || r.MiBPerSec <= 0 {
		t.Errorf("rates: duration %v msgs/s %v MiB/s %v", r.DurationSeconds, r.MsgsPerSec, r.MiBPerSec)
	}
	if got := float64(r.Msgs) / r.DurationSeconds; got < r.MsgsPerSec*0.99 || got > r.MsgsPerSec*1.01 {
		t.Errorf("msgs/s %v, but msgs/duration = %v", r.MsgsPerSec, got)
	}
	l := r.Latency
	if l.Count != r.Msgs {
		t.Errorf("latency count %d != msgs %d", l.Count, r.Msgs)
	}
	if !(1 <= l.Min && l.Min <= l.P50 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.P999 && l.P999 <= l.Max) {
		t.Errorf("latency not ordered: %+v", l)
	}
	if l.Mean < float64(l.Min) || l.Mean > float64(l.Max) {
		t.Errorf("mean %v outside [min, max]: %+v", l.Mean, l)
	}
	h, err := r.DecodeHistogram()
	if err != nil {
		t.Fatal(err)
	}
	if h.TotalCount() != r.Msgs {
		t.Errorf("histogram holds %d values, want %d", h.TotalCount(), r.Msgs)
	}
}

func TestPingPongCorrectServer(t *testing.T) {
	addr := serveBaseline(t)
	var calls atomic.Int64
	r, err := PingPong(t.Context(), Config{Addr: addr, Conns: 8, Duration: 300 * time.Millisecond,
		Warmup: 100 * time.Millisecond, Size: 64, Progress: func(Progress) { calls.Add(1) },
		ProgressInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK || r.VerifyFailures != 0 || r.IOErrors != 0 || r.ConnectErrors != 0 || r.Connected != 8 || len(r.Errors) != 0 {
		t.Fatalf("run not clean: %+v", r)
	}
	checkSane(t, r, 64)
	if r.WarmupSeconds < 0.099 || r.DurationSeconds < 0.299 || r.DurationSeconds > 0.301 {
		t.Errorf("warmup %v s, window %v s", r.WarmupSeconds, r.DurationSeconds)
	}
	if calls.Load() == 0 {
		t.Error("progress never reported")
	}
}

func TestPingPongCountsCorruption(t *testing.T) {
	const size = 100
	var corrupted atomic.Int64
	addr := serve(t, corrupter(size, 7, &corrupted))
	r, err := PingPong(t.Context(), Config{Addr: addr, Conns: 4, Duration: 300 * time.Millisecond, Size: size})
	if err != nil {
		t.Fatal(err)
	}
	if r.OK {
		t.Error("run with wrong replies reported OK")
	}
	// Every corrupted reply was read and must have been caught, once.
	if r.VerifyFailures == 0 || r.VerifyFailures != corrupted.Load() {
		t.Errorf("verify failures %d, server corrupted %d replies", r.VerifyFailures, corrupted.Load())
	}
	if r.IOErrors != 0 {
		t.Errorf("io errors %d: %v", r.IOErrors, r.Errors)
	}
	if len(r.Errors) == 0 || !strings.Contains(r.Errors[0], "wrong reply at byte") || !strings.Contains(r.Errors[0], "#") {
		t.Errorf("errors %q do not describe the mismatch", r.Errors)
	}
	// Good replies still count; bad ones never do.
	checkSane(t, r, size)
}

func TestPingPongLargeMessages(t *testing.T) {
	addr := serveBaseline(t)
	const size = 1 << 20
	r, err := PingPong(t.Context(), Config{Addr: addr, Conns: 2, Duration: 300 * time.Millisecond, Size: size,
		IOTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK {
		t.Fatalf("large messages failed: %+v", r)
	}
	checkSane(t, r, size)
}

func TestPingPongServerClosesConnection(t *testing.T) {
	addr := serve(t, func(c net.Conn) {
		buf := make([]byte, 10)
		for range 3 {
			if _, err := io.ReadFull(c, buf); err != nil {
				return
			}
			baseline.Upper(buf)
			c.Write(buf)
		}
	})
	r, err := PingPong(t.Context(), Config{Addr: addr, Conns: 3, Duration: 2 * time.Second, Size: 10})
	if err != nil {
		t.Fatal(err)
	}
	if r.OK || r.IOErrors != 3 || r.Msgs != 9 {
		t.Errorf("io errors %d, msgs %d, ok %v; want 3, 9, false", r.IOErrors, r.Msgs, r.OK)
	}
	if len(r.Errors) == 0 || !strings.Contains(r.Errors[0], "closed") {
		t.Errorf("errors %q", r.Errors)
	}
}

func TestPingPongNoReplyIsBounded(t *testing.T) {
	addr := serve(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	start := time.Now()
	r, err := PingPong(t.Context(), Config{Addr: addr, Conns: 2, Duration: 100 * time.Millisecond, Size: 10,
		IOTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %v", took)
	}
	if r.OK || r.IOErrors != 2 || r.Msgs != 0 {
		t.Errorf("io errors %d, msgs %d, ok %v", r.IOErrors, r.Msgs, r.OK)
	}
	if len(r.Errors) == 0 || !strings.Contains(r.Errors[0], "no reply") {
		t.Errorf("errors %q", r.Errors)
	}
}

func TestPingPongInterrupted(t *testing.T) {
	addr := serveBaseline(t)
	ctx, cancel := context.WithCancel(t.Context())
	var once sync.Once
	r, err := PingPong(ctx, Config{Addr: addr, Conns: 2, Duration: time.Minute, Size: 64,
		ProgressInterval: 20 * time.Millisecond,
		Progress: func(p Progress) {
			if p.Msgs > 100 {
				once.Do(cancel)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Interrupted || r.DurationSeconds >= 60 || r.IOErrors != 0 || r.VerifyFailures != 0 {
		t.Errorf("interrupted %v, duration %v, io errors %d, verify %d", r.Interrupted, r.DurationSeconds, r.IOErrors, r.VerifyFailures)
	}
}

func TestConnectErrorsCounted(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	for _, f := range []func(context.Context, Config) (Result, error){PingPong, Hold} {
		r, err := f(t.Context(), Config{Addr: addr, Conns: 5, Duration: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if r.OK || r.ConnectErrors != 5 || r.Connected != 0 || len(r.Errors) == 0 {
			t.Errorf("%s: connect errors %d, connected %d, ok %v, errors %q", r.Mode, r.ConnectErrors, r.Connected, r.OK, r.Errors)
		}
	}
}

func TestHoldAgainstBaseline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rl := &recordingListener{Listener: ln, sources: map[string]bool{}}
	done := make(chan error, 1)
	go func() { done <- baseline.Serve(rl) }()
	t.Cleanup(func() { ln.Close(); <-done })

	const n = 50
	readyCalled := false
	r, err := Hold(t.Context(), Config{Addr: ln.Addr().String(), Conns: n, Duration: 100 * time.Millisecond,
		PID: os.Getpid(), SpreadSource: true, DialConcurrency: 8,
		Ready: func(_ context.Context, r Result) error {
			readyCalled = true
			if r.Answering != n {
				t.Errorf("ready with %d answering", r.Answering)
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK || r.Connected != n || r.Answering != n || r.AnsweringEnd != n || r.Interrupted {
		t.Fatalf("hold not clean: %+v", r)
	}
	if !readyCalled {
		t.Error("Ready not called")
	}
	if r.RSSBeforeKiB <= 0 || r.RSSAfterKiB <= 0 {
		t.Errorf("rss before %d after %d", r.RSSBeforeKiB, r.RSSAfterKiB)
	}
	if r.ConnsPerSec <= 0 || r.DurationSeconds < 0.1 || r.Latency.Count != n {
		t.Errorf("conns/s %v, held %v s, probes %d", r.ConnsPerSec, r.DurationSeconds, r.Latency.Count)
	}
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if len(rl.sources) != n {
		t.Errorf("connections came from %d source addresses, want %d: %v", len(rl.sources), n, rl.sources)
	}
	for s := range rl.sources {
		if !strings.HasPrefix(s, "127.1.") {
			t.Errorf("source %s not in 127.1.0.0/16", s)
		}
	}
}

type recordingListener struct {
	net.Listener
	mu      sync.Mutex
	sources map[string]bool
}

func (l *recordingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.mu.Lock()
		l.sources[c.RemoteAddr().(*net.TCPAddr).IP.String()] = true
		l.mu.Unlock()
	}
	return c, err
}

func TestHoldCatchesWrongReplies(t *testing.T) {
	var corrupted atomic.Int64
	addr := serve(t, corrupter(holdProbeMax, 1, &corrupted))
	r, err := Hold(t.Context(), Config{Addr: addr, Conns: 5, Duration: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if r.OK || r.Answering != 0 || r.VerifyFailures != 5 {
		t.Errorf("ok %v, answering %d, verify failures %d", r.OK, r.Answering, r.VerifyFailures)
	}
}

func TestHoldInterrupted(t *testing.T) {
	addr := serveBaseline(t)
	ctx, cancel := context.WithCancel(t.Context())
	start := time.Now()
	r, err := Hold(ctx, Config{Addr: addr, Conns: 3, Duration: time.Hour,
		Ready: func(context.Context, Result) error { cancel(); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %v", took)
	}
	if !r.Interrupted || !r.OK || r.Answering != 3 {
		t.Errorf("interrupted %v ok %v answering %d", r.Interrupted, r.OK, r.Answering)
	}
}

func TestReadyErrorAborts(t *testing.T) {
	addr := serveBaseline(t)
	boom := errors.New("boom")
	for _, f := range []func(context.Context, Config) (Result, error){PingPong, Hold} {
		_, err := f(t.Context(), Config{Addr: addr, Conns: 1, Duration: time.Hour,
			Ready: func(context.Context, Result) error { return boom }})
		if !errors.Is(err, boom) {
			t.Errorf("err = %v, want boom", err)
		}
	}
}

func TestCheckLoopback(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:5606":        true,
		"127.3.4.5:1":           true,
		"[::1]:5606":            true,
		"[::ffff:127.0.0.1]:80": true,
		"localhost:5606":        true,
		"10.0.0.1:5606":         false,
		"192.168.1.1:5606":      false,
		"8.8.8.8:53":            false,
		"[::]:5606":             false,
		"0.0.0.0:5606":          false,
		":5606":                 false,
		"example.com:80":        false,
		"[fe80::1%lo]:80":       false,
		"127.0.0.1":             false,
		"127.0.0.1:0":           false,
		"127.0.0.1:x":           false,
	} {
		err := CheckLoopback(addr)
		if (err == nil) != ok {
			t.Errorf("CheckLoopback(%q) = %v, want ok=%v", addr, err, ok)
		}
	}
	if err := CheckLoopback("10.1.2.3:80"); !errors.Is(err, ErrNotLoopback) {
		t.Errorf("err %v does not wrap ErrNotLoopback", err)
	}
	for _, f := range []func(context.Context, Config) (Result, error){PingPong, Hold} {
		if _, err := f(t.Context(), Config{Addr: "10.1.2.3:80"}); !errors.Is(err, ErrNotLoopback) {
			t.Errorf("run against 10.1.2.3 gave %v", err)
		}
	}
}

func TestPoolHasNoCloseLetters(t *testing.T) {
	p := newPool(1000, 42)
	if strings.ContainsAny(string(p.msg), "cC") || strings.ContainsAny(string(p.want), "abcdefghijklmnopqrstuvwxyz") {
		t.Error("pool contains c/C, or its expected reply contains lowercase")
	}
	if strings.ToUpper(string(p.msg)) != string(p.want) {
		t.Error("expected reply is not the uppercase of the message")
	}
}

func TestMergeAndJSON(t *testing.T) {
	addr := serveBaseline(t)
	var rs []Result
	for range 2 {
		r, err := PingPong(t.Context(), Config{Addr: addr, Conns: 2, Duration: 100 * time.Millisecond, Size: 32})
		if err != nil {
			t.Fatal(err)
		}
		var sb strings.Builder
		if err := r.WriteJSON(&sb); err != nil {
			t.Fatal(err)
		}
		var back Result
		if err := json.Unmarshal([]byte(sb.String()), &back); err != nil {
			t.Fatal(err)
		}
		rs = append(rs, back)
	}
	m, err := Merge(rs)
	if err != nil {
		t.Fatal(err)
	}
	if m.Procs != 2 || m.Conns != 4 || m.Msgs != rs[0].Msgs+rs[1].Msgs || m.Latency.Count != m.Msgs || !m.OK {
		t.Errorf("merged: %+v", m)
	}
	if m.Latency.Max != max(rs[0].Latency.Max, rs[1].Latency.Max) {
		t.Errorf("merged max %d from %d and %d", m.Latency.Max, rs[0].Latency.Max, rs[1].Latency.Max)
	}
	if _, err := Merge([]Result{{Mode: ModeHold}, {Mode: ModePingPong}}); err == nil {
		t.Error("merged mixed modes")
	}
}

func TestReadRSS(t *testing.T) {
	kib, err := ReadRSS(os.Getpid())
	if err != nil || kib <= 0 {
		t.Errorf("ReadRSS(self) = %d, %v", kib, err)
	}
	if _, err := ReadRSS(1 << 30); err == nil {
		t.Error("ReadRSS of a missing process succeeded")
	}
}

func TestRaiseNoFile(t *testing.T) {
	if lim, err := RaiseNoFile(); err != nil || lim == 0 {
		t.Errorf("RaiseNoFile = %d, %v", lim, err)
	}
}

func TestInterruptedWhileReady(t *testing.T) {
	addr := serveBaseline(t)
	for _, f := range []func(context.Context, Config) (Result, error){PingPong, Hold} {
		ctx, cancel := context.WithCancel(t.Context())
		r, err := f(ctx, Config{Addr: addr, Conns: 2, Duration: time.Hour,
			Ready: func(ctx context.Context, _ Result) error { cancel(); <-ctx.Done(); return ctx.Err() }})
		if err != nil || !r.Interrupted || !r.OK {
			t.Errorf("%s: err %v, interrupted %v, ok %v", r.Mode, err, r.Interrupted, r.OK)
		}
	}
}
