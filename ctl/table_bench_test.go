package main

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/admin/adminapi"
)

// fleetClients is a listing the size of a full server: n clients with
// addresses, ages and byte counts of realistic widths.
func fleetClients(n int, now time.Time) []adminapi.Client {
	clients := make([]adminapi.Client, n)
	for i := range clients {
		clients[i] = adminapi.Client{
			ID:           uint64(1000 + i),
			RemoteAddr:   fmt.Sprintf("10.%d.%d.%d:%d", i>>16&255, i>>8&255, i&255, 30000+i%30000),
			LocalAddr:    "10.0.0.1:5605",
			ConnectedAt:  now.Add(-time.Duration(i) * time.Second),
			LastActiveAt: now.Add(-time.Duration(i%600) * time.Second),
			BytesIn:      uint64(i * 37),
			BytesOut:     uint64(i * 41),
		}
	}
	return clients
}

// BenchmarkListTable times laying out and rendering `chatctl list` for a
// full server, without the daemon (the target for the whole command is
// under 500 ms for 19,500 clients):
//
//	go test -run '^$' -bench 'BenchmarkList' -benchtime 5x ./ctl/
func BenchmarkListTable(b *testing.B) {
	for _, wide := range []bool{false, true} {
		name := "table"
		if wide {
			name = "wide"
		}
		b.Run(name, func(b *testing.B) {
			now := time.Now()
			clients := fleetClients(19500, now)
			b.ResetTimer()
			for range b.N {
				header, rows := clientRows(clients, wide, now)
				if err := writeTable(io.Discard, header, rows); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkListJSON times `chatctl list -o json` of 19,500 clients
// against a socket that answers with the listing (no daemon): streamed,
// as chatctl does, and decoded whole then encoded whole, as it did
// (target for the whole command: under 200 ms).
func BenchmarkListJSON(b *testing.B) {
	now := time.Now()
	list := adminapi.ClientList{Clients: fleetClients(19500, now), Total: 19500}
	c := serveList(b, list)
	b.Run("streamed", func(b *testing.B) {
		for range b.N {
			if err := writeClientsJSON(context.Background(), io.Discard, c, adminapi.ClientQuery{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("whole", func(b *testing.B) {
		for range b.N {
			l, err := c.ListClients(context.Background(), adminapi.ClientQuery{})
			if err != nil {
				b.Fatal(err)
			}
			if err := printJSON(io.Discard, l); err != nil {
				b.Fatal(err)
			}
		}
	})
}
