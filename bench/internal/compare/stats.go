package compare

import (
	"math"
	"slices"
	"time"

	"github.com/chatd/chatd/bench/internal/load"
)

// Median is the middle of xs (the mean of the two middle values for an even
// count); NaN for none. xs is not modified.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Ratio is a/b, and false when it means nothing (b zero, either unknown).
func Ratio(a, b float64) (float64, bool) {
	if math.IsNaN(a) || math.IsNaN(b) || b == 0 {
		return math.NaN(), false
	}
	return a / b, true
}

// MedianDuration is the median of ds; 0 for none.
func MedianDuration(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	xs := make([]float64, len(ds))
	for i, d := range ds {
		xs[i] = float64(d)
	}
	return time.Duration(Median(xs))
}

// MaxDuration is the largest of ds; 0 for none.
func MaxDuration(ds []time.Duration) time.Duration {
	var m time.Duration
	for _, d := range ds {
		m = max(m, d)
	}
	return m
}

// Metric picks one number out of a result.
type Metric func(load.Result) float64

// The metrics the table shows.
var (
	MsgsPerSec Metric = func(r load.Result) float64 { return r.MsgsPerSec }
	MiBPerSec  Metric = func(r load.Result) float64 { return r.MiBPerSec }
	P50us      Metric = func(r load.Result) float64 { return float64(r.Latency.P50) }
	P99us      Metric = func(r load.Result) float64 { return float64(r.Latency.P99) }
	RSSPerConn Metric = func(r load.Result) float64 { return r.RSSPerConnKiB }
	ConnsPerS  Metric = func(r load.Result) float64 { return r.ConnsPerSec }
)

// MedianOf is the median of m over the runs that were OK; NaN if none was.
func MedianOf(rs []load.Result, m Metric) float64 {
	var xs []float64
	for _, r := range rs {
		if r.OK {
			xs = append(xs, m(r))
		}
	}
	return Median(xs)
}

// Failed counts the runs that were not OK.
func Failed(rs []load.Result) int {
	n := 0
	for _, r := range rs {
		if !r.OK {
			n++
		}
	}
	return n
}

// PairedRatio is the median over rounds of chatd's figure divided by the
// baseline's in the same round, skipping rounds where either run failed.
// The two runs of a round are back to back, so on a machine whose load
// drifts this compares like with like better than a ratio of medians.
func PairedRatio(chatd, base []load.Result, m Metric) (float64, bool) {
	var rs []float64
	for i := range min(len(chatd), len(base)) {
		if chatd[i].OK && base[i].OK {
			if r, ok := Ratio(m(chatd[i]), m(base[i])); ok {
				rs = append(rs, r)
			}
		}
	}
	if len(rs) == 0 {
		return math.NaN(), false
	}
	return Median(rs), true
}

// PairedRatioOf is PairedRatio for figures already extracted (NaN for
// unknown).
func PairedRatioOf(chatd, base []float64) (float64, bool) {
	var rs []float64
	for i := range min(len(chatd), len(base)) {
		if r, ok := Ratio(chatd[i], base[i]); ok {
			rs = append(rs, r)
		}
	}
	if len(rs) == 0 {
		return math.NaN(), false
	}
	return Median(rs), true
}
