package compare

import (
	"bytes"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/bench/internal/load"
)

func TestMedian(t *testing.T) {
	for _, tt := range []struct {
		xs   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{10, 10, 1, 1000, 10}, 10},
	} {
		in := append([]float64(nil), tt.xs...)
		if got := Median(tt.xs); got != tt.want {
			t.Errorf("Median(%v) = %v, want %v", tt.xs, got, tt.want)
		}
		for i := range in {
			if in[i] != tt.xs[i] {
				t.Fatalf("Median reordered its argument: %v", tt.xs)
			}
		}
	}
	if !math.IsNaN(Median(nil)) {
		t.Error("Median of nothing is not NaN")
	}
	if got := MedianDuration([]time.Duration{3 * time.Millisecond, time.Millisecond, 2 * time.Millisecond}); got != 2*time.Millisecond {
		t.Errorf("MedianDuration = %v", got)
	}
	if got := MaxDuration([]time.Duration{3, 9, 1}); got != 9 {
		t.Errorf("MaxDuration = %v", got)
	}
}

func TestRatio(t *testing.T) {
	if r, ok := Ratio(90, 100); !ok || r != 0.9 {
		t.Errorf("Ratio(90, 100) = %v, %v", r, ok)
	}
	for _, c := range [][2]float64{{1, 0}, {math.NaN(), 1}, {1, math.NaN()}} {
		if _, ok := Ratio(c[0], c[1]); ok {
			t.Errorf("Ratio(%v, %v) claims to mean something", c[0], c[1])
		}
	}
}

func pp(msgs float64, p50, p99 int64) load.Result {
	return load.Result{Mode: load.ModePingPong, OK: true, MsgsPerSec: msgs, MiBPerSec: msgs / 16,
		Latency: load.Latency{P50: p50, P99: p99}}
}

func hold(n int, kib, rate float64) load.Result {
	return load.Result{Mode: load.ModeHold, OK: true, Conns: n, Connected: n, Answering: n, AnsweringEnd: n,
		RSSPerConnKiB: kib, ConnsPerSec: rate}
}

// TestPairedRatio: the machine slows down round after round; each round's
// chatd run is 10% faster than the baseline run beside it. The paired
// ratio says 1.10; the ratio of medians would say 1.00.
func TestPairedRatio(t *testing.T) {
	chatd := []load.Result{pp(110, 1, 1), pp(55, 1, 1), pp(11, 1, 1)}
	base := []load.Result{pp(100, 1, 1), pp(50, 1, 1), pp(10, 1, 1)}
	chatd[1], base[1] = pp(55, 1, 1), pp(110, 1, 1) // a round with a hiccup
	if r, ok := PairedRatio(chatd, base, MsgsPerSec); !ok || math.Abs(r-1.1) > 1e-9 {
		t.Errorf("PairedRatio = %v, %v; want 1.10", r, ok)
	}
	// A failed run takes its round out.
	chatd[0].OK = false
	if r, _ := PairedRatio(chatd, base, MsgsPerSec); math.Abs(r-(0.5+1.1)/2) > 1e-9 {
		t.Errorf("PairedRatio with a failed round = %v", r)
	}
	if _, ok := PairedRatio(nil, base, MsgsPerSec); ok {
		t.Error("PairedRatio of nothing claims a value")
	}
	if r, ok := PairedRatioOf([]float64{2, math.NaN(), 3}, []float64{1, 1, 2}); !ok || r != 1.75 {
		t.Errorf("PairedRatioOf = %v, %v", r, ok)
	}
}

func TestMedianOfSkipsFailedRuns(t *testing.T) {
	bad := pp(1, 1, 1)
	bad.OK = false
	rs := []load.Result{pp(100, 1, 1), bad, pp(300, 1, 1), pp(200, 1, 1)}
	if got := MedianOf(rs, MsgsPerSec); got != 200 {
		t.Errorf("MedianOf = %v, want 200 (the failed run left out)", got)
	}
	if Failed(rs) != 1 {
		t.Errorf("Failed = %d", Failed(rs))
	}
	if !math.IsNaN(MedianOf([]load.Result{bad}, MsgsPerSec)) {
		t.Error("median of failed runs only is not unknown")
	}
}

