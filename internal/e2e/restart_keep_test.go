//go:build unix

package e2e

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/testbin"
	"github.com/chatd/chatd/internal/tlslisten/tlstest"
)

// restartInPlace runs `chatctl restart` and waits until the new image
// serves; chatd must not exit on the way.
func restartInPlace(t *testing.T, d *testbin.Chatd) {
	t.Helper()
	started := strings.Count(d.Logs(), `"msg":"chatd started"`)
	if out, _, err := chatctl(t, d.Socket, "restart"); err != nil {
		t.Fatalf("%v: %s\nlog:\n%s", err, out, d.Logs())
	}
	if !testbin.Poll(20*time.Second, func() bool {
		return d.Exited() || strings.Count(d.Logs(), `"msg":"chatd started"`) > started
	}) || d.Exited() {
		t.Fatalf("chatd did not serve again after chatctl restart (exited: %v, %v); log:\n%s", d.Exited(), d.Err(), d.Logs())
	}
}

// metric returns the value of a metric without labels from /metrics.
func metric(t *testing.T, sock, name string) string {
	t.Helper()
	hc := http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
	}}
	resp, err := hc.Get("http://chatd/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			return v
		}
	}
	t.Fatalf("no %s in /metrics", name)
	return ""
}

// serialOf makes a TLS round trip with a client certificate from the
// test's CA and returns the serial of the certificate chatd presented.
func (d *tlsChatd) serialOf(t *testing.T) int64 {
	t.Helper()
	certPEM, keyPEM := d.ca.Issue(t, 77, true, time.Now().Add(time.Hour))
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	cfg := d.clientConfig()
	cfg.Certificates = []tls.Certificate{cert}
	c := tlsDial(t, d.tlsAddr, cfg)
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	echo(t, c, "over tls")
	return c.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
}

// A restart in place onto broken files (each file chatd reads at start:
// the certificate, its key, the client CA, the config file itself) keeps
// the plain client, serves new TLS clients with the certificate in force
// before, and says it is degraded in `chatctl status` and /metrics until
// a reload loads good files again.
func TestRestartInPlaceOntoBrokenFilesKeepsServing(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spoil func(d *tlsChatd)
	}{
		{"certificate overwritten by garbage", func(d *tlsChatd) { tlstest.WriteFile(t, d.cert.Cert, []byte("garbage\n")) }},
		{"key that does not match", func(d *tlsChatd) {
			_, key := tlstest.NewCA(t, "another CA").Issue(t, 9, false, time.Now().Add(time.Hour))
			tlstest.WriteFile(t, d.cert.Key, key)
		}},
		{"client CA without a certificate", func(d *tlsChatd) { tlstest.WriteFile(t, d.caFile, []byte("no PEM\n")) }},
		{"config file with a typo", func(d *tlsChatd) {
			b, err := os.ReadFile(d.Config)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(d.Config, append(b, "max_clients: lots\n"...), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := startTLSChatdWith(t, "", true)
			good, err := os.ReadFile(d.Config)
			if err != nil {
				t.Fatal(err)
			}
			plain := d.Dial()
			defer plain.Close()
			plain.SetDeadline(time.Now().Add(60 * time.Second))
			echo(t, plain, "before")
			if got := d.serialOf(t); got != 2 {
				t.Fatalf("chatd presented certificate %d, want 2", got)
			}

			tc.spoil(d)
			restartInPlace(t, d.Chatd)
			echo(t, plain, "after the restart")
			if got := d.serialOf(t); got != 2 {
				t.Fatalf("after the restart onto broken files a new TLS client got certificate %d, want the one in force (2)", got)
			}
			if out, _, err := chatctl(t, d.Socket, "status"); err != nil || !strings.Contains(out, "BROKEN, serving on the last good one") {
				t.Fatalf("chatctl status does not say the config is broken: %v\n%s", err, out)
			}
			if v := metric(t, d.Socket, "chatd_config_degraded"); v != "1" {
				t.Fatalf("chatd_config_degraded %s, want 1", v)
			}
			// A second restart while still broken goes on the same way.
			restartInPlace(t, d.Chatd)
			echo(t, plain, "after the second restart")
			if got := d.serialOf(t); got != 2 {
				t.Fatalf("after a second restart a new TLS client got certificate %d, want 2", got)
			}

			// Repaired: a new certificate, the CA and the config file.
			cert, key := d.ca.Issue(t, 3, false, time.Now().Add(12*time.Hour))
			tlstest.WriteFile(t, d.cert.Cert, cert)
			tlstest.WriteFile(t, d.cert.Key, key)
			tlstest.WriteFile(t, d.caFile, d.ca.PEM)
			if err := os.WriteFile(d.Config, good, 0o644); err != nil {
				t.Fatal(err)
			}
			if out, _, err := chatctl(t, d.Socket, "reload"); err != nil {
				t.Fatalf("reload with good files: %v\n%s", err, out)
			}
			if out, _, _ := chatctl(t, d.Socket, "status"); strings.Contains(out, "BROKEN") {
				t.Fatalf("still degraded after a good reload:\n%s", out)
			}
			if v := metric(t, d.Socket, "chatd_config_degraded"); v != "0" {
				t.Fatalf("chatd_config_degraded %s after a good reload, want 0", v)
			}
			if got := d.serialOf(t); got != 3 {
				t.Fatalf("after the reload a new TLS client got certificate %d, want the new one (3)", got)
			}
			echo(t, plain, "at the end")
		})
	}
}

// A restart in place that cannot exec (here the binary was replaced by
// something that is not a program) while the certificate files on disk
// are broken serves on exactly as before: the plain client keeps
// chatting, and a new TLS client gets the certificate in force, not an
// error from files the failed restart must never have reread.
func TestFailedRestartInPlaceOntoBrokenFilesServesOn(t *testing.T) {
	exe := filepath.Join(t.TempDir(), "chatd")
	b, err := os.ReadFile(testbin.Path(t, "chatd"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, b, 0o755); err != nil {
		t.Fatal(err)
	}
	d := startTLSChatdFrom(t, exe, "", false)
	plain := d.Dial()
	defer plain.Close()
	plain.SetDeadline(time.Now().Add(60 * time.Second))
	echo(t, plain, "before")
	tlstest.WriteFile(t, d.cert.Cert, []byte("garbage\n"))
	// Replaced as an upgrade replaces it (a running binary cannot be
	// written to).
	if err := os.WriteFile(exe+".new", []byte("not a program\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(exe+".new", exe); err != nil {
		t.Fatal(err)
	}
	if out, _, err := chatctl(t, d.Socket, "restart"); err == nil || !strings.Contains(err.Error(), "exec format error") {
		t.Fatalf("chatctl restart onto a broken binary: %v, stdout %q; want a failure naming the exec error", err, out)
	}
	if d.Exited() {
		t.Fatalf("chatd exited after the failed restart: %v\nlog:\n%s", d.Err(), d.Logs())
	}
	echo(t, plain, "after the failed restart")
	c := tlsDial(t, d.tlsAddr, d.clientConfig())
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	echo(t, c, "new tls client")
	if got := c.ConnectionState().PeerCertificates[0].SerialNumber.Int64(); got != 2 {
		t.Fatalf("a new TLS client got certificate %d, want the one in force (2)", got)
	}
}
