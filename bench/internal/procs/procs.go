// Package procs splits one chatbench workload over several chatbench
// processes, so that more connections can be opened than one process's
// open-file limit allows, and merges their results. It is the parent side
// of `chatbench -procs N`, and what bench/compare uses to hold tens of
// thousands of idle clients while it measures something else.
//
// The protocol: the parent starts N copies of the chatbench executable with
// ChildEnv set; each child runs its share of the connections and talks on
// its stdin and stdout, one line at a time:
//
//	child → parent  "ready"        all its connections are dialled (hold: and answered)
//	parent → child  "go"           once every child is ready (hold: after the parent read the server's RSS)
//	child → parent  {...}          its load.Result as JSON, last
//
// A child that cannot get ready (interrupted, say) skips "ready" and sends
// its result. A child whose stdin closes before "go" gives up.
package procs

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chatd/chatd/bench/internal/load"
)

// ChildEnv marks a process started as a child; its value is the child's
// index, from 1.
const ChildEnv = "CHATBENCH_CHILD"

// The lines of the protocol.
const (
	LineReady = "ready"
	LineGo    = "go"
)

// Spec is one split run.
type Spec struct {
	// Exe is the chatbench executable the children run.
	Exe string
	// Mode is load.ModePingPong or load.ModeHold.
	Mode string
	// Config is the whole run: Conns is split over Procs children, each
	// with its own source addresses; DialConcurrency is divided among
	// them. Ready and Progress are not passed on.
	Config load.Config
	// Procs is the number of children (at least 1).
	Procs int
	// Stderr receives the children's stderr (default os.Stderr).
	Stderr io.Writer
	// AllReady, when set, is called once every child is ready (in Hold:
	// connected and answering) and the server's RSS has been read, before
	// the children are told to go; the connections stay open, idle, while
	// it runs. An error from it ends the run (the children are
	// interrupted) and is returned.
	AllReady func(ctx context.Context) error
	// AllReadyBudget is how long AllReady may take at most; it is added to
	// the time limit of the whole run.
	AllReadyBudget time.Duration
}

// withDefaults fills what the chatbench flags would: the children are
// given every value explicitly.
func (spec Spec) withDefaults() Spec {
	c := &spec.Config
	if c.Size == 0 {
		c.Size = 64
	}
	if c.Duration == 0 {
		c.Duration = 5 * time.Second
	}
	if c.DialConcurrency == 0 {
		c.DialConcurrency = 128
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = 5 * time.Second
	}
	if c.IOTimeout == 0 {
		c.IOTimeout = 10 * time.Second
	}
	if spec.Stderr == nil {
		spec.Stderr = os.Stderr
	}
	return spec
}

// Limit is how long a split run of spec may take at most, with every phase
// of every child bounded: dials, probes, warmup, the window or hold, and a
// margin.
func Limit(spec Spec) time.Duration {
	spec = spec.withDefaults()
	c := spec.Config
	procs := max(spec.Procs, 1)
	perProc := (c.Conns + procs - 1) / procs
	conc := max(1, c.DialConcurrency/procs)
	dialRounds := (perProc + conc - 1) / conc
	return c.Warmup + c.Duration + time.Duration(dialRounds)*c.DialTimeout +
		time.Duration(2*dialRounds+2)*c.IOTimeout + time.Minute + spec.AllReadyBudget
}

// ChildArgs are the chatbench flags for child k, which runs conns
// connections starting at source address offset.
func ChildArgs(spec Spec, k, conns, offset int) []string {
	spec = spec.withDefaults()
	c := spec.Config
	procs := max(spec.Procs, 1)
	seed := c.Seed
	if seed != 0 {
		seed += uint64(k)
	}
	return []string{
		"-mode", spec.Mode,
		"-addr", c.Addr,
		"-c", strconv.Itoa(conns),
		"-d", c.Duration.String(),
		"-warmup", c.Warmup.String(),
		"-size", strconv.Itoa(c.Size),
		"-dial-concurrency", strconv.Itoa(max(1, c.DialConcurrency/procs)),
		"-dial-timeout", c.DialTimeout.String(),
		"-io-timeout", c.IOTimeout.String(),
		"-spread=" + strconv.FormatBool(c.SpreadSource),
		"-source-offset", strconv.Itoa(c.SourceOffset + offset),
		"-seed", strconv.FormatUint(seed, 10),
		"-progress=false",
	}
}

type child struct {
	k     int
	cmd   *exec.Cmd
	in    io.WriteCloser
	out   *bufio.Reader
	ready bool
	res   load.Result
	err   error
}