// summary is a comparison with known figures: chatd at 95% of the
// baseline's throughput, p99 1.5× at 1000 connections, 5 KiB per idle
// connection at 10,000.
func summary() *Summary {
	st := Settings{Rounds: 3, HoldRounds: 1, Duration: time.Second, Counts: []int{1000, 10000, 19500}, ListRuns: 2}
	s := NewSummary(st)
	s.Traffic[PP100.Key] = &Pair{
		Chatd:    []load.Result{pp(95_000, 500, 2000), pp(90_000, 600, 2200), pp(99_000, 500, 1900)},
		Baseline: []load.Result{pp(100_000, 500, 2000), pp(110_000, 500, 2000), pp(90_000, 500, 2000)},
	}
	s.Traffic[PP100.Key].ChatdCPU = []float64{10, math.NaN(), 12}
	s.Traffic[PP100.Key].BaselineCPU = []float64{8, 8, 8}
	s.Traffic[PP1000.Key] = &Pair{Chatd: []load.Result{pp(50_000, 10_000, 30_000)}, Baseline: []load.Result{pp(60_000, 9_000, 20_000)}}
	s.Traffic[Big.Key] = &Pair{Chatd: []load.Result{pp(16_000, 1, 1)}, Baseline: []load.Result{pp(16_000, 1, 1)}}
	s.Holds[1000] = &Pair{Chatd: []load.Result{hold(1000, 3, 20_000)}, Baseline: []load.Result{hold(1000, 8, 20_000)}}
	s.Holds[10000] = &Pair{Chatd: []load.Result{hold(10000, 5, 20_000)}, Baseline: []load.Result{hold(10000, 8, 20_000)}}
	short := hold(19500, 3, 25_000)
	short.AnsweringEnd = 19499
	short.OK = false
	s.Holds[19500] = &Pair{Chatd: []load.Result{short}, Baseline: []load.Result{hold(19500, 8, 30_000)}}
	s.Chatctl.Note = "n/a (chatctl not built)"
	s.API.Idle = []time.Duration{40 * time.Millisecond, 60 * time.Millisecond}
	s.UnderLoad = Pair{Chatd: []load.Result{pp(80_000, 700, 2400)}, Baseline: []load.Result{pp(90_000, 600, 2000)}}
	return s
}

func rowOf(t *testing.T, tab Table, prefix string) Row {
	t.Helper()
	for _, r := range tab.Rows {
		if strings.HasPrefix(r.Metric, prefix) {
			return r
		}
	}
	t.Fatalf("no row %q in %+v", prefix, tab.Rows)
	return Row{}
}

func TestBuild(t *testing.T) {
	tab := Build(summary())
	for _, tt := range []struct {
		prefix                              string
		chatd, base, ratio, target, verdict string
	}{
		{"100 conns × 64 B ping-pong, msgs/s", "95,000", "100,000", "0.95×", "≥ 0.90×", "yes"},
		{"100 conns × 64 B ping-pong, latency", "0.50 / 2.00 ms", "0.50 / 2.00 ms", "p99 1.00×", "p99 ≤ 1.25×", "yes"},
		{"100 conns × 64 B ping-pong, server CPU", "11.00 µs", "8.00 µs", "1.38×", "", ""},
		{"1,000 conns × 64 B ping-pong, server CPU", "?", "?", "?", "", ""},
		{"1,000 conns × 64 B ping-pong, msgs/s", "50,000", "60,000", "0.83×", "", ""},
		{"1,000 conns × 64 B ping-pong, latency", "10.00 / 30.00 ms", "9.00 / 20.00 ms", "p99 1.50×", "p99 ≤ 1.25×", metNo},
		{"4 conns × 1 MiB ping-pong, MiB/s", "1,000", "1,000", "1.00×", "≥ 0.90×", "yes"},
		{"idle RSS per connection, 1,000 held", "3.00 KiB", "8.00 KiB", "0.38×", "", ""},
		{"idle RSS per connection, 10,000 held", "5.00 KiB", "8.00 KiB", "0.62×", "≤ 4 KiB", metNo},
		{"idle RSS per connection, 19,500 held", "all 1 runs failed", "8.00 KiB", "?", "", ""},
		{"19,500 held: answering", "19,500 / 19,499", "19,500 / 19,500", "", "all", metNo},
		{"`chatctl list` of 19,500 clients, idle", "n/a (chatctl not built)", "n/a (no admin API)", "", "< 500ms", metUnknown},
		{"admin API", "50 / 60 ms", "n/a (no admin API)", "", "", ""},
		{"100 conns × 64 B ping-pong beside 19,500 idle", "0.70 / 2.40 ms", "0.60 / 2.00 ms", "p99 1.20×", "p99 ≤ 1.25×", "yes"},
	} {
		r := rowOf(t, tab, tt.prefix)
		got := [5]string{r.Chatd, r.Baseline, r.Ratio, r.Target, r.Met}
		want := [5]string{tt.chatd, tt.base, tt.ratio, tt.target, tt.verdict}
		if got != want {
			t.Errorf("%s:\n got  %q\n want %q", tt.prefix, got, want)
		}
	}
	// The failed 19,500 run is not counted in the median but is shown.
	if r := rowOf(t, tab, "accept rate"); r.Chatd != "all 1 runs failed" {
		t.Errorf("accept rate with the only run failed: %q", r.Chatd)
	}
}

