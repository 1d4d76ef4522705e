package compare

import (
	"time"

	"github.com/chatd/chatd/bench/internal/load"
)

// Workload is one ping-pong load, run alike against both servers.
type Workload struct {
	Key   string // short name, e.g. "pp100"
	Conns int
	Size  int // message bytes
}

// The ping-pong workloads of the table.
var (
	PP100  = Workload{Key: "pp100", Conns: 100, Size: 64}
	PP1000 = Workload{Key: "pp1000", Conns: 1000, Size: 64}
	Big    = Workload{Key: "big", Conns: 4, Size: 1 << 20}
	// UnderLoad is the chat traffic run while the most clients are held.
	UnderLoad = Workload{Key: "underload", Conns: 100, Size: 64}
)

// Traffic is the ping-pong workloads in the order a round runs them.
var Traffic = []Workload{PP100, PP1000, Big}

// Pair holds the runs of one measurement against each server, in run order.
type Pair struct {
	Chatd    []load.Result `json:"chatd"`
	Baseline []load.Result `json:"baseline"`
	// CPU is the server's CPU time per round trip of each ping-pong run
	// (µs; NaN unknown), in the same order: on a shared machine it varies
	// far less than throughput does.
	ChatdCPU    []float64 `json:"chatd_cpu_us"`
	BaselineCPU []float64 `json:"baseline_cpu_us"`
}

// AddCPU records a run's server CPU per round trip on the side named by
// chatd.
func (p *Pair) AddCPU(chatd bool, us float64) {
	if chatd {
		p.ChatdCPU = append(p.ChatdCPU, us)
	} else {
		p.BaselineCPU = append(p.BaselineCPU, us)
	}
}

// Add appends r to the side named by chatd.
func (p *Pair) Add(chatd bool, r load.Result) {
	if chatd {
		p.Chatd = append(p.Chatd, r)
	} else {
		p.Baseline = append(p.Baseline, r)
	}
}

// Listing is the timing of one way of listing the held clients.
type Listing struct {
	// Note replaces the figures when there are none ("n/a (chatctl not
	// built)").
	Note string `json:"note,omitempty"`
	// Idle are wall times with only the idle clients connected; Busy while
	// the UnderLoad ping-pong runs beside them.
	Idle []time.Duration `json:"idle_ns"`
	Busy []time.Duration `json:"busy_ns"`
	// Short counts listings that showed fewer clients than were held.
	Short  int      `json:"short"`
	Errors []string `json:"errors"`
}

// Settings are the parameters of a run, printed with the table.
type Settings struct {
	Quick      bool          `json:"quick"`
	Rounds     int           `json:"rounds"`      // A B pairs of each ping-pong workload
	HoldRounds int           `json:"hold_rounds"` // A B pairs of each idle hold
	Duration   time.Duration `json:"duration_ns"` // ping-pong window
	Warmup     time.Duration `json:"warmup_ns"`
	Counts     []int         `json:"counts"` // idle connection counts, ascending
	HoldProcs  int           `json:"hold_procs"`
	ListRuns   int           `json:"list_runs"`
	Profiled   bool          `json:"profiled"` // chatd was a benchprofile build being profiled
}

// Largest is the largest idle count, or 0.
func (s Settings) Largest() int {
	if len(s.Counts) == 0 {
		return 0
	}
	return s.Counts[len(s.Counts)-1]
}

// Summary is everything one comparison measured.
type Summary struct {
	Command   string           `json:"command"`
	Machine   Machine          `json:"machine"`
	Settings  Settings         `json:"settings"`
	Traffic   map[string]*Pair `json:"traffic"` // by Workload.Key
	Holds     map[int]*Pair    `json:"holds"`   // by connection count
	UnderLoad Pair             `json:"under_load"`
	Chatctl   Listing          `json:"chatctl_list"`
	API       Listing          `json:"api_list"`
	Errors    []string         `json:"errors"`
	Started   time.Time        `json:"started"`
	Elapsed   time.Duration    `json:"elapsed_ns"`
}

// NewSummary returns an empty summary for settings.
func NewSummary(st Settings) *Summary {
	s := &Summary{Settings: st, Traffic: map[string]*Pair{}, Holds: map[int]*Pair{}}
	for _, w := range Traffic {
		s.Traffic[w.Key] = &Pair{}
	}
	for _, n := range st.Counts {
		s.Holds[n] = &Pair{}
	}
	return s
}

// Machine is what the run ran on.
type Machine struct {
	CPU        string `json:"cpu"`
	CPUs       int    `json:"cpus"`
	OS         string `json:"os"`
	Kernel     string `json:"kernel"`
	Go         string `json:"go"`
	MemTotal   string `json:"mem_total"`
	NoFile     uint64 `json:"nofile"`
	LoadBefore string `json:"loadavg_before"`
	LoadAfter  string `json:"loadavg_after"`
	Env        string `json:"env,omitempty"` // runtime tuning variables that were set
}