// Run runs spec over its children and merges their results. The server's
// RSS (Config.PID > 0, Hold only) is read before the children start and
// once all are ready.
func Run(ctx context.Context, spec Spec) (load.Result, error) {
	spec = spec.withDefaults()
	o := spec.Config
	if spec.Procs < 1 {
		return load.Result{}, errors.New("procs: at least one child")
	}
	rssBefore := int64(-1)
	var err error
	if spec.Mode == load.ModeHold && o.PID > 0 {
		if rssBefore, err = load.ReadRSS(o.PID); err != nil {
			return load.Result{}, fmt.Errorf("server RSS: %w", err)
		}
	}
	// Every phase of a child is bounded; this bounds the whole in case a
	// child hangs anyway.
	ctx, cancel := context.WithTimeout(ctx, Limit(spec))
	defer cancel()
	// Cancelling this one interrupts the children (AllReady failed).
	childCtx, abort := context.WithCancel(ctx)
	defer abort()

	// Children share the stderr; one lock keeps a non-file writer safe
	// from their copying goroutines.
	stderr := &lockedWriter{w: spec.Stderr}
	children := make([]*child, spec.Procs)
	offset := 0
	for k := range children {
		conns := o.Conns / spec.Procs
		if k < o.Conns%spec.Procs {
			conns++
		}
		cmd := exec.CommandContext(childCtx, spec.Exe, ChildArgs(spec, k, conns, offset)...)
		offset += conns
		cmd.Env = append(os.Environ(), ChildEnv+"="+strconv.Itoa(k+1))
		cmd.Stderr = stderr
		cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
		cmd.WaitDelay = 10 * time.Second
		ch := &child{k: k, cmd: cmd}
		if ch.in, err = cmd.StdinPipe(); err == nil {
			var out io.ReadCloser
			if out, err = cmd.StdoutPipe(); err == nil {
				ch.out = bufio.NewReaderSize(out, 64<<10)
				err = cmd.Start()
			}
		}
		if err != nil {
			abort()
			for _, c := range children[:k] {
				c.cmd.Wait()
			}
			return load.Result{}, fmt.Errorf("starting child %d: %w", k, err)
		}
		children[k] = ch
	}

	// Phase 1: wait for every child to be ready (or to have given up).
	var wg sync.WaitGroup
	for _, ch := range children {
		wg.Go(func() {
			line, err := ch.out.ReadString('\n')
			switch {
			case err != nil:
				ch.err = fmt.Errorf("child %d: no ready line: %w", ch.k, err)
			case strings.TrimSpace(line) == LineReady:
				ch.ready = true
			default:
				ch.err = ch.parse(line)
			}
		})
	}
	wg.Wait()
	rssAfter := int64(-1)
	var rssErr error
	if spec.Mode == load.ModeHold && o.PID > 0 {
		rssAfter, rssErr = load.ReadRSS(o.PID)
	}
	var hookErr error
	if spec.AllReady != nil && ctx.Err() == nil && allReady(children) {
		if hookErr = spec.AllReady(ctx); hookErr != nil {
			abort()
		}
	}

	// Phase 2: start them together and collect their results.
	for _, ch := range children {
		if ch.ready && hookErr == nil {
			fmt.Fprintln(ch.in, LineGo)
		}
	}
	for _, ch := range children {
		wg.Go(func() {
			if ch.ready {
				line, err := ch.out.ReadString('\n')
				if err != nil {
					ch.err = fmt.Errorf("child %d: no result: %w", ch.k, err)
				} else {
					ch.err = ch.parse(line)
				}
			}
			ch.in.Close()
			io.Copy(io.Discard, ch.out)
			// Wait reports a cancelled context as an error even when the
			// child, told to stop, sent its result and exited cleanly.
			if err := ch.cmd.Wait(); err != nil && ch.err == nil && childCtx.Err() == nil {
				var ee *exec.ExitError
				if !errors.As(err, &ee) || ee.ExitCode() != 1 { // 1: the child found a problem, in its result
					ch.err = fmt.Errorf("child %d: %w", ch.k, err)
				}
			}
		})
	}
	wg.Wait()
	if hookErr != nil {
		return load.Result{}, hookErr
	}

	var rs []load.Result
	var errs []error
	for _, ch := range children {
		if ch.err != nil {
			errs = append(errs, ch.err)
			continue
		}
		rs = append(rs, ch.res)
	}
	if len(errs) > 0 {
		return load.Result{}, errors.Join(errs...)
	}
	m, err := load.Merge(rs)
	if err != nil {
		return load.Result{}, err
	}
	m.Interrupted = m.Interrupted || ctx.Err() != nil
	m.SetRSS(rssBefore, rssAfter)
	if rssErr != nil {
		m.AddError(fmt.Sprintf("server RSS after connect: %v", rssErr))
	}
	return m, nil
}

func allReady(children []*child) bool {
	for _, ch := range children {
		if !ch.ready {
			return false
		}
	}
	return true
}

func (ch *child) parse(line string) error {
	if err := json.Unmarshal([]byte(line), &ch.res); err != nil {
		return fmt.Errorf("child %d: bad result line: %w", ch.k, err)
	}
	if ch.res.Schema != load.Schema {
		return fmt.Errorf("child %d: result schema %q, want %q", ch.k, ch.res.Schema, load.Schema)
	}
	return nil
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
