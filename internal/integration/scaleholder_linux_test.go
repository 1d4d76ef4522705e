package integration

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// scaleHolderEnv makes TestScaleHolderProcess the load generator of
// BenchmarkSurvivalAtScale: "ADDR COUNT SOURCE_IP". The benchmark runs
// several of them, each a process of its own inside the sandbox's network
// namespace, because one process cannot hold 19,500 sockets under this
// machine's open-file cap of 20,000 beside everything else it has open.
const scaleHolderEnv = "CHATD_SCALE_HOLDER"

// holderReport is what a holder process prints, one JSON line per command.
type holderReport struct {
	Conns       int     `json:"conns"`  // connections open and in step
	Failed      int     `json:"failed"` // dials or first answers that failed
	DialSeconds float64 `json:"dial_seconds,omitempty"`
	OK          int     `json:"ok"`
	Wrong       int     `json:"wrong"`   // an answer that was not the message in capitals
	Lost        int     `json:"lost"`    // no answer within the probe's deadline
	Dropped     int     `json:"dropped"` // the connection ended
	// LastAnswerMonoUS is CLOCK_MONOTONIC, in µs, when the last answer of
	// a probe arrived: the clock systemd's *TimestampMonotonic use.
	LastAnswerMonoUS int64    `json:"last_answer_mono_us,omitempty"`
	Addrs            []string `json:"addrs,omitempty"`
	FirstError       string   `json:"first_error,omitempty"`
}

// TestScaleHolderProcess is not a test: run by BenchmarkSurvivalAtScale
// with CHATD_SCALE_HOLDER set, it opens the connections and answers the
// benchmark's commands on stdin ("probe TAG SECONDS", "addrs", "exit").
func TestScaleHolderProcess(t *testing.T) {
	spec := os.Getenv(scaleHolderEnv)
	if spec == "" {
		t.Skip("the load generator of BenchmarkSurvivalAtScale; runs only as its child")
	}
	if err := runScaleHolder(spec, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "scale holder:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// heldConn is one client of a holder.
type heldConn struct {
	c      net.Conn
	r      *bufio.Reader
	broken bool // out of step with the server: never probed again
}

func runScaleHolder(spec string, in io.Reader, out io.Writer) error {
	f := strings.Fields(spec)
	if len(f) != 3 {
		return fmt.Errorf("%s=%q: want ADDR COUNT SOURCE_IP", scaleHolderEnv, spec)
	}
	count, err := strconv.Atoi(f[1])
	if err != nil || count < 1 {
		return fmt.Errorf("%s: bad count %q", scaleHolderEnv, f[1])
	}
	src := net.ParseIP(f[2])
	if src == nil || !src.IsLoopback() {
		return fmt.Errorf("%s: source %q is not a loopback address", scaleHolderEnv, f[2])
	}
	conns, rep := dialHeld(f[0], count, src)
	enc := json.NewEncoder(out)
	if err := enc.Encode(rep); err != nil {
		return err
	}
	defer func() {
		for _, h := range conns {
			h.c.Close()
		}
	}()
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		cmd := strings.Fields(sc.Text())
		switch {
		case len(cmd) == 3 && cmd[0] == "probe":
			secs, err := strconv.Atoi(cmd[2])
			if err != nil {
				return fmt.Errorf("probe: bad deadline %q", cmd[2])
			}
			rep = probeHeld(conns, cmd[1], time.Duration(secs)*time.Second)
		case len(cmd) == 1 && cmd[0] == "addrs":
			rep = holderReport{}
			for _, h := range conns {
				if !h.broken {
					rep.Conns++
					rep.Addrs = append(rep.Addrs, h.c.LocalAddr().String())
				}
			}
		case len(cmd) == 1 && cmd[0] == "exit":
			return nil
		default:
			return fmt.Errorf("unknown command %q", sc.Text())
		}
		if err := enc.Encode(rep); err != nil {
			return err
		}
	}
	return sc.Err()
}

// dialHeld opens count connections to addr from src, 32 at a time, each
// checked with one round trip; the report's DialSeconds is the time until
// the last one was answered (the accept rate the benchmark compares).
func dialHeld(addr string, count int, src net.IP) ([]*heldConn, holderReport) {
	conns := make([]*heldConn, count)
	var next atomic.Int64
	var mu sync.Mutex
	var rep holderReport
	d := net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: src}}
	began := time.Now()
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= count {
					return
				}
				h, err := dialOne(&d, addr, i)
				if err != nil {
					mu.Lock()
					rep.Failed++
					if rep.FirstError == "" {
						rep.FirstError = err.Error()
					}
					mu.Unlock()
					continue
				}
				conns[i] = h
			}
		}()
	}
	wg.Wait()
	rep.DialSeconds = time.Since(began).Seconds()
	live := conns[:0]
	for _, h := range conns {
		if h != nil {
			live = append(live, h)
		}
	}
	rep.Conns = len(live)
	return live, rep
}

func dialOne(d *net.Dialer, addr string, i int) (*heldConn, error) {
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	h := &heldConn{c: c, r: bufio.NewReaderSize(c, 256)}
	if err := h.exchange(fmt.Sprintf("hold %d", i), time.Now().Add(30*time.Second)); err != nil {
		c.Close()
		return nil, err
	}
	return h, nil
}

// exchange sends msg and checks that the answer is msg in capitals.
func (h *heldConn) exchange(msg string, deadline time.Time) error {
	h.c.SetDeadline(deadline)
	if _, err := io.WriteString(h.c, msg+"\n"); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	got, err := h.r.ReadString('\n')
	if err != nil {
		return fmt.Errorf("read: %w (got %q)", err, got)
	}
	if want := strings.ToUpper(msg) + "\n"; got != want {
		return fmt.Errorf("%w: sent %q, got %q", errWrongAnswer, msg, got)
	}
	return nil
}

var errWrongAnswer = errors.New("wrong answer")

// probeHeld sends one message on every connection at once and waits for
// every answer, each within timeout.
func probeHeld(conns []*heldConn, tag string, timeout time.Duration) holderReport {
	var mu sync.Mutex
	var rep holderReport
	deadline := time.Now().Add(timeout)
	var wg sync.WaitGroup
	for i, h := range conns {
		if h.broken {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := h.exchange(fmt.Sprintf("%s %d é", tag, i), deadline)
			now := monotonicMicros()
			mu.Lock()
			defer mu.Unlock()
			var ne net.Error
			switch {
			case err == nil:
				rep.OK++
				rep.LastAnswerMonoUS = max(rep.LastAnswerMonoUS, now)
				return
			case errors.As(err, &ne) && ne.Timeout():
				rep.Lost++
			case errors.Is(err, errWrongAnswer):
				rep.Wrong++
			default:
				rep.Dropped++
			}
			h.broken = true
			if rep.FirstError == "" {
				rep.FirstError = err.Error()
			}
		}()
	}
	wg.Wait()
	for _, h := range conns {
		if !h.broken {
			rep.Conns++
		}
	}
	return rep
}

func monotonicMicros() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0
	}
	return ts.Nano() / 1000
}
