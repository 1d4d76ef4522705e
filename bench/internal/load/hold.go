package load

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// holdProbeMax caps Hold's probe message size.
const holdProbeMax = 64

// Hold opens cfg.Conns connections (cfg.DialConcurrency at a time, spread
// over source addresses when cfg.SpreadSource), checks that every one
// answers a short message correctly, reads the server's RSS (cfg.PID > 0)
// before dialling and once all answered, holds the connections for
// cfg.Duration (or until ctx ends), checks them once more unless
// interrupted, and closes them.
//
// The error is non-nil for a bad Config, an unreadable RSS before the run,
// or a failing Ready; problems with the server are counted in the Result.
func Hold(ctx context.Context, cfg Config) (Result, error) {
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
	res := Result{Mode: ModeHold, Addr: cfg.Addr, Conns: cfg.Conns, Size: min(cfg.Size, holdProbeMax),
		RSSBeforeKiB: -1, RSSAfterKiB: -1}
	if cfg.PID > 0 {
		if res.RSSBeforeKiB, err = ReadRSS(cfg.PID); err != nil {
			return Result{}, fmt.Errorf("server RSS: %w", err)
		}
	}
	p := newPool(res.Size, seed)
	errs := &errLog{}
	var connected, connectErrors, answered, verifyFailures, ioErrors atomic.Int64
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
				cfg.Progress(Progress{Phase: phase.Load().(string), Elapsed: time.Since(began), Conns: cfg.Conns,
					Connected: connected.Load(), ConnectErrors: connectErrors.Load(), Msgs: answered.Load(),
					VerifyFailures: verifyFailures.Load(), IOErrors: ioErrors.Load()})
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

	pr := prober{cfg: cfg, p: p, rng: rand.New(rand.NewPCG(seed, 1)), errs: errs,
		answered: &answered, verifyFailures: &verifyFailures, ioErrors: &ioErrors}
	h := newHist()
	if ctx.Err() == nil {
		phase.Store("probe")
		res.Answering = pr.probeAll(ctx, conns, h, "after connect")
	}
	if cfg.PID > 0 {
		if rss, err := ReadRSS(cfg.PID); err != nil {
			errs.add("server RSS after connect: %v", err)
		} else {
			res.RSSAfterKiB = rss
		}
	}
	if ctx.Err() == nil && cfg.Ready != nil {
		if err := cfg.Ready(ctx, res); err != nil && ctx.Err() == nil {
			return res, err
		}
	}

	phase.Store("hold")
	held := time.Now()
	t := time.NewTimer(cfg.Duration)
	select {
	case <-t.C:
	case <-ctx.Done():
		t.Stop()
	}
	res.DurationSeconds = time.Since(held).Seconds()
	res.Interrupted = ctx.Err() != nil
	if !res.Interrupted {
		phase.Store("probe")
		res.AnsweringEnd = pr.probeAll(ctx, conns, nil, "after holding")
	}
	phase.Store("close")
	res.VerifyFailures = verifyFailures.Load()
	res.IOErrors = ioErrors.Load()
	res.Errors = errs.list()
	res.finish(h)
	return res, nil
}

// prober checks that connections answer.
type prober struct {
	cfg                                Config
	p                                  *pool
	mu                                 sync.Mutex // guards rng
	rng                                *rand.Rand
	errs                               *errLog
	answered, verifyFailures, ioErrors *atomic.Int64
}

// probeAll sends one message on every open connection, DialConcurrency at a
// time, and returns how many answered correctly. A connection that fails
// is closed and set to nil. Latencies go into h when it is not nil.
func (pr *prober) probeAll(ctx context.Context, conns []*net.TCPConn, h *hdrhistogram.Histogram, when string) int {
	var next, ok atomic.Int64
	var hmu sync.Mutex
	var wg sync.WaitGroup
	for range min(pr.cfg.DialConcurrency, len(conns)) {
		wg.Go(func() {
			rbuf := make([]byte, pr.p.size)
			for {
				i := int(next.Add(1) - 1)
				if i >= len(conns) || ctx.Err() != nil {
					return
				}
				c := conns[i]
				if c == nil {
					continue
				}
				pr.mu.Lock()
				off := pr.rng.IntN(poolSlack + 1)
				pr.mu.Unlock()
				rtt, good := pr.probe(c, i, off, rbuf, when)
				if !good {
					c.Close()
					conns[i] = nil
					continue
				}
				ok.Add(1)
				pr.answered.Add(1)
				if h != nil {
					hmu.Lock()
					recordUS(h, rtt)
					hmu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return int(ok.Load())
}

func (pr *prober) probe(c *net.TCPConn, i, off int, rbuf []byte, when string) (time.Duration, bool) {
	msg, want := pr.p.at(off)
	t0 := time.Now()
	c.SetDeadline(t0.Add(pr.cfg.IOTimeout))
	defer c.SetDeadline(time.Time{})
	_, err := c.Write(msg)
	if err == nil {
		_, err = io.ReadFull(c, rbuf)
	}
	rtt := time.Since(t0)
	if err != nil {
		pr.ioErrors.Add(1)
		pr.errs.add("conn %d %s: %v", i, when, err)
		return rtt, false
	}
	if !bytes.Equal(rbuf, want) {
		pr.verifyFailures.Add(1)
		pr.errs.add("conn %d %s: %s", i, when, describeMismatch(rbuf, want))
		return rtt, false
	}
	return rtt, true
}
