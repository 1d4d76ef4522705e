package instance

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/config"
	"github.com/chatd/chatd/internal/fdstore"
	"github.com/chatd/chatd/internal/fdstore/fdstoretest"
)

// crashAfterStopping ends d as a crash would, except that its
// connections stop being served first (so that the test's next process
// is their only reader): no hand-over state, the store keeps the rest.
func crashAfterStopping(t *testing.T, d *Instance) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d.stopForHandOver(ctx)
	if err := d.surv.holder.Close(); err != nil {
		t.Fatal(err)
	}
	d.surv.store.Close()
	d.ids.Close()
}

func proxyLine(c net.Conn, header string) {
	fmt.Fprintf(c, "%s\r\n", header)
}

func answered(t *testing.T, c net.Conn, msg string) bool {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "%s\n", msg)
	got, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && got == strings.ToUpper(msg)+"\n"
}

// After a crash behind a PROXY-protocol balancer the clients' own
// addresses are gone with the process: the clients taken back are not
// counted against the balancer, whose own connections (health checks)
// stay admitted by max_clients_per_source; without a balancer they count
// by the socket's peer.
func TestCrashTakesClientsBackCountedByWhatIsKnown(t *testing.T) {
	for _, tc := range []struct {
		name         string
		proxy        bool
		wantAdmitted bool // a new connection from 127.0.0.1 after the crash
	}{
		{"behind a balancer: not counted against it", true, true},
		{"direct: counted by the peer address", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := fdstoretest.New(t)
			t.Setenv("NOTIFY_SOCKET", store.Path())
			dir := shortTempDir(t)
			tune := func(d *Instance) {
				d.cfg.MaxClientsPerSource = 2
				if tc.proxy {
					d.cfg.ProxyProtocol = config.ProxyProtocol{Enabled: true, Trusted: []string{"127.0.0.1/32"}, Policy: "refuse", HeaderTimeout: 2 * time.Second}
				}
				d.srv.SetSettings(settingsOf(d.cfg))
			}
			old := newTestDaemon(t, dir, "127.0.0.1:0", filepath.Join(dir, "a.sock"))
			tune(old)
			old.surv.inh = newInheritance(fdstore.NewFiles(nil))
			if err := old.Start(); err != nil {
				t.Fatal(err)
			}
			addr := old.Addr().String()
			var clients []net.Conn
			for i := range 2 {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				if tc.proxy {
					proxyLine(c, fmt.Sprintf("PROXY TCP4 203.0.113.%d 127.0.0.1 4000 5605", i+1))
				}
				if !answered(t, c, "hi") {
					t.Fatalf("client %d not served", i)
				}
				clients = append(clients, c)
			}
			waitUntil(t, "both held", func() bool { return old.Survival().Held == 2 })
			crashAfterStopping(t, old)

			next := newTestDaemon(t, dir, addr, filepath.Join(dir, "b.sock"))
			tune(next)
			next.surv.inh = newInheritance(fdstore.NewFiles(store.Dup(t, "")))
			if err := next.Start(); err != nil {
				t.Fatal(err)
			}
			defer next.Stop()
			for i, c := range clients {
				if !answered(t, c, "still") {
					t.Fatalf("client %d not served after the crash", i)
				}
			}
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if tc.proxy {
				proxyLine(c, "PROXY UNKNOWN") // the balancer's own: served at its address
			}
			if got := answered(t, c, "check"); got != tc.wantAdmitted {
				t.Fatalf("a new connection from 127.0.0.1 after the crash admitted %v, want %v", got, tc.wantAdmitted)
			}
		})
	}
}
