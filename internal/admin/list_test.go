package admin

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/admin/adminapi"
	"github.com/chatd/chatd/internal/registry"
)

func TestSelectClients(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	all := []registry.Info{
		{ID: 1, RemoteAddr: "10.1.2.3:4000", ConnectedAt: now.Add(-time.Hour), LastActiveAt: now.Add(-10 * time.Minute), BytesIn: 5, BytesOut: 50},
		{ID: 2, RemoteAddr: "192.0.2.7:4001", ConnectedAt: now.Add(-3 * time.Hour), LastActiveAt: now.Add(-time.Second), BytesIn: 500, BytesOut: 5},
		{ID: 3, RemoteAddr: "[::ffff:10.9.9.9]:4002", ConnectedAt: now.Add(-2 * time.Hour), LastActiveAt: now.Add(-time.Hour), BytesIn: 50, BytesOut: 500},
		{ID: 4, RemoteAddr: "[2001:db8::1]:4003", ConnectedAt: now.Add(-time.Minute), LastActiveAt: now.Add(-5 * time.Minute), BytesIn: 500, BytesOut: 0},
	}
	for _, tc := range []struct {
		query string
		want  []uint64
	}{
		{"", []uint64{1, 2, 3, 4}},
		{"remote=10.0.0.0/8", []uint64{1, 3}},
		{"remote=192.0.2.7", []uint64{2}},
		{"remote=192.0.2.8", nil},
		{"remote=2001:db8::/32", []uint64{4}},
		{"idle_over=5m", []uint64{1, 3}}, // exactly 5m idle is not over 5m
		{"idle_over=4m59s", []uint64{1, 3, 4}},
		{"sort=idle", []uint64{3, 1, 4, 2}},
		{"sort=connected", []uint64{2, 3, 1, 4}},
		{"sort=in", []uint64{2, 4, 3, 1}}, // 2 and 4 tie: by ID
		{"sort=out", []uint64{3, 1, 2, 4}},
		{"sort=id&limit=2", []uint64{1, 2}},
		{"sort=idle&limit=1&remote=10.0.0.0/8", []uint64{3}},
		{"limit=10", []uint64{1, 2, 3, 4}},
	} {
		v, _ := url.ParseQuery(tc.query)
		q, err := adminapi.ParseClientQuery(v)
		if err != nil {
			t.Fatalf("%q: %v", tc.query, err)
		}
		var got []uint64
		for _, info := range selectClients(slices.Clone(all), q, now) {
			got = append(got, info.ID)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%q: got %v, want %v", tc.query, got, tc.want)
		}
	}
}

func TestListQueryIsChecked(t *testing.T) {
	f := newFixture(t, "")
	f.addClient(40001, 1, 1)
	for _, query := range []string{
		"remote=10.0.0.300", "remote=10.0.0.0/33", "remote=host.example",
		"idle_over=5", "idle_over=-1m", "sort=name", "limit=0", "limit=-3", "limit=x",
		"limit=1&limit=2", "sorting=id",
	} {
		w := f.do(root, "GET", "/v1/clients?"+query, nil)
		body := w.Body.String()
		var e adminapi.Error
		if w.Code != 400 || json.Unmarshal([]byte(body), &e) != nil || e.Error == "" ||
			strings.Count(strings.TrimSpace(body), "\n") > 0 {
			t.Errorf("%s: %d %q, want 400 with a one-line JSON error", query, w.Code, body)
		}
	}
}

func TestListCountsAllClients(t *testing.T) {
	f := newFixture(t, "")
	for port := 40001; port <= 40005; port++ {
		f.addClient(port, port-40000, 0)
	}
	w := f.do(root, "GET", "/v1/clients?sort=in&limit=2", nil)
	var list adminapi.ClientList
	if err := json.Unmarshal(w.Body.Bytes(), &list); err != nil {
		t.Fatalf("%d %s: %v", w.Code, w.Body, err)
	}
	if list.Total != 5 || len(list.Clients) != 2 || list.Clients[0].BytesIn != 5 || list.Clients[1].BytesIn != 4 {
		t.Fatalf("got %+v", list)
	}
}
