package load

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Schema names the JSON layout of Result. It changes only when a field is
// removed or changes meaning; new fields may be added without changing it.
const Schema = "chatbench/1"

// Result is the outcome of one run, also chatbench's -json output. Fields
// that do not apply to a mode are zero. See bench/README.md for the schema.
type Result struct {
	Schema string `json:"schema"` // always Schema
	Mode   string `json:"mode"`   // ModePingPong or ModeHold
	Addr   string `json:"addr"`   // target as given
	Procs  int    `json:"procs"`  // load-generating processes (1 unless split)

	Conns          int     `json:"conns"`          // connections asked for
	Connected      int     `json:"connected"`      // connections established
	ConnectErrors  int64   `json:"connect_errors"` // dials that failed
	ConnectSeconds float64 `json:"connect_s"`      // wall time of the dial phase
	ConnsPerSec    float64 `json:"conns_per_s"`    // Connected / ConnectSeconds

	Size            int     `json:"size"`       // message bytes (Hold: probe bytes)
	WarmupSeconds   float64 `json:"warmup_s"`   // PingPong warmup actually run
	DurationSeconds float64 `json:"duration_s"` // measured window (PingPong) or time held (Hold)

	Msgs       int64   `json:"msgs"`       // verified round trips completed in the window
	Bytes      int64   `json:"bytes"`      // Msgs*Size: payload bytes each way
	MsgsPerSec float64 `json:"msgs_per_s"` // Msgs / DurationSeconds
	MiBPerSec  float64 `json:"mib_per_s"`  // Bytes / DurationSeconds / 2^20

	// Latency of the round trips counted in Msgs (PingPong) or of the
	// first round of probes (Hold), in microseconds.
	Latency Latency `json:"latency_us"`
	// Histogram is the same latency histogram, base64 HdrHistogram V2
	// compressed (values in µs), so that runs can be merged exactly.
	Histogram string `json:"histogram,omitempty"`

	VerifyFailures int64 `json:"verify_failures"` // replies that differed from the expected uppercase
	IOErrors       int64 `json:"io_errors"`       // connections that failed mid-run (EOF, reset, timeout)

	Answering    int `json:"answering"`     // Hold: connections that answered once all were connected
	AnsweringEnd int `json:"answering_end"` // Hold: connections that answered again after the hold

	RSSBeforeKiB  int64   `json:"rss_before_kib"`   // server VmRSS before dialling; -1 unknown
	RSSAfterKiB   int64   `json:"rss_after_kib"`    // server VmRSS once all answered; -1 unknown
	RSSPerConnKiB float64 `json:"rss_per_conn_kib"` // (after-before)/Connected; 0 unknown

	Interrupted bool     `json:"interrupted"` // the run was cut short by its context
	Errors      []string `json:"errors"`      // the first few error messages (at most maxErrors)
	OK          bool     `json:"ok"`          // no connect, verify or I/O error, every connection answered
}

// Latency summarises a histogram in microseconds.
type Latency struct {
	Count int64   `json:"count"`
	Min   int64   `json:"min"`
	Mean  float64 `json:"mean"`
	P50   int64   `json:"p50"`
	P90   int64   `json:"p90"`
	P99   int64   `json:"p99"`
	P999  int64   `json:"p999"`
	Max   int64   `json:"max"`
}

const (
	histMin   = 1          // µs
	histMax   = 60_000_000 // µs: one minute
	histSig   = 3          // significant figures
	maxErrors = 10         // error messages kept in Result.Errors
	mib       = float64(1 << 20)
)

func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(histMin, histMax, histSig) }

// recordUS records d in µs, clamped into the histogram's range.
func recordUS(h *hdrhistogram.Histogram, d time.Duration) {
	_ = h.RecordValue(min(max(d.Microseconds(), histMin), histMax))
}

