package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/admin/adminapi"
	"github.com/chatd/chatd/internal/admin/adminclient"
	"github.com/chatd/chatd/internal/testbin"
)

// BenchmarkListFleet times the real chatctl listing the release chatd
// with 19,500 connected clients (the load is this process, chatd another:
// each stays under the 20,000 open files a process may have here). The
// targets: list under 500 ms, -o json under 200 ms, per run of the
// command. "api" is GET /v1/clients alone, read and decoded as chatctl
// does, for comparison:
//
//	go test -run '^$' -bench BenchmarkListFleet -benchtime 5x ./ctl/
func BenchmarkListFleet(b *testing.B) {
	const clients = 19500
	d := testbin.StartChatd(b, testbin.Options{Binary: "chatd-release",
		Config: "max_clients: 19600\nlog:\n  level: info\n  format: json\n"})
	conns := connectMany(b, d.Addr, clients)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	waitConnected(b, d, clients)
	for _, bc := range []struct {
		name string
		args []string
		want string // in the output, to know the listing was whole
	}{
		{"table", []string{"list"}, "\n19500 clients\n"},
		{"wide", []string{"list", "-o", "wide"}, "\n19500 clients\n"},
		{"json", []string{"list", "-o", "json"}, `"total": 19500`},
		{"table-filtered", []string{"list", "--sort", "idle", "--limit", "50"}, "\n50 of 19500 clients\n"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var total time.Duration
			for range b.N {
				start := time.Now()
				r := ctlBench(b, append([]string{"--socket", d.Socket}, bc.args...)...)
				total += time.Since(start)
				if r.code != 0 || !strings.Contains(r.stdout, bc.want) {
					b.Fatalf("%v: exit %d, stderr %q, output ends %q", bc.args, r.code, r.stderr, r.stdout[max(0, len(r.stdout)-200):])
				}
			}
			b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/run")
		})
	}
	b.Run("api", func(b *testing.B) {
		c := adminclient.New(d.Socket)
		for range b.N {
			n := 0
			if _, err := c.EachClient(context.Background(), adminapi.ClientQuery{}, func(adminapi.Client) error { n++; return nil }); err != nil || n != clients {
				b.Fatalf("listed %d clients: %v", n, err)
			}
		}
	})
}
