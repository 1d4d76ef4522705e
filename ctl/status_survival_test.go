package main

import (
	"reflect"
	"testing"

	"github.com/chatd/chatd/internal/admin/adminapi"
)

func TestSurvivalLines(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   adminapi.Survival
		want [][2]string
	}{
		{"off", adminapi.Survival{}, [][2]string{{"survival", "off (clients are disconnected by a restart)"}}},
		{"on", adminapi.Survival{Enabled: true, Held: 2, Restarts: 1, TakenBack: 2},
			[][2]string{{"survival", "on: 2 held in the store"}, {"restarts", "1 survived, 2 clients taken back, 0 lost"}}},
		{"broken config", adminapi.Survival{Enabled: true, Degraded: "max_clients: not a number"},
			[][2]string{{"survival", "on: 0 held in the store"}, {"restarts", "0 survived, 0 clients taken back, 0 lost"},
				{"CONFIG", "BROKEN, serving on the last good one: max_clients: not a number"}}},
		{"restarts in place", adminapi.Survival{Enabled: true, InPlace: true, Restarts: 2, TakenBack: 5},
			[][2]string{{"survival", "on: chatctl restart restarts in place (a crash drops the clients)"},
				{"restarts", "2 survived, 5 clients taken back, 0 lost"}}},
		{"broken certificate after a restart in place", adminapi.Survival{Enabled: true, InPlace: true, Restarts: 1, TakenBack: 1,
			Degraded: "tls.cert_file: no PEM"},
			[][2]string{{"survival", "on: chatctl restart restarts in place (a crash drops the clients)"},
				{"restarts", "1 survived, 1 clients taken back, 0 lost"},
				{"CONFIG", "BROKEN, serving on the last good one: tls.cert_file: no PEM"}}},
		{"broken config, survival off", adminapi.Survival{Degraded: "tls.cert_file: no PEM"},
			[][2]string{{"survival", "off (clients are disconnected by a restart)"},
				{"CONFIG", "BROKEN, serving on the last good one: tls.cert_file: no PEM"}}},
	} {
		if got := survivalLines(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}
