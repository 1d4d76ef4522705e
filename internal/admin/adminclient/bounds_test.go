package adminclient_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/admin/adminapi"
	"github.com/chatd/chatd/internal/admin/adminclient"
)

// hostileEntry is one client as a chatd would send it.
const hostileEntry = `{"id":%d,"remote_addr":"192.0.2.1:1234","local_addr":"127.0.0.1:5605","connected_at":"2026-12-08T00:00:00Z","last_active_at":"2026-12-08T00:00:00Z","bytes_in":0,"bytes_out":0}`

// endless writes what body starts with and then repeats until the reader
// goes away (at most maxWrites times, for a minute at most).
func endless(w http.ResponseWriter, start string, repeat func(i int) string) {
	w.Header().Set("Content-Type", "application/json")
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString(start)
	deadline := time.Now().Add(time.Minute)
	for i := 1; i <= 50_000_000 && time.Now().Before(deadline); i++ {
		if _, err := bw.WriteString(repeat(i)); err != nil {
			return
		}
	}
}

// A hostile program on the socket cannot make chatctl hold what it
// sends: a listing ends, with one line, at what a real chatd with the
// max_clients it claims could send, at an entry larger than a real one,
// at an address no real client has; the other answers at a size no real
// one has.
func TestHostileAnswersAreBounded(t *testing.T) {
	for _, tc := range []struct {
		name  string
		limit int
		serve func(w http.ResponseWriter, r *http.Request)
		call  func(c *adminclient.Client) error
		want  string
	}{
		{name: "endless list, status says max_clients 1000",
			serve: func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == adminapi.PathStatus {
					w.Header().Set("Content-Type", "application/json")
					fmt.Fprint(w, `{"max_clients":1000,"clients_connected":10}`)
					return
				}
				endless(w, `{"clients":[`+fmt.Sprintf(hostileEntry, 0), func(i int) string { return "," + fmt.Sprintf(hostileEntry, i) })
			},
			want: "sent more than 1200 clients, more than its max_clients of 1000 allows; chatctl stopped reading it"},
		{name: "endless list with a --limit", limit: 5,
			serve: func(w http.ResponseWriter, r *http.Request) {
				endless(w, `{"clients":[`+fmt.Sprintf(hostileEntry, 0), func(i int) string { return "," + fmt.Sprintf(hostileEntry, i) })
			},
			want: "sent more than 5 clients, more than the --limit of 5 allows; chatctl stopped reading it"},
		{name: "an endless address",
			serve: func(w http.ResponseWriter, r *http.Request) {
				endless(w, `{"clients":[{"id":1,"remote_addr":"`, func(int) string { return "AAAAAAAAAAAAAAAA" })
			},
			want: "sent an entry of the client list of more than 65536 bytes; chatctl stopped reading it"},
		{name: "an endless member chatctl does not know",
			serve: func(w http.ResponseWriter, r *http.Request) {
				endless(w, `{"padding":[`, func(int) string { return "1," })
			},
			want: "sent an entry of the client list of more than 65536 bytes"},
		{name: "an address no client has",
			serve: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, `{"clients":[{"id":1,"remote_addr":"%s"}],"total":1}`, strings.Repeat("9", 200))
			},
			want: "sent a client address of more than 128 bytes"},
		{name: "endless status",
			serve: func(w http.ResponseWriter, r *http.Request) {
				endless(w, `{"version":"`, func(int) string { return "vvvvvvvvvvvvvvvv" })
			},
			call: func(c *adminclient.Client) error { _, err := c.Status(context.Background()); return err },
			want: "sent an answer larger than a real chatd's; chatctl stopped reading it"},
		{name: "endless bulk kick",
			serve: func(w http.ResponseWriter, r *http.Request) {
				endless(w, `{"results":[{"id":0,"result":"disconnected"}`, func(i int) string { return fmt.Sprintf(`,{"id":%d,"result":"disconnected"}`, i) })
			},
			call: func(c *adminclient.Client) error {
				_, err := c.KickMany(context.Background(), adminapi.BulkKick{IDs: []uint64{1, 2}})
				return err
			},
			want: "sent an answer larger than a real chatd's"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := adminclient.New(serve(t, tc.serve))
			defer c.Close()
			var err error
			if tc.call != nil {
				err = tc.call(c)
			} else {
				_, err = c.ListClients(context.Background(), adminapi.ClientQuery{Limit: tc.limit})
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err %v, want one line with %q", err, tc.want)
			}
		})
	}
}

// The hosts listed at once share one budget: a listing that a host alone
// could send is refused once the hosts together have sent the budget.
func TestListBudgetIsShared(t *testing.T) {
	sock := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		var b strings.Builder
		b.WriteString(`{"clients":[`)
		for i := range 60 {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, hostileEntry, i)
		}
		b.WriteString(`],"total":60}`)
		w.Write([]byte(b.String()))
	})
	budget := adminclient.NewListBudget(100)
	first, second := adminclient.New(sock), adminclient.New(sock)
	first.SetListBudget(budget)
	second.SetListBudget(budget)
	q := adminapi.ClientQuery{Limit: 1000}
	if l, err := first.ListClients(context.Background(), q); err != nil || len(l.Clients) != 60 {
		t.Fatalf("first host: %d clients, %v", len(l.Clients), err)
	}
	_, err := second.ListClients(context.Background(), q)
	if err == nil || !strings.Contains(err.Error(), "more clients than the 100 chatctl lists from all hosts at once") {
		t.Fatalf("second host: %v", err)
	}
}
