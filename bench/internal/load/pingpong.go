package load

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// inlineWriteMax is the largest message written by the reading goroutine
// itself. Larger ones are written by a helper goroutine while the reply is
// read, since message and reply together may not fit in the socket buffers.
const inlineWriteMax = 32 << 10

// past is a deadline that has already gone by; setting it unblocks any
// read or write in progress on a connection.
var past = time.Unix(1, 0)

// PingPong runs the closed-loop workload: each connection sends a message,
// reads the len(msg)-byte reply, verifies it against the ASCII uppercase of
// the message, and sends the next, until Warmup+Duration has passed. Only
// round trips that complete inside the measured window count towards
// Msgs and latency; every reply, warmup included, is verified.
//
// The error is non-nil only for a bad Config or a failing Ready; problems
// with the server are counted in the Result.
func PingPong(ctx context.Context, cfg Config) (Result, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return Result{}, err
	}
	target, err := resolveLoopback(cfg.Addr)
	if err != nil {
		return Result{}, err
	}
	seed := cfg.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	p := newPool(cfg.Size, seed)
	res := Result{Mode: ModePingPong, Addr: cfg.Addr, Conns: cfg.Conns, Size: cfg.Size, RSSBeforeKiB: -1, RSSAfterKiB: -1}
	errs := &errLog{}
	var connected, connectErrors, ioErrors atomic.Int64
	var workers atomic.Pointer[[]*ppConn]
	var phase atomic.Value
	phase.Store("dial")

	began := time.Now()
	stopProgress := make(chan struct{})
	progressDone := make(chan struct{})
	go func() {
		defer close(progressDone)
		var report func()
		if cfg.Progress != nil {
			report = func() {
				pr := Progress{Phase: phase.Load().(string), Elapsed: time.Since(began), Conns: cfg.Conns,
					Connected: connected.Load(), ConnectErrors: connectErrors.Load(), IOErrors: ioErrors.Load()}
				if ws := workers.Load(); ws != nil {
					for _, w := range *ws {
						pr.Msgs += w.total.Load()
						pr.VerifyFailures += w.verifyFailures.Load()
					}
				}
				cfg.Progress(pr)
			}
		}
		ticker(report, cfg.ProgressInterval, stopProgress)
	}()
	defer func() {
		close(stopProgress)
		<-progressDone
	}()

	d := &dialer{target: target, cfg: cfg}
	conns := d.dialAll(ctx, &connected, &connectErrors, errs)
	defer closeAll(conns)
	res.ConnectSeconds = time.Since(began).Seconds()
	res.Connected = int(connected.Load())
	res.ConnectErrors = connectErrors.Load()
	if ctx.Err() != nil {
		res.Interrupted = true
		res.Errors = errs.list()
		res.finish(newHist())
		return res, nil
	}
	if cfg.Ready != nil {
		if err := cfg.Ready(ctx, res); err != nil && ctx.Err() == nil {
			return res, err
		}
	}
	if res.Connected == 0 {
		res.Errors = errs.list()
		res.finish(newHist())
		return res, nil
	}

	start := time.Now()
	measureStart := start.Add(cfg.Warmup)
	end := measureStart.Add(cfg.Duration)
	// Replies still owed at the end get IOTimeout to arrive.
	runCtx, cancel := context.WithDeadline(ctx, end.Add(cfg.IOTimeout))
	defer cancel()

	ws := make([]*ppConn, 0, len(conns))
	for i, c := range conns {
		if c != nil {
			ws = append(ws, &ppConn{id: i, c: c, p: p, rng: rand.New(rand.NewPCG(seed, uint64(i))),
				rbuf: make([]byte, cfg.Size), hist: newHist(), errs: errs, ioErrors: &ioErrors})
		}
	}
	workers.Store(&ws)
	phase.Store("warmup")
	if cfg.Warmup == 0 {
		phase.Store("run")
	}
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Go(func() { w.run(ctx, runCtx, measureStart, end) })
	}
	if cfg.Warmup > 0 {
		select {
		case <-time.After(time.Until(measureStart)):
			phase.Store("run")
		case <-runCtx.Done():
		}
	}
	wg.Wait()
	stopped := time.Now()

	h := newHist()
	for _, w := range ws {
		h.Merge(w.hist)
		res.Msgs += w.msgs
		res.VerifyFailures += w.verifyFailures.Load()
	}
	res.IOErrors = ioErrors.Load()
	res.Interrupted = ctx.Err() != nil
	windowEnd := end
	if res.Interrupted && stopped.Before(end) {
		windowEnd = stopped
	}
	res.WarmupSeconds = min(cfg.Warmup, windowEnd.Sub(start)).Seconds()
	res.DurationSeconds = max(0, windowEnd.Sub(measureStart)).Seconds()
	res.Errors = errs.list()
	res.finish(h)
	return res, nil
}

