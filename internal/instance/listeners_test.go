package instance

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/config"
	"github.com/chatd/chatd/internal/logging"
	"github.com/chatd/chatd/internal/proxyheader"
	"github.com/chatd/chatd/internal/tlslisten/tlstest"
)

func TestListenSpec(t *testing.T) {
	log, err := logging.New(io.Discard, "text", "error")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		tune  func(c *config.Config)
		check func(t *testing.T, c *config.Config, err error, proxy *proxyheader.Config, tls bool)
	}{
		{"plain only", func(*config.Config) {}, func(t *testing.T, _ *config.Config, err error, proxy *proxyheader.Config, tls bool) {
			if err != nil || proxy != nil || tls {
				t.Fatalf("err %v, proxy %v, tls %v; want plain TCP alone", err, proxy, tls)
			}
		}},
		{"PROXY protocol", func(c *config.Config) {
			c.ProxyProtocol = config.ProxyProtocol{Enabled: true, Trusted: []string{"10.0.0.0/8"}, Policy: "ignore", HeaderTimeout: time.Second}
		}, func(t *testing.T, _ *config.Config, err error, proxy *proxyheader.Config, _ bool) {
			if err != nil || proxy == nil || proxy.Untrusted != proxyheader.Ignore || proxy.HeaderTimeout != time.Second || len(proxy.Trusted) != 1 {
				t.Fatalf("err %v, proxy %+v", err, proxy)
			}
		}},
		{"PROXY protocol off ignores its keys", func(c *config.Config) {
			c.ProxyProtocol.Trusted = []string{"10.0.0.0/8"}
		}, func(t *testing.T, _ *config.Config, err error, proxy *proxyheader.Config, _ bool) {
			if err != nil || proxy != nil {
				t.Fatalf("err %v, proxy %+v; want none", err, proxy)
			}
		}},
		{"TLS", func(c *config.Config) {
			c.TLS = config.TLS{Listen: []string{"127.0.0.1:0"}, CertFile: "/c.pem", KeyFile: "/k.pem"}
		}, func(t *testing.T, _ *config.Config, err error, _ *proxyheader.Config, tls bool) {
			if err != nil || !tls {
				t.Fatalf("err %v, tls %v", err, tls)
			}
		}},
		{"bad policy from a Config built by hand", func(c *config.Config) {
			c.ProxyProtocol = config.ProxyProtocol{Enabled: true, Trusted: []string{"10.0.0.0/8"}, Policy: "maybe"}
		}, func(t *testing.T, _ *config.Config, err error, _ *proxyheader.Config, _ bool) {
			if err == nil {
				t.Fatal("bad policy accepted")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Defaults()
			tt.tune(&cfg)
			spec, err := listenSpec(&cfg, log)
			tt.check(t, &cfg, err, spec.Proxy, spec.TLS != nil)
		})
	}
}

// reloadTLS swaps in a renewed certificate and refuses one that does not
// load, keeping the one in force: also when the files change between the
// configuration check and the swap.
func TestReloadTLS(t *testing.T) {
	dir, err := os.MkdirTemp("", "chatd-tls-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ca := tlstest.NewCA(t, "daemon test CA")
	files := ca.IssueFiles(t, dir, "server", 2, false)
	d := newTestDaemon(t, dir, "127.0.0.1:0", filepath.Join(dir, "admin.sock"))
	d.cfg.TLS = config.TLS{Listen: []string{"127.0.0.1:0"}, CertFile: files.Cert, KeyFile: files.Key}
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	first := d.listeners.TLS.NotAfter()

	renewed, key := ca.Issue(t, 3, false, first.Add(time.Hour))
	tlstest.WriteFile(t, files.Cert, renewed)
	tlstest.WriteFile(t, files.Key, key)
	loaded, err := d.reloadTLS(d.Config())
	if err != nil {
		t.Fatalf("renewed certificate refused: %v", err)
	}
	// It says it loaded another certificate, although no setting changed.
	if loaded == nil || !loaded.Renewed || loaded.CertFile != files.Cert {
		t.Fatalf("reloadTLS said %+v, want the renewed certificate from %s", loaded, files.Cert)
	}
	if again, err := d.reloadTLS(d.Config()); err != nil || again == nil || again.Renewed {
		t.Fatalf("reloading the same files: %+v, %v; want the same certificate, not renewed", again, err)
	}
	if got := d.listeners.TLS.NotAfter(); !got.Equal(first.Add(time.Hour).Truncate(time.Second)) {
		t.Fatalf("certificate in force ends %v, want the renewed one's %v", got, first.Add(time.Hour))
	}

	tlstest.WriteFile(t, files.Cert, []byte("not a certificate"))
	if _, err := d.reloadTLS(d.Config()); err == nil || !strings.Contains(err.Error(), "stays") {
		t.Fatalf("broken certificate: err %v, want a refusal saying the old one stays", err)
	}
	if got := d.listeners.TLS.NotAfter(); !got.Equal(first.Add(time.Hour).Truncate(time.Second)) {
		t.Fatalf("after the refusal the certificate in force ends %v; the renewed one should have stayed", got)
	}
}