func TestBuildListingTimes(t *testing.T) {
	s := summary()
	s.Chatctl = Listing{Idle: []time.Duration{120 * time.Millisecond, 480 * time.Millisecond, 130 * time.Millisecond},
		Busy: []time.Duration{300 * time.Millisecond, 520 * time.Millisecond}}
	tab := Build(s)
	if r := rowOf(t, tab, "`chatctl list` of 19,500 clients, idle"); r.Chatd != "130 / 480 ms" || r.Met != "yes" {
		t.Errorf("idle listing row %+v", r)
	}
	// The target holds for every listing: one over 500 ms misses it.
	if r := rowOf(t, tab, "`chatctl list` of 19,500 clients during"); r.Chatd != "410 / 520 ms" || r.Met != metNo {
		t.Errorf("busy listing row %+v", r)
	}
	s.Chatctl.Short = 1
	if r := rowOf(t, Build(s), "`chatctl list` of 19,500 clients, idle"); r.Met != metNo {
		t.Errorf("a listing that missed clients still meets the target: %+v", r)
	}
}

func TestRecordListing(t *testing.T) {
	var l Listing
	l.record(&l.Idle, 10)(time.Second, 10, nil)
	l.record(&l.Idle, 10)(2*time.Second, 9, nil)
	l.record(&l.Busy, 10)(time.Second, 0, errTest)
	if len(l.Idle) != 2 || l.Short != 1 || len(l.Errors) != 1 || len(l.Busy) != 0 {
		t.Errorf("listing %+v", l)
	}
}

var errTest = &testErr{}

type testErr struct{}

func (*testErr) Error() string { return "boom" }

func TestMarkdownAndReport(t *testing.T) {
	var b bytes.Buffer
	Table{Rows: []Row{{Metric: "a|b", Chatd: "1", Baseline: "2", Ratio: "0.50×", Target: "t", Met: "yes"}}}.Markdown(&b)
	want := "| measurement | chatd | baseline | chatd / baseline | target | met |\n" +
		"| --- | ---: | ---: | ---: | --- | --- |\n" +
		"| a\\|b | 1 | 2 | 0.50× | t | yes |\n"
	if b.String() != want {
		t.Errorf("markdown:\n%s\nwant:\n%s", b.String(), want)
	}

	b.Reset()
	s := summary()
	s.Command = "go run ./bench/compare"
	s.Machine = Machine{CPU: "Test CPU", CPUs: 2, Kernel: "6.1", Go: "go1.26"}
	Report(&b, s)
	out := b.String()
	for _, want := range []string{"Test CPU, 2 CPUs", "`go run ./bench/compare`", "| 100 conns × 64 B ping-pong, msgs/s | 95,000 |",
		"95,000 90,000 99,000 | 100,000 110,000 90,000", "as shipped"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}

	// A run stopped before it measured anything still reports.
	b.Reset()
	empty := NewSummary(Defaults(true))
	empty.Errors = []string{"run stopped early: context canceled"}
	Report(&b, empty)
	if !strings.Contains(b.String(), "not measured") || !strings.Contains(b.String(), "run stopped early") {
		t.Errorf("empty report:\n%s", b.String())
	}
}

func TestFormatting(t *testing.T) {
	for _, tt := range []struct {
		f    float64
		want string
	}{{0, "0"}, {999, "999"}, {1000, "1,000"}, {19500, "19,500"}, {1234567.6, "1,234,568"}, {-1500, "-1,500"}, {math.NaN(), "?"}} {
		if got := fmtInt(tt.f); got != tt.want {
			t.Errorf("fmtInt(%v) = %q, want %q", tt.f, got, tt.want)
		}
	}
	if got := fmtBytes(64); got != "64 B" {
		t.Error(got)
	}
	if got := fmtBytes(1 << 20); got != "1 MiB" {
		t.Error(got)
	}
	if got := fmtMs(4912); got != "4.91" {
		t.Error(got)
	}
}

func TestProcCPU(t *testing.T) {
	before, err := ProcCPU(os.Getpid())
	if err != nil {
		t.Skip("no /proc:", err)
	}
	// Spin until the counter moves by 30ms: on a busy machine this
	// process may get a fraction of a CPU, so wall time says little.
	start := time.Now()
	for time.Since(start) < 10*time.Second {
		after, err := ProcCPU(os.Getpid())
		if err != nil {
			t.Fatal(err)
		}
		if after-before >= 30*time.Millisecond {
			return
		}
		for spin := time.Now(); time.Since(spin) < 10*time.Millisecond; {
		}
	}
	t.Errorf("CPU time did not grow by 30ms in 10s of spinning (from %v)", before)
}

func TestCPUPerRoundTrip(t *testing.T) {
	r := load.Result{OK: true, Msgs: 1000, DurationSeconds: 4, WarmupSeconds: 1}
	// 1250 round trips in all; 10 ms of CPU is 8 µs each.
	if got := CPUPerRoundTrip(10*time.Millisecond, r); math.Abs(got-8) > 1e-9 {
		t.Errorf("got %v, want 8", got)
	}
	r.OK = false
	if !math.IsNaN(CPUPerRoundTrip(time.Second, r)) {
		t.Error("a failed run has a CPU figure")
	}
}

func TestBudgetCoversTheRun(t *testing.T) {
	full, quick := Budget(Defaults(false)), Budget(Defaults(true))
	if quick >= full || quick < 5*time.Minute || full > 2*time.Hour {
		t.Errorf("budgets: quick %v, full %v", quick, full)
	}
}
