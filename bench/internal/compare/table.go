package compare

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/chatd/chatd/bench/internal/load"
)

// The targets chatd is held to against the baseline.
const (
	MinThroughputRatio = 0.90                   // chatd msgs/s and MiB/s ≥ this × baseline
	MaxP99Ratio        = 1.25                   // chatd p99 ≤ this × baseline
	MaxIdleKiB         = 4.0                    // KiB of server RSS per idle connection at TargetIdleCount
	TargetIdleCount    = 10000                  // where MaxIdleKiB applies
	MaxListTime        = 500 * time.Millisecond // chatctl list with the most clients held
)

// Row is one line of the table; every cell is already formatted.
type Row struct {
	Metric   string
	Chatd    string
	Baseline string
	Ratio    string // chatd/baseline
	Target   string
	Met      string // "yes", "NO", "" (no target) or "?" (not measured)
}

// Table is the comparison as printed.
type Table struct {
	Rows []Row
}

// Verdicts.
const (
	metYes     = "yes"
	metNo      = "**NO**"
	metUnknown = "?"
)

func verdict(ok, known bool) string {
	switch {
	case !known:
		return metUnknown
	case ok:
		return metYes
	}
	return metNo
}

// Build turns a summary into the table.
func Build(s *Summary) Table {
	var t Table
	add := func(r Row) { t.Rows = append(t.Rows, r) }

	for _, w := range Traffic {
		p := s.Traffic[w.Key]
		if p == nil {
			continue
		}
		name := fmt.Sprintf("%s conns × %s ping-pong", fmtInt(float64(w.Conns)), fmtBytes(w.Size))
		if w.Size >= 1<<20 {
			c, b := MedianOf(p.Chatd, MiBPerSec), MedianOf(p.Baseline, MiBPerSec)
			r, ok := PairedRatio(p.Chatd, p.Baseline, MiBPerSec)
			add(Row{Metric: name + ", MiB/s", Chatd: cell(fmtNum(c), p.Chatd), Baseline: cell(fmtNum(b), p.Baseline),
				Ratio: fmtRatio(r, ok), Target: fmt.Sprintf("≥ %.2f×", MinThroughputRatio), Met: verdict(r >= MinThroughputRatio, ok)})
			add(cpuRow(name+", server CPU per round trip", p))
			continue
		}
		c, b := MedianOf(p.Chatd, MsgsPerSec), MedianOf(p.Baseline, MsgsPerSec)
		r, ok := PairedRatio(p.Chatd, p.Baseline, MsgsPerSec)
		row := Row{Metric: name + ", msgs/s", Chatd: cell(fmtInt(c), p.Chatd), Baseline: cell(fmtInt(b), p.Baseline),
			Ratio: fmtRatio(r, ok)}
		if w == PP100 {
			row.Target, row.Met = fmt.Sprintf("≥ %.2f×", MinThroughputRatio), verdict(r >= MinThroughputRatio, ok)
		}
		add(row)
		add(latencyRow(name+", latency p50 / p99", p.Chatd, p.Baseline))
		add(cpuRow(name+", server CPU per round trip", p))
	}

	for _, n := range s.Settings.Counts {
		p := s.Holds[n]
		if p == nil {
			continue
		}
		c, b := MedianOf(p.Chatd, RSSPerConn), MedianOf(p.Baseline, RSSPerConn)
		r, ok := PairedRatio(p.Chatd, p.Baseline, RSSPerConn)
		row := Row{Metric: fmt.Sprintf("idle RSS per connection, %s held", fmtInt(float64(n))),
			Chatd: cell(fmtKiB(c), p.Chatd), Baseline: cell(fmtKiB(b), p.Baseline), Ratio: fmtRatio(r, ok)}
		if n == TargetIdleCount {
			row.Target = fmt.Sprintf("≤ %.0f KiB", MaxIdleKiB)
			row.Met = verdict(c <= MaxIdleKiB, !math.IsNaN(c))
		}
		add(row)
	}

	if n := s.Settings.Largest(); n > 0 && s.Holds[n] != nil {
		p := s.Holds[n]
		add(Row{Metric: fmt.Sprintf("%s held: answering after connect / after hold", fmtInt(float64(n))),
			Chatd: answering(p.Chatd), Baseline: answering(p.Baseline), Target: "all",
			Met: verdict(allAnswered(p.Chatd, n), len(p.Chatd) > 0)})
		c, b := MedianOf(p.Chatd, ConnsPerS), MedianOf(p.Baseline, ConnsPerS)
		r, ok := PairedRatio(p.Chatd, p.Baseline, ConnsPerS)
		add(Row{Metric: fmt.Sprintf("accept rate while connecting %s, conns/s", fmtInt(float64(n))),
			Chatd: cell(fmtInt(c), p.Chatd), Baseline: cell(fmtInt(b), p.Baseline), Ratio: fmtRatio(r, ok)})
		add(listRow(fmt.Sprintf("`chatctl list` of %s clients, idle: median / max", fmtInt(float64(n))), s.Chatctl, s.Chatctl.Idle, true))
		add(listRow(fmt.Sprintf("`chatctl list` of %s clients during chat traffic: median / max", fmtInt(float64(n))), s.Chatctl, s.Chatctl.Busy, true))
		add(listRow("admin API `GET /v1/clients` (HTTP + JSON decode), idle: median / max", s.API, s.API.Idle, false))
		row := latencyRow(fmt.Sprintf("%s conns × 64 B ping-pong beside %s idle, latency p50 / p99",
			fmtInt(float64(UnderLoad.Conns)), fmtInt(float64(n))), s.UnderLoad.Chatd, s.UnderLoad.Baseline)
		add(row)
	}
	return t
}