// ppConn is one connection of PingPong, owned by one goroutine; only the
// atomic fields are read by others while it runs.
type ppConn struct {
	id   int
	c    *net.TCPConn
	p    *pool
	rng  *rand.Rand
	rbuf []byte
	hist *hdrhistogram.Histogram
	msgs int64 // round trips completed inside the window

	total          atomic.Int64 // round trips completed, for progress
	verifyFailures atomic.Int64
	ioErrors       *atomic.Int64
	errs           *errLog
}

// run loops until end. ctx is the caller's (its end means interrupted);
// runCtx also ends IOTimeout after end.
func (w *ppConn) run(ctx, runCtx context.Context, measureStart, end time.Time) {
	stop := context.AfterFunc(runCtx, func() { w.c.SetDeadline(past) })
	defer stop()

	large := w.p.size > inlineWriteMax
	var wreq chan []byte
	var wres chan error
	if large {
		wreq, wres = make(chan []byte), make(chan error, 1)
		var wg sync.WaitGroup
		defer wg.Wait()
		defer close(wreq)
		wg.Go(func() {
			for msg := range wreq {
				_, err := w.c.Write(msg)
				if err != nil {
					w.c.SetDeadline(past) // unblock the reader
				}
				wres <- err
			}
		})
	}

	for seq := 0; ; seq++ {
		t0 := time.Now()
		if !t0.Before(end) || runCtx.Err() != nil {
			return
		}
		msg, want := w.p.at(w.rng.IntN(poolSlack + 1))
		var err error
		if large {
			wreq <- msg
			_, err = io.ReadFull(w.c, w.rbuf)
			if err != nil {
				w.c.SetDeadline(past) // unblock the writer
			}
			if werr := <-wres; err == nil {
				err = werr
			}
		} else if _, err = w.c.Write(msg); err == nil {
			_, err = io.ReadFull(w.c, w.rbuf)
		}
		t1 := time.Now()
		if err != nil {
			if ctx.Err() != nil {
				return // interrupted: not the server's fault
			}
			w.ioErrors.Add(1)
			if runCtx.Err() != nil {
				w.errs.add("conn %d msg %d: no reply within io-timeout after the end of the run", w.id, seq)
			} else if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
				w.errs.add("conn %d msg %d: server closed the connection", w.id, seq)
			} else {
				w.errs.add("conn %d msg %d: %v", w.id, seq, err)
			}
			return
		}
		w.total.Add(1)
		if !bytes.Equal(w.rbuf, want) {
			w.verifyFailures.Add(1)
			w.errs.add("conn %d msg %d: %s", w.id, seq, describeMismatch(w.rbuf, want))
			continue
		}
		if !t1.Before(measureStart) && t1.Before(end) {
			w.msgs++
			recordUS(w.hist, t1.Sub(t0))
		}
	}
}

// describeMismatch says where got first differs from want (same length).
func describeMismatch(got, want []byte) string {
	i := 0
	for i < len(got) && got[i] == want[i] {
		i++
	}
	lo, hi := max(0, i-8), min(len(got), i+8)
	return "wrong reply at byte " + itoa(i) + " of " + itoa(len(want)) +
		": got " + quote(got[lo:hi]) + " want " + quote(want[lo:hi])
}
