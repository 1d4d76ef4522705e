// Package compare runs chatd and the bare baseline server side by side
// under the same loads — alternately, A B A B, in one run — and reports
// medians and ratios against the targets of issue 5. It is the logic of
// `go run ./compare` in the bench module.
package compare

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/chatd/chatd/bench/internal/load"
	"github.com/chatd/chatd/bench/internal/procs"
	"github.com/chatd/chatd/internal/serverproc"
)

// Options configure a comparison.
type Options struct {
	Settings
	// Dir holds the binaries, configs and server logs; when empty a
	// temporary directory is used and removed at the end unless Keep.
	Dir  string
	Keep bool
	// Profile, when set, builds chatd with the benchprofile tag and saves
	// CPU profiles of its first ping-pong round and heap profiles of its
	// first idle holds there. The figures of such a run are perturbed.
	Profile string
	// Log receives progress lines.
	Log io.Writer
	// Command is how the run was started, for the report.
	Command string
}

// Defaults are the settings of a full run, or of a quick one.
func Defaults(quick bool) Settings {
	if quick {
		return Settings{Quick: true, Rounds: 2, HoldRounds: 1, Duration: time.Second, Warmup: 500 * time.Millisecond,
			Counts: []int{1000, 10000, 19500}, HoldProcs: 2, ListRuns: 3}
	}
	// Many short rounds rather than a few long ones: on a shared machine
	// the median of nine back-to-back pairs is the steadier figure.
	return Settings{Rounds: 9, HoldRounds: 3, Duration: 3 * time.Second, Warmup: time.Second,
		Counts: []int{1000, 10000, 19500}, HoldProcs: 2, ListRuns: 5}
}

// Budget is a generous bound on how long a run with st takes, for the
// overall timeout.
func Budget(st Settings) time.Duration {
	pp := time.Duration(st.Rounds*2*len(Traffic)) * (st.Warmup + st.Duration + 15*time.Second)
	holds := time.Duration(0)
	for _, n := range st.Counts {
		holds += time.Duration(st.HoldRounds*2) * (time.Minute + time.Duration(n)*time.Millisecond)
	}
	return 2*time.Minute + pp + holds
}

type runner struct {
	o    Options
	bins Binaries
	dir  string
	s    *Summary
	seq  int // servers started, for their directories
}

// Run builds the programs and runs the comparison. It returns what was
// measured even when it stops early (ctx ended, a server would not start);
// the error says why it stopped.
func Run(ctx context.Context, o Options) (*Summary, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	o.Profiled = o.Profile != ""
	s := NewSummary(o.Settings)
	s.Command = o.Command
	s.Started = time.Now()
	s.Machine = DescribeMachine("")
	defer func() {
		s.Machine.LoadAfter = LoadAvg()
		s.Elapsed = time.Since(s.Started)
	}()

	goTool, err := GoTool()
	if err != nil {
		return s, err
	}
	roots, err := FindRoots(ctx, goTool)
	if err != nil {
		return s, err
	}
	dir := o.Dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "chatd-compare-"); err != nil {
			return s, err
		}
		if !o.Keep {
			defer os.RemoveAll(dir)
		}
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return s, err
	}
	tags := ""
	if o.Profile != "" {
		tags = "benchprofile"
		if err := os.MkdirAll(o.Profile, 0o755); err != nil {
			return s, err
		}
	}
	r := &runner{o: o, dir: dir, s: s}
	r.logf("building chatd, baseline, chatbench and chatctl in %s", dir)
	if r.bins, err = BuildAll(ctx, goTool, roots, filepath.Join(dir, "bin"), tags); err != nil {
		return s, err
	}
	s.Machine = DescribeMachine(r.bins.Chatd)
	if r.bins.Chatctl == "" {
		s.Chatctl.Note = r.bins.ChatctlNote
		r.logf("%s", r.bins.ChatctlNote)
	}
	if err := r.traffic(ctx); err != nil {
		return s, r.fail(err)
	}
	if err := r.holds(ctx); err != nil {
		return s, r.fail(err)
	}
	return s, nil
}

