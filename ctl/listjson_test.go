package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/admin/adminapi"
	"github.com/chatd/chatd/internal/admin/adminclient"
)

// serveList answers every request on a Unix socket with list, as chatd
// does, and returns a client for it.
func serveList(t testing.TB, list adminapi.ClientList) *adminclient.Client {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "admin.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(list)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return adminclient.New(sock)
}

// The streamed -o json is, byte for byte, the indented document.
func TestClientsJSONIsTheIndentedDocument(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, n := range []int{0, 1, 3} {
		list := adminapi.ClientList{Clients: fleetClients(n, now), Total: n + 2}
		var got, want bytes.Buffer
		if err := writeClientsJSON(context.Background(), &got, serveList(t, list), adminapi.ClientQuery{}); err != nil {
			t.Fatal(err)
		}
		if list.Clients == nil {
			list.Clients = []adminapi.Client{}
		}
		printJSON(&want, list)
		if got.String() != want.String() {
			t.Errorf("%d clients:\ngot  %s\nwant %s", n, got.String(), want.String())
		}
	}
}

func TestCountLine(t *testing.T) {
	for _, tc := range []struct {
		shown, total int
		selected     bool
		want         string
	}{
		{3, 3, false, "3 clients"},
		{1, 1, false, "1 client"},
		{2, 19500, true, "2 of 19500 clients"},
		{0, 1, true, "0 of 1 client"},
	} {
		if got := countLine(tc.shown, tc.total, tc.selected); got != tc.want {
			t.Errorf("countLine(%d, %d, %v) = %q, want %q", tc.shown, tc.total, tc.selected, got, tc.want)
		}
	}
}
