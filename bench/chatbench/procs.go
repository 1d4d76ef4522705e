package main

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

// The -procs protocol. The parent starts N copies of its own executable
// with childEnv set; each child runs its share of the connections and talks
// on its stdin and stdout, one line at a time:
//
//	child → parent  "ready"        all its connections are dialled (hold: and answered)
//	parent → child  "go"           once every child is ready (hold: after the parent read the server's RSS)
//	child → parent  {...}          its load.Result as JSON, last
//
// A child that cannot get ready (interrupted, say) skips "ready" and sends
// its result. A child whose stdin closes before "go" gives up.

const (
	lineReady = "ready"
	lineGo    = "go"
)

// runChild runs one share of a -procs run.
func runChild(ctx context.Context, o options, stdin io.Reader, stdout, stderr io.Writer) int {
	in := bufio.NewReader(stdin)
	o.cfg.Ready = func(ctx context.Context, _ load.Result) error {
		if _, err := fmt.Fprintln(stdout, lineReady); err != nil {
			return err
		}
		got := make(chan error, 1)
		go func() {
			line, err := in.ReadString('\n')
			if err == nil && strings.TrimSpace(line) != lineGo {
				err = fmt.Errorf("unexpected line %q from parent", line)
			}
			got <- err
		}()
		select {
		case err := <-got:
			if err != nil {
				return fmt.Errorf("waiting for the parent: %w", err)
			}
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	res, err := runMode(ctx, o)
	if err != nil {
		fmt.Fprintln(stderr, "chatbench child:", err)
		return 1
	}
	if err := res.WriteJSON(stdout); err != nil {
		return 1
	}
	return 0
}

// childArgs are the flags for child k of n, which holds conns connections
// starting at source address offset.
func childArgs(o options, k, conns, offset int) []string {
	c := o.cfg
	seed := c.Seed
	if seed != 0 {
		seed += uint64(k)
	}
	return []string{
		"-mode", o.mode,
		"-addr", c.Addr,
		"-c", strconv.Itoa(conns),
		"-d", c.Duration.String(),
		"-warmup", c.Warmup.String(),
		"-size", strconv.Itoa(c.Size),
		"-dial-concurrency", strconv.Itoa(max(1, c.DialConcurrency/o.procs)),
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

// runProcs splits the run over o.procs children and merges their results.
func runProcs(ctx context.Context, o options, stderr io.Writer) (load.Result, error) {
	exe, err := os.Executable()
	if err != nil {
		return load.Result{}, err
	}
	rssBefore := int64(-1)
	if o.mode == load.ModeHold && o.cfg.PID > 0 {
		if rssBefore, err = load.ReadRSS(o.cfg.PID); err != nil {
			return load.Result{}, fmt.Errorf("server RSS: %w", err)
		}
	}
	// Every phase of a child is bounded; this bounds the whole in case a
	// child hangs anyway.
	perProc := (o.cfg.Conns + o.procs - 1) / o.procs
	dialRounds := (perProc + max(1, o.cfg.DialConcurrency/o.procs) - 1) / max(1, o.cfg.DialConcurrency/o.procs)
	limit := o.cfg.Warmup + o.cfg.Duration + time.Duration(dialRounds)*o.cfg.DialTimeout +
		time.Duration(2*dialRounds+2)*o.cfg.IOTimeout + time.Minute
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()

	// Children share the parent's stderr; one lock keeps a non-file
	// writer safe from their copying goroutines.
	stderr = &lockedWriter{w: stderr}
	children := make([]*child, o.procs)
	offset := 0
	for k := range children {
		conns := o.cfg.Conns / o.procs
		if k < o.cfg.Conns%o.procs {
			conns++
		}
		cmd := exec.CommandContext(ctx, exe, childArgs(o, k, conns, offset)...)
		offset += conns
		cmd.Env = append(os.Environ(), childEnv+"="+strconv.Itoa(k+1))
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
			cancel()
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
			case strings.TrimSpace(line) == lineReady:
				ch.ready = true
			default:
				ch.err = ch.parse(line)
			}
		})
	}
	wg.Wait()
	rssAfter := int64(-1)
	var rssErr error
	if o.mode == load.ModeHold && o.cfg.PID > 0 {
		rssAfter, rssErr = load.ReadRSS(o.cfg.PID)
	}

	// Phase 2: start them together and collect their results.
	for _, ch := range children {
		if ch.ready {
			fmt.Fprintln(ch.in, lineGo)
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
			if err := ch.cmd.Wait(); err != nil && ch.err == nil && ctx.Err() == nil {
				var ee *exec.ExitError
				if !errors.As(err, &ee) || ee.ExitCode() != 1 { // 1: the child found a problem, in its result
					ch.err = fmt.Errorf("child %d: %w", ch.k, err)
				}
			}
		})
	}
	wg.Wait()

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