func summarize(h *hdrhistogram.Histogram) Latency {
	if h.TotalCount() == 0 {
		return Latency{}
	}
	return Latency{
		Count: h.TotalCount(),
		Min:   h.Min(),
		Mean:  math.Round(h.Mean()*10) / 10,
		P50:   h.ValueAtQuantile(50),
		P90:   h.ValueAtQuantile(90),
		P99:   h.ValueAtQuantile(99),
		P999:  h.ValueAtQuantile(99.9),
		Max:   h.Max(),
	}
}

func encodeHist(h *hdrhistogram.Histogram) string {
	b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return ""
	}
	return string(b)
}

// DecodeHistogram returns r's latency histogram (µs), or an empty one if r
// has none.
func (r Result) DecodeHistogram() (*hdrhistogram.Histogram, error) {
	if r.Histogram == "" {
		return newHist(), nil
	}
	return hdrhistogram.Decode([]byte(r.Histogram))
}

// finish fills the derived fields.
func (r *Result) finish(h *hdrhistogram.Histogram) {
	r.Schema = Schema
	if r.Procs == 0 {
		r.Procs = 1
	}
	if r.ConnectSeconds > 0 {
		r.ConnsPerSec = round3(float64(r.Connected) / r.ConnectSeconds)
	}
	r.Bytes = r.Msgs * int64(r.Size)
	if r.DurationSeconds > 0 && r.Mode == ModePingPong {
		r.MsgsPerSec = round3(float64(r.Msgs) / r.DurationSeconds)
		r.MiBPerSec = round3(float64(r.Bytes) / r.DurationSeconds / mib)
	}
	if h != nil {
		r.Latency = summarize(h)
		r.Histogram = encodeHist(h)
	}
	r.RSSPerConnKiB = rssPerConn(*r)
	if r.Errors == nil {
		r.Errors = []string{}
	}
	r.OK = r.ConnectErrors == 0 && r.VerifyFailures == 0 && r.IOErrors == 0 && r.Connected == r.Conns
	if r.Mode == ModeHold {
		r.OK = r.OK && r.Answering == r.Connected && (r.Interrupted || r.AnsweringEnd == r.Connected)
	}
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

// Merge combines the results of processes that ran the same workload side
// by side (chatbench -procs): counts add up, latency histograms merge
// exactly, windows take the longest, and rates are recomputed. RSS fields
// are left unknown (-1): only the caller can measure the server as a whole.
func Merge(rs []Result) (Result, error) {
	if len(rs) == 0 {
		return Result{}, fmt.Errorf("merge: no results")
	}
	m := Result{Mode: rs[0].Mode, Addr: rs[0].Addr, Size: rs[0].Size, RSSBeforeKiB: -1, RSSAfterKiB: -1}
	h := newHist()
	for _, r := range rs {
		if r.Mode != m.Mode {
			return Result{}, fmt.Errorf("merge: mixed modes %q and %q", m.Mode, r.Mode)
		}
		rh, err := r.DecodeHistogram()
		if err != nil {
			return Result{}, fmt.Errorf("merge: histogram: %w", err)
		}
		h.Merge(rh)
		m.Procs += max(r.Procs, 1)
		m.Conns += r.Conns
		m.Connected += r.Connected
		m.ConnectErrors += r.ConnectErrors
		m.ConnectSeconds = max(m.ConnectSeconds, r.ConnectSeconds)
		m.WarmupSeconds = max(m.WarmupSeconds, r.WarmupSeconds)
		m.DurationSeconds = max(m.DurationSeconds, r.DurationSeconds)
		m.Msgs += r.Msgs
		m.VerifyFailures += r.VerifyFailures
		m.IOErrors += r.IOErrors
		m.Answering += r.Answering
		m.AnsweringEnd += r.AnsweringEnd
		m.Interrupted = m.Interrupted || r.Interrupted
		for _, e := range r.Errors {
			if len(m.Errors) < maxErrors {
				m.Errors = append(m.Errors, e)
			}
		}
	}
	m.finish(h)
	return m, nil
}

// WriteText writes r for people.
func (r Result) WriteText(w io.Writer) {
	fmt.Fprintf(w, "mode %s  addr %s  procs %d\n", r.Mode, r.Addr, r.Procs)
	fmt.Fprintf(w, "connections  %d/%d connected  %d connect errors  %.3fs to connect (%.0f conns/s)\n",
		r.Connected, r.Conns, r.ConnectErrors, r.ConnectSeconds, r.ConnsPerSec)
	l := r.Latency
	switch r.Mode {
	case ModePingPong:
		fmt.Fprintf(w, "messages     %d x %d B in %.3fs (warmup %.3fs)\n", r.Msgs, r.Size, r.DurationSeconds, r.WarmupSeconds)
		fmt.Fprintf(w, "throughput   %.0f msgs/s  %.2f MiB/s\n", r.MsgsPerSec, r.MiBPerSec)
		fmt.Fprintf(w, "latency µs   p50 %d  p90 %d  p99 %d  p99.9 %d  max %d  (min %d, mean %.1f, n %d)\n",
			l.P50, l.P90, l.P99, l.P999, l.Max, l.Min, l.Mean, l.Count)
	case ModeHold:
		if r.Interrupted {
			fmt.Fprintf(w, "answering    %d after connect; held %.3fs, interrupted before the final check\n", r.Answering, r.DurationSeconds)
		} else {
			fmt.Fprintf(w, "answering    %d after connect, %d after holding %.3fs\n", r.Answering, r.AnsweringEnd, r.DurationSeconds)
		}
		fmt.Fprintf(w, "probe µs     p50 %d  p99 %d  max %d\n", l.P50, l.P99, l.Max)
		if r.RSSBeforeKiB >= 0 && r.RSSAfterKiB >= 0 {
			fmt.Fprintf(w, "server RSS   %d KiB before, %d KiB after: %.2f KiB/conn\n", r.RSSBeforeKiB, r.RSSAfterKiB, r.RSSPerConnKiB)
		} else {
			fmt.Fprintf(w, "server RSS   unknown (no -pid)\n")
		}
	}
	fmt.Fprintf(w, "errors       %d verify failures  %d I/O errors\n", r.VerifyFailures, r.IOErrors)
	for _, e := range r.Errors {
		fmt.Fprintf(w, "  %s\n", e)
	}
	if r.Interrupted {
		fmt.Fprintln(w, "interrupted")
	}
	if r.OK {
		fmt.Fprintln(w, "OK")
	} else {
		fmt.Fprintln(w, "FAIL")
	}
}

// WriteJSON writes r as one line of JSON.
func (r Result) WriteJSON(w io.Writer) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// errLog keeps the first few error messages; safe for concurrent use.
type errLog struct {
	mu   sync.Mutex
	msgs []string
}

func (e *errLog) add(format string, args ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.msgs) < maxErrors {
		e.msgs = append(e.msgs, fmt.Sprintf(format, args...))
	}
}

func (e *errLog) list() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string{}, e.msgs...)
}

// SetRSS records the server's RSS measured around the run (-1 unknown) and
// recomputes the per-connection figure; for merged results.
func (r *Result) SetRSS(beforeKiB, afterKiB int64) {
	r.RSSBeforeKiB, r.RSSAfterKiB = beforeKiB, afterKiB
	r.RSSPerConnKiB = rssPerConn(*r)
}

// AddError appends msg to r.Errors while there is room.
func (r *Result) AddError(msg string) {
	if len(r.Errors) < maxErrors {
		r.Errors = append(r.Errors, msg)
	}
}

func rssPerConn(r Result) float64 {
	if r.RSSBeforeKiB >= 0 && r.RSSAfterKiB > 0 && r.Connected > 0 {
		return round3(float64(r.RSSAfterKiB-r.RSSBeforeKiB) / float64(r.Connected))
	}
	return 0
}
