package admin

import (
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func TestMetricsReadTheCountersAtScrapeTime(t *testing.T) {
	f := newFixture(t, "")
	f.addClient(40001, 10, 20)
	f.addClient(40002, 1, 2)
	f.addClient(40003, 0, 0)
	f.reg.Remove(3)

	w := f.do(root, "GET", "/metrics", nil)
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(w.Body.String()))
	if err != nil {
		t.Fatalf("metrics do not parse: %v\n%s", err, w.Body)
	}
	value := func(name string, labels ...string) float64 {
		t.Helper()
		mf, ok := families[name]
		if !ok {
			t.Fatalf("no %s in\n%s", name, w.Body)
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					found = found || lp.GetName() == labels[i] && lp.GetValue() == labels[i+1]
				}
				if !found {
					continue metrics
				}
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
		t.Fatalf("no %s%v", name, labels)
		return 0
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"chatd_client_ids_saved", nil, 1},
		{"chatd_connections_current", nil, 2},
		{"chatd_connections_total", nil, 3},
		{"chatd_connections_rejected_total", nil, 3},
		{"chatd_connections_source_full_total", nil, 5},
		{"chatd_accept_errors_total", nil, 2},
		{"chatd_disconnects_total", []string{"reason", "eof"}, 4},
		{"chatd_disconnects_total", []string{"reason", "kicked"}, 1},
		{"chatd_received_bytes_total", nil, 1000 + 10 + 1},
		{"chatd_sent_bytes_total", nil, 2000 + 20 + 2},
		{"chatd_max_clients", nil, 100},
		{"chatd_start_time_seconds", nil, float64(f.started.Unix())},
		{"chatd_build_info", []string{"version", "1.2.3"}, 1},
		{"chatd_connections_held", nil, 1},
		{"chatd_restarts_survived_total", nil, 2},
		{"chatd_connections_taken_back_total", nil, 3},
		{"chatd_connections_lost_at_restart_total", nil, 4},
		{"chatd_config_degraded", nil, 0},
		{"chatd_handshakes_pending", []string{"stage", "tls"}, 7},
		{"chatd_handshake_failures_total", []string{"stage", "tls", "reason", "timeout"}, 8},
		{"chatd_handshake_failures_total", []string{"stage", "tls", "reason", "displaced"}, 9},
	} {
		if got := value(c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if families["chatd_disconnects_total"].GetType().String() != "COUNTER" {
		t.Error("chatd_disconnects_total is not a counter")
	}
	for _, std := range []string{"go_goroutines", "process_open_fds"} {
		if _, ok := families[std]; !ok {
			t.Errorf("standard metric %s missing", std)
		}
	}
	for name := range families {
		if !strings.HasPrefix(name, "chatd_") && !strings.HasPrefix(name, "go_") && !strings.HasPrefix(name, "process_") {
			t.Errorf("unexpected metric %s (chatd's own metrics are prefixed chatd_)", name)
		}
	}
}

// Each admin server has its own metrics registry: two in one process (as
// in tests, or a restart in place) must not collide.
func TestTwoServersDoNotShareMetrics(t *testing.T) {
	a, b := newFixture(t, ""), newFixture(t, "")
	a.addClient(1, 0, 0)
	for _, f := range []*fixture{a, b} {
		if w := f.do(root, "GET", "/metrics", nil); w.Code != 200 {
			t.Fatalf("status %d", w.Code)
		}
	}
	if !strings.Contains(b.do(root, "GET", "/metrics", nil).Body.String(), "chatd_connections_current 0") {
		t.Fatal("the second server reports the first one's clients")
	}
}
