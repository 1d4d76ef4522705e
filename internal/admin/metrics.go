package admin

import (
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metricsHandler serves /metrics from a registry of its own (not the
// global default, so that nothing else linked into chatd can add to it):
// chatd's collector, plus the standard Go runtime and process metrics.
func metricsHandler(s *Server) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		&collector{s: s},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 4,
	})
}

var (
	descConnections = prometheus.NewDesc("chatd_connections_current",
		"Chat clients connected now.", nil, nil)
	descConnectionsTotal = prometheus.NewDesc("chatd_connections_total",
		"Chat clients served since start.", nil, nil)
	descRejected = prometheus.NewDesc("chatd_connections_rejected_total",
		"Connections turned away because the server was full or out of file descriptors.", nil, nil)
	descSourceFull = prometheus.NewDesc("chatd_connections_source_full_total",
		"Connections turned away because their source had max_clients_per_source clients.", nil, nil)
	descDisconnects = prometheus.NewDesc("chatd_disconnects_total",
		"Chat connections ended, by reason.", []string{"reason"}, nil)
	descAcceptErrors = prometheus.NewDesc("chatd_accept_errors_total",
		"Failed accepts on the chat listener.", nil, nil)
	descReceived = prometheus.NewDesc("chatd_received_bytes_total",
		"Bytes received from chat clients (bytes_in).", nil, nil)
	descSent = prometheus.NewDesc("chatd_sent_bytes_total",
		"Bytes sent to chat clients (bytes_out).", nil, nil)
	descMaxClients = prometheus.NewDesc("chatd_max_clients",
		"The configured limit on concurrent chat clients.", nil, nil)
	descStartTime = prometheus.NewDesc("chatd_start_time_seconds",
		"When chatd started, in seconds since the Unix epoch.", nil, nil)
	descLogDropped = prometheus.NewDesc("chatd_log_lines_dropped_total",
		"Log lines lost because the log output (stderr) was too slow or failed.", nil, nil)
	descIDsSaved = prometheus.NewDesc("chatd_client_ids_saved",
		"1 while client IDs are saved in state_dir; 0 while they cannot be, and come from a clock-derived floor instead.", nil, nil)
	descHeld = prometheus.NewDesc("chatd_connections_held",
		"Connections the service manager's descriptor store keeps for a next process.", nil, nil)
	descRestarts = prometheus.NewDesc("chatd_restarts_survived_total",
		"Restarts (crashes included) whose clients a next chatd took over, since the service started (carried across restarts).", nil, nil)
	descTakenBack = prometheus.NewDesc("chatd_connections_taken_back_total",
		"Connections taken over at those restarts, since the service started (carried across restarts).", nil, nil)
	descLostAtRestart = prometheus.NewDesc("chatd_connections_lost_at_restart_total",
		"Live handed-over connections that could not be served again and were closed with a notice, since the service started (carried across restarts); kicked or closing ones are not counted.", nil, nil)
	descRestartFailures = prometheus.NewDesc("chatd_restart_failures_total",
		"Planned restarts that failed (the exec refused, say) and left this process serving every client on.", nil, nil)
	descDegraded = prometheus.NewDesc("chatd_config_degraded",
		"1 while chatd serves on the last good config because the one it was restarted with is broken.", nil, nil)
	descHandshakesPending = prometheus.NewDesc("chatd_handshakes_pending",
		"Connections in a PROXY header or TLS handshake (stage), or done and not yet served.", []string{"stage"}, nil)
	descHandshakeFailures = prometheus.NewDesc("chatd_handshake_failures_total",
		"Connections closed in a PROXY header or TLS handshake (stage) before being served, by reason.", []string{"stage", "reason"}, nil)
	descBuildInfo = prometheus.NewDesc("chatd_build_info",
		"Always 1; the version label is chatd's version.", []string{"version"}, nil)
)

// collector reads chatd's counters when Prometheus scrapes, and only
// then: the chat server's hot path keeps its own plain atomics and pays
// nothing for metrics.
type collector struct{ s *Server }

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descConnections, descConnectionsTotal, descRejected, descSourceFull,
		descDisconnects, descAcceptErrors, descReceived, descSent, descMaxClients, descStartTime, descLogDropped, descIDsSaved, descBuildInfo,
		descHeld, descRestarts, descTakenBack, descLostAtRestart, descDegraded, descHandshakesPending, descHandshakeFailures, descRestartFailures} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	counters := s.opts.Counters()
	info := s.opts.Info()
	in, out := s.byteTotals(counters)
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge(descConnections, float64(s.opts.Clients.Len()))
	counter(descConnectionsTotal, s.opts.Clients.Total())
	counter(descRejected, counters.Rejected)
	counter(descSourceFull, counters.SourceFull)
	for reason, n := range counters.Disconnects {
		counter(descDisconnects, n, reason)
	}
	counter(descAcceptErrors, counters.AcceptErrors)
	counter(descReceived, in)
	counter(descSent, out)
	gauge(descMaxClients, float64(info.MaxClients))
	gauge(descStartTime, float64(info.StartedAt.UnixNano())/1e9)
	counter(descLogDropped, counters.LogDropped)
	if s.opts.IDs != nil {
		saved := 0.0
		if s.opts.IDs().Saved {
			saved = 1
		}
		gauge(descIDsSaved, saved)
	}
	gauge(descBuildInfo, 1, info.Version)
	sv := counters.Survival
	gauge(descHeld, float64(sv.Held))
	counter(descRestarts, sv.Restarts)
	counter(descTakenBack, sv.TakenBack)
	counter(descLostAtRestart, sv.Lost)
	counter(descRestartFailures, counters.RestartFailures)
	degraded := 0.0
	if sv.Degraded != "" {
		degraded = 1
	}
	gauge(descDegraded, degraded)
	for _, h := range counters.Handshakes {
		gauge(descHandshakesPending, float64(h.Pending), h.Stage)
		for reason, n := range h.Failed {
			counter(descHandshakeFailures, n, h.Stage, reason)
		}
	}
}

// monotonicBytes turns "bytes of closed connections + bytes of live ones"
// into counters that never go down. A connection that ends leaves the
// registry a moment before its bytes are added to the closed total; a
// reading in between would dip, and Prometheus would take the dip for a
// counter reset. Holding the highest total seen hides the dip and costs
// nothing on the hot path.
type monotonicBytes struct {
	mu      sync.Mutex
	in, out uint64
}

func (m *monotonicBytes) observe(in, out uint64) (uint64, uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.in, m.out = max(m.in, in), max(m.out, out)
	return m.in, m.out
}

// byteTotals returns the bytes received and sent since start: those of
// closed connections (from counters, which the caller read just now) plus
// those of live ones. The closed totals are read first, so that a connection ending meanwhile is missed (a dip that
// monotonicBytes hides) rather than counted twice.
func (s *Server) byteTotals(counters Counters) (in, out uint64) {
	live := s.opts.Clients.Totals()
	return s.bytes.observe(counters.ClosedBytesIn+live.BytesIn, counters.ClosedBytesOut+live.BytesOut)
}