// latencyRow shows p50 / p99 and judges the p99 ratio.
func latencyRow(name string, chatd, base []load.Result) Row {
	c50, c99 := MedianOf(chatd, P50us), MedianOf(chatd, P99us)
	b50, b99 := MedianOf(base, P50us), MedianOf(base, P99us)
	r, ok := PairedRatio(chatd, base, P99us)
	return Row{Metric: name, Chatd: cell(fmtMs(c50)+" / "+fmtMs(c99)+" ms", chatd),
		Baseline: cell(fmtMs(b50)+" / "+fmtMs(b99)+" ms", base), Ratio: "p99 " + fmtRatio(r, ok),
		Target: fmt.Sprintf("p99 ≤ %.2f×", MaxP99Ratio), Met: verdict(r <= MaxP99Ratio, ok)}
}

// cpuRow shows the servers' CPU time per round trip: no target, but on a
// shared machine the steadiest measure of what chatd costs over the
// baseline.
func cpuRow(name string, p *Pair) Row {
	c, b := medianKnown(p.ChatdCPU), medianKnown(p.BaselineCPU)
	r, ok := PairedRatioOf(p.ChatdCPU, p.BaselineCPU)
	return Row{Metric: name, Chatd: fmtUs(c), Baseline: fmtUs(b), Ratio: fmtRatio(r, ok)}
}

// medianKnown is the median of the values that are not NaN.
func medianKnown(xs []float64) float64 {
	var k []float64
	for _, x := range xs {
		if !math.IsNaN(x) {
			k = append(k, x)
		}
	}
	return Median(k)
}

func fmtUs(us float64) string {
	if math.IsNaN(us) {
		return "?"
	}
	if us >= 100 {
		return fmtInt(us) + " µs"
	}
	return strconv.FormatFloat(us, 'f', 2, 64) + " µs"
}

func listRow(name string, l Listing, ds []time.Duration, target bool) Row {
	row := Row{Metric: name, Baseline: "n/a (no admin API)"}
	if target {
		row.Target = "< " + MaxListTime.String()
	}
	switch {
	case l.Note != "":
		row.Chatd = l.Note
		if target {
			row.Met = metUnknown
		}
		return row
	case len(ds) == 0:
		row.Chatd = "not measured"
		if len(l.Errors) > 0 {
			row.Chatd = "failed: " + l.Errors[0]
		}
		if target {
			row.Met = metUnknown
		}
		return row
	}
	row.Chatd = fmtDur(MedianDuration(ds)) + " / " + fmtDur(MaxDuration(ds)) + " ms"
	if l.Short > 0 || len(l.Errors) > 0 {
		row.Chatd += fmt.Sprintf(" (%d short, %d failed)", l.Short, len(l.Errors))
	}
	if target {
		row.Met = verdict(MaxDuration(ds) < MaxListTime && l.Short == 0 && len(l.Errors) == 0, true)
	}
	return row
}