func (r *runner) fail(err error) error {
	why := err.Error()
	switch {
	case errors.Is(err, context.Canceled):
		why = "interrupted"
	case errors.Is(err, context.DeadlineExceeded):
		why = "out of time (-timeout)"
	}
	r.s.Errors = append(r.s.Errors, "run stopped early: "+why+"; the figures above are what was measured until then")
	return err
}

func (r *runner) logf(format string, args ...any) {
	fmt.Fprintf(r.o.Log, "compare: "+format+"\n", args...)
}

// start starts a fresh server of the given kind.
func (r *runner) start(ctx context.Context, chatd bool) (*Server, error) {
	r.seq++
	if chatd {
		d := filepath.Join(r.dir, fmt.Sprintf("chatd-%d", r.seq))
		if r.o.Profile != "" {
			return startProfiled(ctx, r.bins.Chatd, d)
		}
		return StartChatd(ctx, r.bins.Chatd, d)
	}
	return StartBaseline(ctx, r.bins.Baseline, filepath.Join(r.dir, fmt.Sprintf("baseline-%d", r.seq)))
}

// traffic runs the ping-pong workloads: one chatd and one baseline, every
// workload against each in turn, round after round.
func (r *runner) traffic(ctx context.Context) error {
	var srv [2]*Server // chatd, baseline
	defer func() {
		for _, s := range srv {
			if err := s.Stop(); err != nil {
				r.s.Errors = append(r.s.Errors, err.Error())
			}
		}
	}()
	for round := 1; round <= r.o.Rounds; round++ {
		for _, w := range Traffic {
			for i, chatd := range []bool{true, false} {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if srv[i] != nil && srv[i].Exited() {
					r.s.Errors = append(r.s.Errors, fmt.Sprintf("%s exited during the ping-pong runs (%v); restarted, see %s",
						srv[i].Name, srv[i].Stop(), srv[i].Log))
					srv[i] = nil
				}
				if srv[i] == nil {
					s, err := r.start(ctx, chatd)
					if err != nil {
						return err
					}
					srv[i] = s
				}
				var stopProfile func()
				if chatd && round == 1 && r.o.Profile != "" {
					stopProfile = r.cpuProfile(ctx, srv[i], w.Key, r.o.Warmup, r.o.Duration)
				}
				cpu0, cpuErr := ProcCPU(srv[i].PID)
				res := r.pingpong(ctx, srv[i].Addr, w)
				cpu1, cpuErr1 := ProcCPU(srv[i].PID)
				if stopProfile != nil {
					stopProfile()
				}
				if ctx.Err() != nil {
					return ctx.Err() // an interrupted run is no measurement
				}
				cpu := math.NaN()
				if cpuErr == nil && cpuErr1 == nil {
					cpu = CPUPerRoundTrip(cpu1-cpu0, res)
				}
				r.s.Traffic[w.Key].Add(chatd, res)
				r.s.Traffic[w.Key].AddCPU(chatd, cpu)
				r.logf("round %d/%d %-8s %s: %s; server CPU %s µs/msg", round, r.o.Rounds, srv[i].Name, describe(w), brief(res),
					strconv.FormatFloat(cpu, 'f', 2, 64))
			}
		}
	}
	return nil
}

// holds measures idle connections, each count on freshly started servers.
func (r *runner) holds(ctx context.Context) error {
	for round := 1; round <= r.o.HoldRounds; round++ {
		for _, n := range r.o.Counts {
			for _, chatd := range []bool{true, false} {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				srv, err := r.start(ctx, chatd)
				if err != nil {
					return err
				}
				// Let the fresh server settle before its RSS is read.
				time.Sleep(300 * time.Millisecond)
				res, err := r.hold(ctx, srv, n, round)
				if serr := srv.Stop(); serr != nil {
					r.s.Errors = append(r.s.Errors, serr.Error())
				}
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if err != nil {
					res = failed(load.ModeHold, srv.Addr, n, err)
				}
				r.s.Holds[n].Add(chatd, res)
				r.logf("round %d/%d %-8s hold %d: %s", round, r.o.HoldRounds, srv.Name, n, brief(res))
			}
		}
	}
	return nil
}

