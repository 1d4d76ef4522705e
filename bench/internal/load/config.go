// Package load drives chatd-style uppercase echo servers for benchmarks.
//
// Two workloads exist, each a single call that returns a Result:
//
//   - PingPong: Conns connections each send a message and wait for its full
//     uppercase reply before sending the next (a closed loop), verifying every
//     reply byte for byte; latency goes into HdrHistograms.
//   - Hold: Conns connections are opened (spread over source addresses in
//     127.0.0.0/8), each is checked to answer, the server's RSS is read, and
//     they are held open for Duration.
//
// Only loopback targets are accepted (127.0.0.0/8 and ::1). Every loop is
// bounded in count and time: dials by DialTimeout, replies by IOTimeout past
// the end of the run, and the run itself by Warmup+Duration.
package load

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Modes, as used on the command line and in Result.Mode.
const (
	ModePingPong = "pingpong"
	ModeHold     = "hold"
)

// Config describes one run. Zero fields take the defaults listed.
type Config struct {
	// Addr is the server's host:port; the host must be an IP literal in
	// 127.0.0.0/8 or ::1, or "localhost".
	Addr string
	// Conns is the number of connections (default 1).
	Conns int
	// Duration is the measured window (PingPong) or how long connections
	// are held (Hold). Default 5s.
	Duration time.Duration
	// Warmup is traffic before the measured window (PingPong only); it is
	// verified but not counted. Zero means none.
	Warmup time.Duration
	// Size is the message length in bytes (default 64). Hold uses
	// min(Size, 64) for its probe messages.
	Size int
	// PID is the server's process id; when > 0, Hold reads its VmRSS before
	// connecting and once all connections answer.
	PID int
	// DialConcurrency bounds dials (and Hold's probes) in flight (default 128).
	DialConcurrency int
	// DialTimeout bounds one dial (default 5s).
	DialTimeout time.Duration
	// IOTimeout bounds waiting for a reply: in PingPong past the end of the
	// window, in Hold per probe (default 10s).
	IOTimeout time.Duration
	// SpreadSource binds each connection's local address to a different
	// 127.x.y.z (IPv4 targets only), so ephemeral ports never run out.
	SpreadSource bool
	// SourceOffset shifts the first source address, so that several
	// processes spreading at once use different ones.
	SourceOffset int
	// Seed seeds the payloads; 0 picks one at random.
	Seed uint64

	// Ready, when set, is called once all connections are dialled (and, in
	// Hold, have answered), before the measured window or the hold starts.
	// It may block, e.g. to start several processes in step; an error
	// aborts the run, unless ctx has ended too, which makes the run an
	// interrupted one. r holds what is known so far.
	Ready func(ctx context.Context, r Result) error
	// Progress, when set, is called every ProgressInterval (default 1s)
	// from a separate goroutine while the run lasts.
	Progress         func(Progress)
	ProgressInterval time.Duration
}

// Progress is a running count, for progress lines.
type Progress struct {
	Phase          string // "dial", "probe", "warmup", "run", "hold", "close"
	Elapsed        time.Duration
	Conns          int
	Connected      int64
	ConnectErrors  int64
	Msgs           int64 // round trips so far, warmup included
	VerifyFailures int64
	IOErrors       int64
}

// ErrNotLoopback is returned for a target outside 127.0.0.0/8 and ::1.
var ErrNotLoopback = errors.New("not a loopback address")

const (
	defaultConns       = 1
	defaultDuration    = 5 * time.Second
	defaultSize        = 64
	defaultDialConc    = 128
	defaultDialTimeout = 5 * time.Second
	defaultIOTimeout   = 10 * time.Second
	maxSize            = 64 << 20
	maxConns           = 1 << 20
)

func (c Config) withDefaults() (Config, error) {
	if err := CheckLoopback(c.Addr); err != nil {
		return c, err
	}
	if c.Conns == 0 {
		c.Conns = defaultConns
	}
	if c.Duration == 0 {
		c.Duration = defaultDuration
	}
	if c.Size == 0 {
		c.Size = defaultSize
	}
	if c.DialConcurrency == 0 {
		c.DialConcurrency = defaultDialConc
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = defaultDialTimeout
	}
	if c.IOTimeout == 0 {
		c.IOTimeout = defaultIOTimeout
	}
	if c.ProgressInterval == 0 {
		c.ProgressInterval = time.Second
	}
	switch {
	case c.Conns < 0 || c.Conns > maxConns:
		return c, fmt.Errorf("connections %d out of range 1..%d", c.Conns, maxConns)
	case c.Size < 0 || c.Size > maxSize:
		return c, fmt.Errorf("size %d out of range 1..%d", c.Size, maxSize)
	case c.Duration < 0 || c.Warmup < 0:
		return c, errors.New("negative duration")
	case c.DialConcurrency < 0 || c.DialTimeout < 0 || c.IOTimeout < 0 || c.ProgressInterval < 0:
		return c, errors.New("negative dial concurrency or timeout")
	}
	return c, nil
}