func answering(rs []load.Result) string {
	if len(rs) == 0 {
		return "not measured"
	}
	// The worst run is the one to show.
	worst := rs[0]
	for _, r := range rs[1:] {
		if r.Answering+r.AnsweringEnd < worst.Answering+worst.AnsweringEnd {
			worst = r
		}
	}
	s := fmtInt(float64(worst.Answering)) + " / " + fmtInt(float64(worst.AnsweringEnd))
	if len(rs) > 1 {
		s += fmt.Sprintf(" (worst of %d)", len(rs))
	}
	return s
}

func allAnswered(rs []load.Result, n int) bool {
	for _, r := range rs {
		if !r.OK || r.Answering != n || r.AnsweringEnd != n {
			return false
		}
	}
	return len(rs) > 0
}

// cell appends how many of the runs behind a figure failed, if any did.
func cell(s string, rs []load.Result) string {
	if len(rs) == 0 {
		return "not measured"
	}
	if f := Failed(rs); f > 0 {
		if f == len(rs) {
			return fmt.Sprintf("all %d runs failed", f)
		}
		return fmt.Sprintf("%s (%d of %d runs failed)", s, f, len(rs))
	}
	return s
}

// Markdown writes the table as a GitHub-flavoured Markdown table.
func (t Table) Markdown(w io.Writer) {
	fmt.Fprintln(w, "| measurement | chatd | baseline | chatd / baseline | target | met |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | --- | --- |")
	for _, r := range t.Rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", esc(r.Metric), esc(r.Chatd), esc(r.Baseline),
			esc(r.Ratio), esc(r.Target), r.Met)
	}
}

func esc(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// Report writes the whole comparison: what ran where, the table, and the
// figure of every round.
func Report(w io.Writer, s *Summary) {
	m, st := s.Machine, s.Settings
	fmt.Fprintf(w, "chatd vs baseline — %s, %s\n\n", s.Started.UTC().Format("2006-01-02 15:04 MST"), mode(st))
	fmt.Fprintf(w, "Machine: %s, %d CPUs, %s %s, %s, %s RAM, open files %d per process; load average %s before, %s after",
		m.CPU, m.CPUs, m.OS, m.Kernel, m.Go, m.MemTotal, m.NoFile, m.LoadBefore, m.LoadAfter)
	if m.Env != "" {
		fmt.Fprintf(w, "; environment %s", m.Env)
	}
	fmt.Fprintln(w, ".")
	fmt.Fprintln(w)
	Build(s).Markdown(w)
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Command: `%s` (%s).\n", s.Command, fmtElapsed(s.Elapsed))
	fmt.Fprintf(w, "Ping-pong: %s, chatd and baseline alternately (A B A B …), each run %s measured after %s warmup; "+
		"every reply verified; figures are medians of the rounds, and chatd / baseline is the median of the rounds' own ratios "+
		"(the two runs of a round are back to back, so a ratio compares like with like while the machine's load drifts). Server CPU per round trip is the server's user+system "+
		"time (/proc/PID/stat) over the run, warmup included, divided by its round trips.\n", plural(st.Rounds, "round"), st.Duration, st.Warmup)
	fmt.Fprintf(w, "Idle RSS: each count held on a freshly started server (%s, A B alternately, medians): "+
		"(VmRSS once all answered − VmRSS of the empty server) / count; the load generator is %s.\n",
		plural(st.HoldRounds, "round"), plural(st.HoldProcs, "chatbench process"))
	fmt.Fprintf(w, "While %s clients are held: `chatctl list` %d× idle, then the %d × 64 B ping-pong runs while `chatctl list` runs %d× more.\n",
		fmtInt(float64(st.Largest())), st.ListRuns, UnderLoad.Conns, st.ListRuns)
	fmt.Fprintln(w, "chatd runs as shipped: `chatd run` with its default info logging (every connect and disconnect) to a pipe "+
		"that is drained to a file, write_timeout 30s; only listen, max_clients (19,900), admin socket and state_dir are set. "+
		"No CPU pinning: servers and load generator share the machine's cores, with other users' work.")
	if len(s.Errors) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Problems:")
		for _, e := range s.Errors {
			fmt.Fprintf(w, "- %s\n", e)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Every round (chatd | baseline):")
	for _, wl := range Traffic {
		p := s.Traffic[wl.Key]
		if p == nil {
			continue
		}
		metric, unit := MsgsPerSec, "msgs/s"
		if wl.Size >= 1<<20 {
			metric, unit = MiBPerSec, "MiB/s"
		}
		fmt.Fprintf(w, "- %s conns × %s, %s: %s | %s; p99 ms: %s | %s; server CPU µs per round trip: %s | %s\n",
			fmtInt(float64(wl.Conns)), fmtBytes(wl.Size), unit,
			series(p.Chatd, metric, fmtInt), series(p.Baseline, metric, fmtInt),
			series(p.Chatd, P99us, fmtMs), series(p.Baseline, P99us, fmtMs),
			floats(p.ChatdCPU), floats(p.BaselineCPU))
	}
	for _, n := range st.Counts {
		p := s.Holds[n]
		fmt.Fprintf(w, "- %s idle, KiB/conn: %s | %s; conns/s: %s | %s\n", fmtInt(float64(n)),
			series(p.Chatd, RSSPerConn, fmtKiB), series(p.Baseline, RSSPerConn, fmtKiB),
			series(p.Chatd, ConnsPerS, fmtInt), series(p.Baseline, ConnsPerS, fmtInt))
	}
	if len(s.UnderLoad.Chatd)+len(s.UnderLoad.Baseline) > 0 {
		fmt.Fprintf(w, "- ping-pong beside %s idle, p99 ms: %s | %s\n", fmtInt(float64(st.Largest())),
			series(s.UnderLoad.Chatd, P99us, fmtMs), series(s.UnderLoad.Baseline, P99us, fmtMs))
	}
	for _, l := range []struct {
		name string
		l    Listing
	}{{"chatctl list", s.Chatctl}, {"GET /v1/clients", s.API}} {
		if l.l.Note == "" && len(l.l.Idle)+len(l.l.Busy) > 0 {
			fmt.Fprintf(w, "- %s ms, idle: %s; during traffic: %s\n", l.name, durations(l.l.Idle), durations(l.l.Busy))
		}
		for _, e := range l.l.Errors {
			fmt.Fprintf(w, "- %s failed: %s\n", l.name, e)
		}
	}
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	if strings.HasSuffix(what, "s") {
		return strconv.Itoa(n) + " " + what + "es"
	}
	return strconv.Itoa(n) + " " + what + "s"
}

func mode(st Settings) string {
	m := "full run"
	if st.Quick {
		m = "quick run (indicative only)"
	}
	if st.Profiled {
		m += ", chatd profiled (figures perturbed)"
	}
	return m
}

func series(rs []load.Result, m Metric, f func(float64) string) string {
	if len(rs) == 0 {
		return "-"
	}
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = f(m(r))
		if !r.OK {
			parts[i] += "(failed)"
		}
	}
	return strings.Join(parts, " ")
}

func floats(xs []float64) string {
	if len(xs) == 0 {
		return "-"
	}
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strings.TrimSuffix(fmtUs(x), " µs")
	}
	return strings.Join(parts, " ")
}

