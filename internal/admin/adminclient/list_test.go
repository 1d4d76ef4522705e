package adminclient_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/admin/adminapi"
	"github.com/chatd/chatd/internal/admin/adminclient"
)

// A listing is read a client at a time; what the reading makes of each
// kind of answer.
func TestListingIsReadAsItComes(t *testing.T) {
	var query string
	// The fake picks its answer by the limit asked for.
	answers := map[string]string{
		"10": `{"clients":[{"id":3,"remote_addr":"192.0.2.7:1"},{"id":5}],"total":9}`,
		"20": `{"extra":{"a":[1,2]},"clients":[{"id":3,"later":true}],"total":1,"more":"x"}`,
		"30": `{"clients":[{"id":3},{"id":`,
		"40": `{"clients":{"id":3}}`,
	}
	sock := serve(t, func(w http.ResponseWriter, r *http.Request) {
		query = r.URL.RawQuery
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(answers[r.URL.Query().Get("limit")]))
	})
	c := adminclient.New(sock)
	list := func(answer int) (adminapi.ClientList, error) {
		return c.ListClients(context.Background(), adminapi.ClientQuery{Limit: answer})
	}

	l, err := list(10)
	if err != nil || l.Total != 9 || len(l.Clients) != 2 || l.Clients[0].RemoteAddr != "192.0.2.7:1" || l.Clients[1].ID != 5 {
		t.Fatalf("good: %+v, %v", l, err)
	}
	if query != "limit=10" {
		t.Errorf("query %q", query)
	}
	if l, err := list(20); err != nil || l.Total != 1 || len(l.Clients) != 1 {
		t.Fatalf("members it does not know: %+v, %v", l, err)
	}
	for _, answer := range []int{30, 40} { // truncated; not a list
		if _, err := list(answer); err == nil || !strings.Contains(err.Error(), "cannot read") {
			t.Errorf("answer %d: %v", answer, err)
		}
	}
	// The caller's own error ends the listing and comes back as it is.
	stop := errors.New("enough")
	n := 0
	_, err = c.EachClient(context.Background(), adminapi.ClientQuery{Limit: 10}, func(adminapi.Client) error { n++; return stop })
	if err != stop || n != 1 {
		t.Fatalf("callback error: %v after %d clients", err, n)
	}
}
