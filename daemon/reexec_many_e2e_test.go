//go:build linux

package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/testbin"
)

// manyClients is the restart's size: max_clients 19,900 fits the machine's
// open-files cap of 20,000 per process on both sides (chatd passes the
// sockets across the exec as they are, not duplicated; this test holds one
// end of each). -short keeps 6,000: still above the ~5,460 clients with
// 16-digit IDs whose names alone used to exceed the 128 KiB a single
// environment string may have.
func manyClients() int {
	if testing.Short() {
		return 6000
	}
	return 19900
}

// dialParallel bounds the connections opened at once.
const dialParallel = 64

// A restart in place at max_clients 19,900 with 16-digit IDs (what chatd
// hands out from the clock when it cannot use its state file) keeps every
// client, under its ID, answered by the new image.
func TestRestartInPlaceKeepsNineteenThousandClients(t *testing.T) {
	n := manyClients()
	dir := t.TempDir()
	// A directory where the ID state file should be: chatd cannot read
	// or save it and hands out clock-derived IDs.
	state := filepath.Join(dir, "state")
	if err := os.MkdirAll(filepath.Join(state, "client-ids"), 0o755); err != nil {
		t.Fatal(err)
	}
	d := testbin.StartChatd(t, testbin.Options{Binary: "chatd-release",
		Config: fmt.Sprintf("max_clients: %d\nstate_dir: %s\nidle_timeout: 0s\n", n, state)})

	conns := make([]*chatter, n)
	each := func(what string, f func(i int, c *chatter) error) {
		t.Helper()
		var wg sync.WaitGroup
		var mu sync.Mutex
		var errs []string
		next := make(chan int)
		for range dialParallel {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					if err := f(i, conns[i]); err != nil {
						mu.Lock()
						errs = append(errs, fmt.Sprintf("client %d: %v", i, err))
						mu.Unlock()
					}
				}
			}()
		}
		for i := range n {
			next <- i
		}
		close(next)
		wg.Wait()
		if len(errs) > 0 {
			t.Fatalf("%s: %d of %d clients failed, first: %s\nlog (end):\n%s", what, len(errs), n, errs[0], tail(d.Logs(), 4000))
		}
	}
	roundTrip := func(c *chatter, send string) error {
		c.c.SetDeadline(time.Now().Add(60 * time.Second))
		if _, err := fmt.Fprintf(c.c, "%s\n", send); err != nil {
			return err
		}
		got, err := c.r.ReadString('\n')
		if err != nil {
			return err
		}
		if got != strings.ToUpper(send)+"\n" {
			return fmt.Errorf("sent %q, got %q", send, got)
		}
		return nil
	}
	each("connect", func(i int, _ *chatter) error {
		// Spread over source addresses: one address's ephemeral ports
		// are shared with whatever else runs on the machine.
		dialer := net.Dialer{Timeout: 30 * time.Second,
			LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 1, byte(1+i%100))}}
		nc, err := dialer.Dial("tcp", d.Addr)
		if err != nil {
			return err
		}
		c := &chatter{c: nc, r: bufio.NewReader(nc)}
		conns[i] = c
		return roundTrip(c, fmt.Sprintf("before %d", i))
	})
	t.Cleanup(func() {
		for _, c := range conns {
			if c != nil {
				c.c.Close()
			}
		}
	})
	ids := listedIDs(t, d)
	if len(ids) != n {
		t.Fatalf("%d clients listed, want %d", len(ids), n)
	}
	for _, id := range ids {
		if id < 1e15 {
			t.Fatalf("client ID %d is not a 16-digit clock ID", id)
		}
	}

	if code, out, errOut := chatctl(t, d, "restart", "--timeout", "120s"); code != 0 {
		t.Fatalf("chatctl restart with %d clients: exit %d %q %q\nlog (end):\n%s", n, code, out, errOut, tail(d.Logs(), 4000))
	}
	code, out, errOut := chatctl(t, d, "status", "-o", "json")
	var st struct {
		Survival struct {
			TakenBack uint64 `json:"connections_taken_back"`
			Lost      uint64 `json:"connections_lost"`
		} `json:"restart_survival"`
	}
	if err := json.Unmarshal([]byte(out), &st); code != 0 || err != nil {
		t.Fatalf("chatctl status right after the restart: %d %v %s", code, err, errOut)
	}
	if st.Survival.TakenBack != uint64(n) || st.Survival.Lost != 0 {
		t.Fatalf("the new image took back %d clients and lost %d, want %d and 0", st.Survival.TakenBack, st.Survival.Lost, n)
	}
	each("after the restart", func(i int, c *chatter) error { return roundTrip(c, fmt.Sprintf("after %d", i)) })
	hasAll(t, "after the restart", listedIDs(t, d), ids)
}

// tail is the end of a long log.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