// hold holds n idle clients on srv with HoldProcs chatbench processes. With
// the largest count it also lists them and runs chat traffic beside them
// while they are held.
func (r *runner) hold(ctx context.Context, srv *Server, n, round int) (load.Result, error) {
	spec := procs.Spec{
		Exe:  r.bins.Chatbench,
		Mode: load.ModeHold,
		Config: load.Config{Addr: srv.Addr, Conns: n, Duration: time.Second, Size: 64, PID: srv.PID,
			DialConcurrency: 128, DialTimeout: 5 * time.Second, IOTimeout: 10 * time.Second, SpreadSource: true},
		Procs:  min(r.o.HoldProcs, n),
		Stderr: r.o.Log,
	}
	chatd := srv.Name == NameChatd
	profile := chatd && round == 1 && r.o.Profile != ""
	if n == r.o.Largest() || profile {
		spec.AllReadyBudget = r.besideBudget()
		spec.AllReady = func(ctx context.Context) error {
			if profile {
				r.saveProfile(ctx, srv, "heap", fmt.Sprintf("heap-idle-%d.pprof", n))
				r.saveProfile(ctx, srv, "goroutine", fmt.Sprintf("goroutine-idle-%d.pprof", n))
			}
			if n == r.o.Largest() {
				r.beside(ctx, srv, n)
			}
			return nil
		}
	}
	return procs.Run(ctx, spec)
}

func (r *runner) besideBudget() time.Duration {
	return time.Duration(2*r.o.ListRuns)*listTimeout + r.o.Warmup + r.o.Duration + 30*time.Second
}

// beside runs, while n idle clients are held on srv: chatctl list and the
// admin API's listing (chatd), then the UnderLoad ping-pong with chatctl
// list running during it.
func (r *runner) beside(ctx context.Context, srv *Server, n int) {
	chatd := srv.Name == NameChatd
	if chatd {
		for range r.o.ListRuns {
			if r.bins.Chatctl != "" {
				r.s.Chatctl.record(&r.s.Chatctl.Idle, n)(r.chatctlList(ctx, srv))
			}
			r.s.API.record(&r.s.API.Idle, n)(apiList(ctx, srv))
		}
	}
	done := make(chan load.Result, 1)
	go func() { done <- r.pingpong(ctx, srv.Addr, UnderLoad) }()
	if chatd && r.bins.Chatctl != "" {
		// Spread the listings over the measured window.
		gap := r.o.Duration / time.Duration(r.o.ListRuns+1)
		wait(ctx, r.o.Warmup+gap)
		for range r.o.ListRuns {
			r.s.Chatctl.record(&r.s.Chatctl.Busy, n)(r.chatctlList(ctx, srv))
			wait(ctx, gap)
		}
	}
	res := <-done
	if ctx.Err() != nil {
		return
	}
	r.s.UnderLoad.Add(chatd, res)
	r.logf("         %-8s %s beside %d idle: %s", srv.Name, describe(UnderLoad), n, brief(res))
	if chatd {
		r.logf("         chatctl list idle %s, busy %s; GET /v1/clients idle %s", durations(r.s.Chatctl.Idle),
			durations(r.s.Chatctl.Busy), durations(r.s.API.Idle))
	}
}

