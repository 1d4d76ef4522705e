// Command chatbench generates load against a chatd-style uppercase echo
// server on the loopback interface and verifies every reply.
//
//	chatbench -mode pingpong -c 100 -size 64 -d 10s [-json]
//	chatbench -mode hold -c 10000 -d 30s -pid $(pidof chatd) [-procs 2]
//
// Exit status: 0 when the run is OK, 1 when it found a problem (a wrong
// reply, a failed dial, a connection that broke or did not answer) or could
// not run, 2 for a usage error or a non-loopback -addr. See bench/README.md
// for the flags and the -json schema.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/chatd/chatd/bench/internal/load"
	"github.com/chatd/chatd/bench/internal/procs"
	"golang.org/x/term"
)

// childEnv marks a process started by -procs; its value is the child's index.
const childEnv = procs.ChildEnv

// fdReserve is how many descriptors a process keeps for other uses than
// connections (stdio, epoll, pipes, /proc reads).
const fdReserve = 64

// errPrinted is a usage error already reported by the flag package.
var errPrinted = errors.New("usage error")

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

type options struct {
	mode     string
	cfg      load.Config
	procs    int
	json     bool
	progress bool
}

func parse(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("chatbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: chatbench [flags]   (loopback targets only; see bench/README.md)")
		fs.PrintDefaults()
	}
	fs.StringVar(&o.cfg.Addr, "addr", "127.0.0.1:5606", "server `host:port`; must be in 127.0.0.0/8 or ::1")
	fs.StringVar(&o.mode, "mode", load.ModePingPong, "workload: pingpong or hold")
	fs.IntVar(&o.cfg.Conns, "c", 1, "connections")
	fs.DurationVar(&o.cfg.Duration, "d", 10*time.Second, "measured duration (pingpong) or hold time (hold)")
	fs.DurationVar(&o.cfg.Warmup, "warmup", time.Second, "pingpong: unmeasured (but verified) traffic before -d")
	fs.IntVar(&o.cfg.Size, "size", 64, "message bytes (hold: probe bytes, at most 64)")
	fs.IntVar(&o.cfg.PID, "pid", 0, "server `pid`, to read its RSS (hold)")
	fs.BoolVar(&o.json, "json", false, "print the result as one line of JSON")
	fs.IntVar(&o.procs, "procs", 1, "split the connections over `N` child processes (each process may hold ~19,900)")
	fs.IntVar(&o.cfg.DialConcurrency, "dial-concurrency", 128, "dials (and hold probes) in flight at once, per process")
	fs.DurationVar(&o.cfg.DialTimeout, "dial-timeout", 5*time.Second, "timeout of one dial")
	fs.DurationVar(&o.cfg.IOTimeout, "io-timeout", 10*time.Second, "how long a reply may take (pingpong: past the end of -d)")
	fs.BoolVar(&o.cfg.SpreadSource, "spread", true, "bind each connection to its own source address in 127.1.0.0/16 (IPv4 targets)")
	fs.IntVar(&o.cfg.SourceOffset, "source-offset", 0, "index of the first source address (set for -procs children)")
	var seed uint64
	fs.Uint64Var(&seed, "seed", 0, "payload seed (0: random)")
	fs.BoolVar(&o.progress, "progress", true, "show a progress line on stderr when it is a terminal")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, errPrinted // the flag package has said what is wrong
	}
	o.cfg.Seed = seed
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.mode != load.ModePingPong && o.mode != load.ModeHold {
		return o, fmt.Errorf("-mode %q: want pingpong or hold", o.mode)
	}
	switch {
	case o.cfg.Conns < 1:
		return o, errors.New("-c must be at least 1")
	case o.cfg.Size < 1:
		return o, errors.New("-size must be at least 1")
	case o.cfg.Duration <= 0:
		return o, errors.New("-d must be positive")
	case o.cfg.Warmup < 0 || o.cfg.DialTimeout <= 0 || o.cfg.IOTimeout <= 0 || o.cfg.DialConcurrency < 1:
		return o, errors.New("-warmup, -dial-timeout, -io-timeout and -dial-concurrency must be positive")
	case o.procs < 1 || o.procs > o.cfg.Conns:
		return o, fmt.Errorf("-procs %d: want 1..-c", o.procs)
	case o.procs > 64:
		return o, errors.New("-procs: at most 64")
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o, err := parse(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		if err != errPrinted {
			fmt.Fprintln(stderr, "chatbench:", err)
		}
		return 2
	}
	if err := load.CheckLoopback(o.cfg.Addr); err != nil {
		fmt.Fprintf(stderr, "chatbench: refusing -addr %q: only loopback targets (127.0.0.0/8, ::1) are allowed\n", o.cfg.Addr)
		return 2
	}
	limit, err := load.RaiseNoFile()
	if err != nil {
		fmt.Fprintln(stderr, "chatbench: raising the open-file limit:", err)
	}
	perProc := (o.cfg.Conns + o.procs - 1) / o.procs
	if limit > 0 && uint64(perProc)+fdReserve > limit {
		need := (o.cfg.Conns + int(limit) - fdReserve - 1) / (int(limit) - fdReserve)
		fmt.Fprintf(stderr, "chatbench: %d connections per process exceed the open-file limit %d; use -procs %d or more\n",
			perProc, limit, need)
		return 2
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	if idx := os.Getenv(childEnv); idx != "" {
		return runChild(ctx, o, stdin, stdout, stderr)
	}

	var res load.Result
	if o.procs > 1 {
		res, err = runProcs(ctx, o, stderr)
	} else {
		pl := newProgressLine(stderr, o.progress)
		o.cfg.Progress = pl.update
		res, err = runMode(ctx, o)
		pl.done()
	}
	if err != nil {
		fmt.Fprintln(stderr, "chatbench:", err)
		return 1
	}
	if o.json {
		if err := res.WriteJSON(stdout); err != nil {
			fmt.Fprintln(stderr, "chatbench:", err)
			return 1
		}
	} else {
		res.WriteText(stdout)
	}
	if !res.OK {
		return 1
	}
	return 0
}

func runMode(ctx context.Context, o options) (load.Result, error) {
	if o.mode == load.ModeHold {
		return load.Hold(ctx, o.cfg)
	}
	return load.PingPong(ctx, o.cfg)
}

// progressLine rewrites one line on a terminal.
type progressLine struct {
	w        io.Writer
	on       bool
	last     load.Progress
	lastAt   time.Time
	anything bool
}

func newProgressLine(w io.Writer, want bool) *progressLine {
	f, ok := w.(*os.File)
	return &progressLine{w: w, on: want && ok && term.IsTerminal(int(f.Fd()))}
}

func (p *progressLine) update(pr load.Progress) {
	if !p.on {
		return
	}
	now := time.Now()
	rate := 0.0
	if p.lastAt.IsZero() {
		if s := pr.Elapsed.Seconds(); s > 0 {
			rate = float64(pr.Msgs) / s
		}
	} else {
		if dt := now.Sub(p.lastAt).Seconds(); dt > 0 {
			rate = float64(pr.Msgs-p.last.Msgs) / dt
		}
	}
	p.last, p.lastAt, p.anything = pr, now, true
	fmt.Fprintf(p.w, "\r\033[K%-6s %6.1fs  conns %d/%d (%d failed)  msgs %d (%.0f/s)  verify-fail %d  io-err %d",
		pr.Phase, pr.Elapsed.Seconds(), pr.Connected, pr.Conns, pr.ConnectErrors, pr.Msgs, rate, pr.VerifyFailures, pr.IOErrors)
}

func (p *progressLine) done() {
	if p.on && p.anything {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