func durations(ds []time.Duration) string {
	if len(ds) == 0 {
		return "-"
	}
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = fmtDur(d)
	}
	return strings.Join(parts, " ")
}

// fmtInt formats a count with thousands separators ("19,500").
func fmtInt(f float64) string {
	if math.IsNaN(f) {
		return "?"
	}
	s := strconv.FormatInt(int64(math.Round(f)), 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// fmtNum formats a rate: thousands separators from 100 up, one decimal below.
func fmtNum(f float64) string {
	if math.IsNaN(f) {
		return "?"
	}
	if math.Abs(f) >= 100 {
		return fmtInt(f)
	}
	return strconv.FormatFloat(f, 'f', 1, 64)
}

// fmtMs formats microseconds as milliseconds.
func fmtMs(us float64) string {
	if math.IsNaN(us) {
		return "?"
	}
	return strconv.FormatFloat(us/1000, 'f', 2, 64)
}

func fmtDur(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 0, 64)
}

func fmtKiB(k float64) string {
	if math.IsNaN(k) {
		return "?"
	}
	return strconv.FormatFloat(k, 'f', 2, 64) + " KiB"
}

func fmtRatio(r float64, ok bool) string {
	if !ok {
		return "?"
	}
	return strconv.FormatFloat(r, 'f', 2, 64) + "×"
}

func fmtBytes(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.Itoa(n>>20) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.Itoa(n>>10) + " KiB"
	}
	return strconv.Itoa(n) + " B"
}

func fmtElapsed(d time.Duration) string {
	return "took " + d.Round(time.Second).String()
}
