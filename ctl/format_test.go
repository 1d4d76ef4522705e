package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/admin/adminapi"
)

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second:                    "0s",
		0:                               "0s",
		999 * time.Millisecond:          "0s",
		42 * time.Second:                "42s",
		time.Minute:                     "1m00s",
		3*time.Minute + 5*time.Second:   "3m05s",
		59*time.Minute + 59*time.Second: "59m59s",
		2*time.Hour + 7*time.Minute + 30*time.Second:  "2h07m",
		3*24*time.Hour + 4*time.Hour + 59*time.Minute: "3d04h",
	} {
		if got := humanDuration(d); got != want {
			t.Errorf("humanDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[uint64]string{0: "0 B", 6: "6 B", 1023: "1023 B", 1536: "1.5 KiB", 5 << 20: "5.0 MiB"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestPlural(t *testing.T) {
	for n, want := range map[int]string{0: "0 clients", 1: "1 client", 3: "3 clients"} {
		if got := plural(n, "client"); got != want {
			t.Errorf("plural(%d) = %q", n, got)
		}
	}
}

func TestTableIsBorderlessAndAligned(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	clients := []adminapi.Client{
		{ID: 3, RemoteAddr: "127.0.0.1:40001", LocalAddr: "127.0.0.1:5605", ConnectedAt: now.Add(-5 * time.Minute),
			LastActiveAt: now.Add(-10 * time.Second), BytesIn: 6, BytesOut: 1536},
		{ID: 12, RemoteAddr: "[::1]:40002", LocalAddr: "[::1]:5605", ConnectedAt: now.Add(-2 * time.Hour),
			LastActiveAt: now, BytesIn: 0, BytesOut: 0},
	}
	header, rows := clientRows(clients, false, now)
	var b strings.Builder
	if err := writeTable(&b, header, rows); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"ID   REMOTE ADDRESS    CONNECTED   IDLE   IN    OUT\n" +
		"3    127.0.0.1:40001   5m00s       10s    6 B   1.5 KiB\n" +
		"12   [::1]:40002       2h00m       0s     0 B   0 B\n"
	if b.String() != want {
		t.Fatalf("table\n%s\nwant\n%s", b.String(), want)
	}
}

func TestWideTableAddsLocalAddressAndTimes(t *testing.T) {
	now := time.Now()
	header, rows := clientRows([]adminapi.Client{{ID: 1, RemoteAddr: "r", LocalAddr: "l", ConnectedAt: now, LastActiveAt: now}}, true, now)
	if strings.Join(header, "|") != "ID|REMOTE ADDRESS|LOCAL ADDRESS|CONNECTED AT|CONNECTED|LAST ACTIVE AT|IDLE|IN|OUT" {
		t.Fatalf("header %q", header)
	}
	if rows[0][2] != "l" || rows[0][3] != absTime(now) {
		t.Fatalf("row %q", rows[0])
	}
}

func TestEmptyTableIsJustTheHeader(t *testing.T) {
	header, rows := clientRows(nil, false, time.Now())
	var b strings.Builder
	if err := writeTable(&b, header, rows); err != nil {
		t.Fatal(err)
	}
	if b.String() != "ID   REMOTE ADDRESS   CONNECTED   IDLE   IN   OUT\n" {
		t.Fatalf("%q", b.String())
	}
}

func TestStatusLines(t *testing.T) {
	var b strings.Builder
	printStatus(&b, adminapi.Status{Version: "1.0", PID: 9, UptimeSeconds: 3725, Listen: "127.0.0.1:5605",
		AdminSocket: "/run/chatd/admin.sock", ClientsConnected: 2, MaxClients: 10, ClientsTotal: 5,
		BytesIn: 2048, BytesOut: 10})
	out := b.String()
	for _, line := range []string{
		"version:       1.0\n", "pid:           9\n", "uptime:        1h02m\n",
		"listen:        127.0.0.1:5605\n", "admin socket:  /run/chatd/admin.sock\n",
		"config file:   (none: built-in defaults)\n", "clients:       2 (max 10)\n",
		"clients total: 5\n", "bytes in:      2.0 KiB (2048)\n", "bytes out:     10 B (10)\n",
	} {
		if !strings.Contains(out, line) {
			t.Errorf("no %q in\n%s", line, out)
		}
	}
}

func TestStatusClientIDsLine(t *testing.T) {
	since := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	for _, c := range []struct {
		ids  adminapi.ClientIDs
		want []string
	}{
		{adminapi.ClientIDs{StateFile: "/var/lib/chatd/client-ids", Saved: true},
			[]string{"client IDs:    saved in /var/lib/chatd/client-ids\n"}},
		{adminapi.ClientIDs{StateFile: "/ro/client-ids", UnsavedSince: &since, Problem: "read-only file system", Retrying: true},
			[]string{"client IDs:    NOT SAVED since 2026-03-04T05:06:07Z (read-only file system)",
				"no restart repeats", "keeps trying to save\n"}},
		{adminapi.ClientIDs{StateFile: "/x/client-ids", Problem: "is a directory"},
			[]string{"NOT SAVED (is a directory)", "no restart repeats\n"}},
	} {
		var b strings.Builder
		printStatus(&b, adminapi.Status{ClientIDs: c.ids})
		for _, want := range c.want {
			if !strings.Contains(b.String(), want) {
				t.Errorf("%+v: no %q in\n%s", c.ids, want, b.String())
			}
		}
	}
}
