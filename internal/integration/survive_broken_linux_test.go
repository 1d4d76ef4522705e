package integration

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/chatd/chatd/internal/tlslisten/tlstest"
)

const tlsChatAddr = "127.0.0.1:5606"

// dialFrom connects to addr from local (an address of the sandbox's
// loopback) inside the sandbox's network namespace.
func (s *sandbox) dialFrom(local, addr string) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: see dial
		ns, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", s.pid1))
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer ns.Close()
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			ch <- result{err: fmt.Errorf("setns: %w", err)}
			return
		}
		d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
		c, err := d.Dial("tcp", addr)
		ch <- result{c, err}
	}()
	r := <-ch
	return r.c, r.err
}

// writeFile writes b to path inside the sandbox, owned by chatd, mode 0600.
func (s *sandbox) writeFile(ctx context.Context, path string, b []byte) {
	s.t.Helper()
	s.sh(ctx, 10*time.Second, fmt.Sprintf("mkdir -p %s && echo %s | base64 -d > %s.new && chown chatd:chatd %s.new && chmod 0600 %s.new && mv %s.new %s",
		filepath.Dir(path), base64.StdEncoding.EncodeToString(b), path, path, path, path, path))
}

// A crash and a systemctl restart onto broken TLS files keep every plain
// client and serve new TLS clients with the certificate in force before,
// degraded until a reload loads good files; and max_clients_per_source
// holds through crashes and restarts (after a crash by the socket's peer
// address). In the installed unit, in a throwaway systemd.
func TestCrashAndRestartOntoBrokenTLSFilesKeepEveryClient(t *testing.T) {
	root := requireSandbox(t)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	env, dirs := installEnv(t, root)
	sb := bootSandbox(t, ctx, dirs, env)
	svc := &chatdService{t: t, sb: sb, ctx: ctx}
	if out := sb.must(ctx, 6*time.Minute, filepath.Join(root, "install.sh")); !strings.Contains(out, "chatd is running") {
		t.Fatalf("install.sh did not say chatd is running:\n%s", out)
	}

	ca := tlstest.NewCA(t, "integration CA")
	issue := func(serial int64) {
		cert, key := ca.Issue(t, serial, false, time.Now().Add(12*time.Hour))
		sb.writeFile(ctx, "/etc/chatd/tls/cert.pem", cert)
		sb.writeFile(ctx, "/etc/chatd/tls/key.pem", key)
	}
	issue(2)
	sb.writeFile(ctx, "/etc/chatd/tls/clients-ca.pem", ca.PEM)
	sb.sh(ctx, 10*time.Second, `sed -i -e 's|^  listen: \[\]|  listen: ["`+tlsChatAddr+`"]|' `+
		`-e 's|^  cert_file: ""|  cert_file: /etc/chatd/tls/cert.pem|' -e 's|^  key_file: ""|  key_file: /etc/chatd/tls/key.pem|' `+
		`-e 's|^  client_ca: ""|  client_ca: /etc/chatd/tls/clients-ca.pem|' `+
		`-e 's|^max_clients_per_source: 0|max_clients_per_source: 3|' /etc/chatd/chatd.yaml`)
	sb.must(ctx, 60*time.Second, "systemctl", "restart", "chatd")
	if !poll(ctx, 30*time.Second, func() bool { _, err := sb.output(ctx, 10*time.Second, "chatctl", "status"); return err == nil }) {
		t.Fatal("chatd does not answer after the TLS config was added")
	}

	clientCert, clientKey := ca.Issue(t, 50, true, time.Now().Add(time.Hour))
	pair, err := tls.X509KeyPair(clientCert, clientKey)
	if err != nil {
		t.Fatal(err)
	}
	// tlsSerial makes a TLS round trip and returns the serial of the
	// certificate chatd presented.
	tlsSerial := func(when string) int64 {
		t.Helper()
		raw, err := sb.dial(tlsChatAddr)
		if err != nil {
			t.Fatalf("%s: dial TLS: %v", when, err)
		}
		c := tls.Client(raw, &tls.Config{RootCAs: ca.Pool(), ServerName: "127.0.0.1", Certificates: []tls.Certificate{pair}})
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if err := c.Handshake(); err != nil {
			t.Fatalf("%s: TLS handshake: %v", when, err)
		}
		svc.echo(c, "tls "+strings.ReplaceAll(when, " ", "-"))
		return c.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
	}
	if got := tlsSerial("at the start"); got != 2 {
		t.Fatalf("chatd presented certificate %d, want 2", got)
	}

	// Three plain clients from 127.0.0.2 fill its source; one from
	// 127.0.0.1 is another source.
	var plain []net.Conn
	for i := range 3 {
		c, err := sb.dialFrom("127.0.0.2", chatAddr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		svc.echo(c, fmt.Sprintf("plain %d", i))
		plain = append(plain, c)
	}
	other := svc.connect()
	t.Cleanup(func() { other.Close() })
	plain = append(plain, other)
	sourceFull := func(when string) {
		t.Helper()
		c, err := sb.dialFrom("127.0.0.2", chatAddr)
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		defer c.Close()
		if got := readToEOF(t, c); !strings.Contains(got, "too many connections from your address") {
			t.Fatalf("%s: a fourth client from 127.0.0.2 read %q, want the source-full notice", when, got)
		}
	}
	everyoneServed := func(when string) {
		t.Helper()
		for i, c := range plain {
			svc.echo(c, fmt.Sprintf("plain %d %s", i, when))
		}
	}
	if !poll(ctx, 10*time.Second, func() bool { return svc.status().Survival.Held == len(plain) }) {
		t.Fatalf("held %d, want %d", svc.status().Survival.Held, len(plain))
	}
	sourceFull("before any restart")

	// restart is a crash or a systemctl restart; after it every plain
	// client is served on its socket.
	restart := func(event string) {
		t.Helper()
		old := svc.show("MainPID")["MainPID"]
		t0 := time.Now()
		if event == "kill -9" {
			sb.must(ctx, 10*time.Second, "kill", "-9", old)
		} else {
			sb.must(ctx, 60*time.Second, "systemctl", "restart", "chatd")
		}
		svc.waitBack(old, t0)
		if st := svc.show("ActiveState")["ActiveState"]; st != "active" {
			j, _ := sb.output(ctx, 20*time.Second, "sh", "-c", "journalctl -u chatd --no-pager | tail -n 30")
			t.Fatalf("after %s chatd is %s\n%s", event, st, j)
		}
		everyoneServed("after " + event)
		// Held again before the next event: a crash loses what is not.
		if !poll(ctx, 10*time.Second, func() bool { return svc.status().Survival.Held == len(plain) }) {
			t.Fatalf("after %s: held %d, want %d", event, svc.status().Survival.Held, len(plain))
		}
	}
	for _, event := range []string{"kill -9", "systemctl restart", "kill -9"} {
		restart(event)
		sourceFull("after " + event)
	}

	// Broken on disk: garbage for the certificate, then a key that does
	// not match it.
	spoil := map[string]func(){
		"certificate overwritten by garbage": func() { sb.writeFile(ctx, "/etc/chatd/tls/cert.pem", []byte("garbage\n")) },
		"key that does not match": func() {
			_, key := tlstest.NewCA(t, "another CA").Issue(t, 9, false, time.Now().Add(time.Hour))
			issue(2)
			sb.writeFile(ctx, "/etc/chatd/tls/key.pem", key)
		},
	}
	for _, broken := range []string{"certificate overwritten by garbage", "key that does not match"} {
		spoil[broken]()
		for _, event := range []string{"systemctl restart", "kill -9"} {
			restart(event)
			when := event + " onto a " + broken
			if got := tlsSerial(when); got != 2 {
				t.Fatalf("after %s a new TLS client got certificate %d, want the one in force before (2)", when, got)
			}
			if deg := svc.status().Survival.Degraded; !strings.Contains(deg, "tls") {
				t.Fatalf("after %s chatctl status says degraded %q, want the TLS error", when, deg)
			}
			if out := sb.must(ctx, 10*time.Second, "chatctl", "status"); !strings.Contains(out, "BROKEN") {
				t.Fatalf("after %s chatctl status does not say BROKEN:\n%s", when, out)
			}
			sourceFull("after " + when)
		}
	}
	// systemd's own status line says so too.
	if st := svc.show("StatusText")["StatusText"]; !strings.Contains(st, "LAST GOOD CONFIG") {
		t.Errorf("systemctl status text %q does not say the last good config is in force", st)
	}

	// Repaired: a reload serves the new certificate and ends the
	// degraded state, without a restart.
	issue(3)
	if out, err := sb.output(ctx, 30*time.Second, "chatctl", "reload"); err != nil {
		t.Fatalf("chatctl reload with good files: %v\n%s", err, out)
	}
	if deg := svc.status().Survival.Degraded; deg != "" {
		t.Fatalf("after a good reload chatctl status still says degraded %q", deg)
	}
	if got := tlsSerial("after the reload"); got != 3 {
		t.Fatalf("after the reload a new TLS client got certificate %d, want 3", got)
	}
	everyoneServed("after the reload")

	// A stop tells every client.
	sb.must(ctx, 60*time.Second, "systemctl", "stop", "chatd")
	for i, c := range plain {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		rest, err := readAll(bufio.NewReader(c))
		if err != nil || rest != "*** server shutting down\n" {
			t.Errorf("plain client %d at the stop read %q, %v; want the shutdown notice", i, rest, err)
		}
	}
}