func wait(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// record returns a function that files one listing's outcome in l: its
// wall time into ds, unless it failed or listed fewer than want clients.
func (l *Listing) record(ds *[]time.Duration, want int) func(time.Duration, int, error) {
	return func(d time.Duration, listed int, err error) {
		switch {
		case err != nil:
			if len(l.Errors) < 5 {
				l.Errors = append(l.Errors, err.Error())
			}
		case listed < want:
			l.Short++
			*ds = append(*ds, d)
		default:
			*ds = append(*ds, d)
		}
	}
}

// listTimeout bounds one listing.
const listTimeout = 30 * time.Second

// chatctlList runs `chatctl --socket S list` and returns its wall time and
// how many clients it said it listed (its last line, "N clients").
func (r *runner) chatctlList(ctx context.Context, srv *Server) (time.Duration, int, error) {
	ctx, cancel := context.WithTimeout(ctx, listTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.bins.Chatctl, "--socket", srv.Admin, "list")
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	serverproc.DieWithParent(cmd)
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		return d, 0, fmt.Errorf("chatctl list: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	last := strings.Fields(lines[len(lines)-1])
	if len(last) == 0 {
		return d, 0, errors.New("chatctl list: empty output")
	}
	listed, err := strconv.Atoi(last[0])
	if err != nil {
		return d, 0, fmt.Errorf("chatctl list: last line %q does not count the clients", lines[len(lines)-1])
	}
	return d, listed, nil
}

// apiList asks the admin API for the client list the way chatctl does
// (HTTP over the Unix socket) and decodes it, without printing a table.
func apiList(ctx context.Context, srv *Server) (time.Duration, int, error) {
	ctx, cancel := context.WithTimeout(ctx, listTimeout)
	defer cancel()
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", srv.Admin)
	}}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://chatd/v1/clients", nil)
	if err != nil {
		return 0, 0, err
	}
	start := time.Now()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return time.Since(start), 0, fmt.Errorf("GET /v1/clients: %w", err)
	}
	defer resp.Body.Close()
	var list struct {
		Clients []json.RawMessage `json:"clients"`
	}
	err = json.NewDecoder(resp.Body).Decode(&list)
	d := time.Since(start)
	if resp.StatusCode != http.StatusOK {
		return d, 0, fmt.Errorf("GET /v1/clients: %s", resp.Status)
	}
	if err != nil {
		return d, 0, fmt.Errorf("GET /v1/clients: decoding: %w", err)
	}
	return d, len(list.Clients), nil
}

// pingpong runs one ping-pong with chatbench against addr.
func (r *runner) pingpong(ctx context.Context, addr string, w Workload) load.Result {
	limit := r.o.Warmup + r.o.Duration + 10*time.Second + time.Minute
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.bins.Chatbench, "-addr", addr, "-c", strconv.Itoa(w.Conns),
		"-size", strconv.Itoa(w.Size), "-d", r.o.Duration.String(), "-warmup", r.o.Warmup.String(),
		"-io-timeout", "10s", "-json", "-progress=false")
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	serverproc.DieWithParent(cmd)
	err := cmd.Run()
	var res load.Result
	if jerr := json.Unmarshal(out.Bytes(), &res); jerr != nil || res.Schema != load.Schema {
		if err == nil {
			err = fmt.Errorf("no result (%v)", jerr)
		}
		return failed(load.ModePingPong, addr, w.Conns, fmt.Errorf("chatbench: %v: %s", err, strings.TrimSpace(stderr.String())))
	}
	return res
}

// failed is the result of a run that produced none.
func failed(mode, addr string, conns int, err error) load.Result {
	return load.Result{Schema: load.Schema, Mode: mode, Addr: addr, Conns: conns, RSSBeforeKiB: -1, RSSAfterKiB: -1,
		Errors: []string{err.Error()}}
}

func describe(w Workload) string {
	return fmt.Sprintf("%d×%s", w.Conns, fmtBytes(w.Size))
}

// brief is one result on one line, for progress.
func brief(r load.Result) string {
	var b strings.Builder
	switch r.Mode {
	case load.ModePingPong:
		fmt.Fprintf(&b, "%s msgs/s %s MiB/s p50 %s p99 %s ms", fmtInt(r.MsgsPerSec), fmtNum(r.MiBPerSec),
			fmtMs(float64(r.Latency.P50)), fmtMs(float64(r.Latency.P99)))
	case load.ModeHold:
		fmt.Fprintf(&b, "%d/%d answering, %d after; %s KiB/conn (RSS %d → %d KiB); %s conns/s",
			r.Answering, r.Conns, r.AnsweringEnd, strconv.FormatFloat(r.RSSPerConnKiB, 'f', 2, 64),
			r.RSSBeforeKiB, r.RSSAfterKiB, fmtInt(r.ConnsPerSec))
	}
	if !r.OK {
		b.WriteString("  FAILED")
		if len(r.Errors) > 0 {
			b.WriteString(": " + r.Errors[0])
		}
	}
	return b.String()
}
