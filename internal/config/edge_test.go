package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/tlslisten/tlstest"
)

// testCert writes a server certificate and key into a temporary
// directory and returns their paths.
func testCert(t *testing.T) tlstest.Files {
	t.Helper()
	return tlstest.NewCA(t, "config test CA").IssueFiles(t, t.TempDir(), "server", 2, false)
}

// The listener keys: lists from the file, the environment and the flag,
// the PROXY protocol and the TLS section.
func TestListenerKeys(t *testing.T) {
	cert := testCert(t)
	tlsYAML := "tls:\n  listen: [\"127.0.0.1:0\"]\n  cert_file: " + cert.Cert + "\n  key_file: " + cert.Key + "\n"
	tests := []struct {
		name  string
		yaml  string
		env   map[string]string
		args  []string
		check func(c *Config) bool
	}{
		{"one address as a string", "listen: 127.0.0.1:1\n", nil, nil,
			func(c *Config) bool { return reflect.DeepEqual(c.Listen, []string{"127.0.0.1:1"}) }},
		{"a list in the file", "listen: [\"127.0.0.1:1\", \"[::1]:1\"]\n", nil, nil,
			func(c *Config) bool { return reflect.DeepEqual(c.Listen, []string{"127.0.0.1:1", "[::1]:1"}) }},
		{"comma-separated in the environment", "", map[string]string{"CHATD_LISTEN": "127.0.0.1:1, [::1]:2"}, nil,
			func(c *Config) bool { return reflect.DeepEqual(c.Listen, []string{"127.0.0.1:1", "[::1]:2"}) }},
		{"comma-separated flag", "", nil, []string{"--listen", "127.0.0.1:3,[::]:4"},
			func(c *Config) bool { return reflect.DeepEqual(c.Listen, []string{"127.0.0.1:3", "[::]:4"}) }},
		{"TLS only", "listen: []\n" + tlsYAML, nil, nil,
			func(c *Config) bool { return len(c.Listen) == 0 && c.TLS.CertFile == cert.Cert }},
		{"PROXY protocol", "proxy_protocol:\n  enabled: true\n  trusted: [10.0.0.0/8, 127.0.0.1]\n  policy: ignore\n  header_timeout: 1s\n", nil, nil,
			func(c *Config) bool {
				p := c.ProxyProtocol
				return p.Enabled && reflect.DeepEqual(p.Trusted, []string{"10.0.0.0/8", "127.0.0.1"}) &&
					p.Policy == "ignore" && p.HeaderTimeout == time.Second
			}},
		{"PROXY protocol defaults", "", nil, nil,
			func(c *Config) bool {
				p := c.ProxyProtocol
				return !p.Enabled && p.Policy == "refuse" && p.HeaderTimeout == 3*time.Second
			}},
		{"per-source limit", "max_clients_per_source: 4\n", nil, []string{"--max-clients-per-source", "5"},
			func(c *Config) bool { return c.MaxClientsPerSource == 5 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := load(t, tt.yaml, tt.env, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(cfg) {
				t.Fatalf("config = %+v", cfg)
			}
		})
	}
}

func TestInvalidListenerKeys(t *testing.T) {
	cert := testCert(t)
	garbage := filepath.Join(t.TempDir(), "garbage.pem")
	os.WriteFile(garbage, []byte("not a certificate"), 0o600)
	tests := []struct {
		name, yaml string
		env        map[string]string
		key        string
		reason     string
	}{
		{"bad address in a list", "listen: [\"127.0.0.1:1\", \"nowhere\"]\n", nil, "listen", "nowhere: must be HOST:PORT"},
		{"bad address from the environment", "", map[string]string{"CHATD_LISTEN": "127.0.0.1:1,127.0.0.1:99999"}, "listen", "port must be"},
		{"nothing listens", "listen: []\n", nil, "listen", "would not listen at all"},
		{"bad CIDR", "proxy_protocol:\n  enabled: true\n  trusted: [10.0.0.0/99]\n", nil, "proxy_protocol.trusted", ""},
		{"no trusted peers", "proxy_protocol:\n  enabled: true\n", nil, "proxy_protocol.trusted", "must list"},
		{"bad policy", "proxy_protocol:\n  policy: maybe\n", nil, "proxy_protocol.policy", "refuse, ignore"},
		{"header timeout without a unit", "proxy_protocol:\n  header_timeout: 3\n", nil, "proxy_protocol.header_timeout", "needs a unit"},
		{"negative per-source limit", "max_clients_per_source: -1\n", nil, "max_clients_per_source", "at least 0"},
		{"TLS without a certificate", "tls:\n  listen: [\"127.0.0.1:0\"]\n", nil, "tls.cert_file", "must be set"},
		{"TLS without a key", "tls:\n  listen: [\"127.0.0.1:0\"]\n  cert_file: " + cert.Cert + "\n", nil, "tls.key_file", "must be set"},
		{"TLS certificate that does not load", "tls:\n  listen: [\"127.0.0.1:0\"]\n  cert_file: " + garbage + "\n  key_file: " + cert.Key + "\n", nil, "tls.cert_file", ""},
		{"relative certificate path", "tls:\n  cert_file: server.pem\n", nil, "tls.cert_file", "absolute path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, tt.yaml, tt.env)
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a *config.Error", err)
			}
			if ce.Key != tt.key || !strings.Contains(ce.Reason, tt.reason) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q: want one line naming %s, saying %q", err, tt.key, tt.reason)
			}
		})
	}
}

// The certificate files reload live; the listener addresses and the PROXY
// protocol need a restart.
func TestListenerKeysOnReload(t *testing.T) {
	running := Defaults()
	next := Defaults()
	next.TLS.CertFile = "/new.pem"
	next.MaxClientsPerSource = 3
	next.Notices.SourceFull = "go away"
	next.ProxyProtocol.Enabled = true
	next.TLS.Listen = []string{"127.0.0.1:1"}
	ch := Diff(&running, &next)
	if !reflect.DeepEqual(ch.Live, []string{"max_clients_per_source", "tls.cert_file", "notices.source_full"}) ||
		!reflect.DeepEqual(ch.Restart, []string{"proxy_protocol.enabled", "tls.listen"}) {
		t.Fatalf("Diff = %+v", ch)
	}
}
