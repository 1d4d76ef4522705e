package config

import (
	"errors"
	"strings"
	"testing"
)

// A key that does nothing without its companion is refused, in one line
// naming the key, what it waits for and the fix; with the companion on,
// or at its default, it is accepted.
func TestDependentKeys(t *testing.T) {
	cert := testCert(t)
	tlsOn := "tls:\n  listen: [\"127.0.0.1:0\"]\n  cert_file: " + cert.Cert + "\n  key_file: " + cert.Key + "\n"
	tests := []struct {
		name string
		yaml string
		env  map[string]string
		key  string // "" = accepted
		fix  string
	}{
		{"trusted without the PROXY protocol", "proxy_protocol:\n  trusted: [10.0.0.2]\n", nil,
			"proxy_protocol.trusted", "does nothing while proxy_protocol.enabled is false: set proxy_protocol.enabled: true, or remove proxy_protocol.trusted"},
		{"trusted from the environment", "", map[string]string{"CHATD_PROXY_PROTOCOL_TRUSTED": "10.0.0.2"},
			"proxy_protocol.trusted", "set proxy_protocol.enabled: true"},
		{"policy without the PROXY protocol", "proxy_protocol:\n  policy: ignore\n", nil, "proxy_protocol.policy", "proxy_protocol.enabled is false"},
		{"header timeout without the PROXY protocol", "proxy_protocol:\n  header_timeout: 1s\n", nil, "proxy_protocol.header_timeout", "proxy_protocol.enabled is false"},
		{"PROXY protocol on", "proxy_protocol:\n  enabled: true\n  trusted: [10.0.0.2]\n  policy: ignore\n  header_timeout: 1s\n", nil, "", ""},
		{"PROXY defaults spelled out", "proxy_protocol:\n  enabled: false\n  trusted: []\n  policy: refuse\n  header_timeout: 3s\n", nil, "", ""},
		{"certificate without a TLS listener", "tls:\n  cert_file: " + cert.Cert + "\n  key_file: " + cert.Key + "\n", nil,
			"tls.cert_file", "does nothing while tls.listen is empty: add an address to tls.listen, or remove tls.cert_file"},
		{"key without a TLS listener", "tls:\n  key_file: " + cert.Key + "\n", nil, "tls.key_file", "tls.listen is empty"},
		{"client CA without a TLS listener", "tls:\n  client_ca: " + cert.Cert + "\n", nil, "tls.client_ca", "tls.listen is empty"},
		{"TLS on with a client CA", tlsOn + "  client_ca: " + cert.Cert + "\n", nil, "", ""},
		{"idle notice without an idle timeout", "notices:\n  idle: bye\n", nil, "notices.idle", "does nothing while idle_timeout is 0: set idle_timeout"},
		{"idle notice with an idle timeout", "idle_timeout: 1m\nnotices:\n  idle: bye\n", nil, "", ""},
		{"source notice without a per-source limit", "notices:\n  source_full: go away\n", nil, "notices.source_full", "max_clients_per_source is 0"},
		{"source notice with a per-source limit", "max_clients_per_source: 3\nnotices:\n  source_full: go away\n", nil, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, tt.yaml, tt.env)
			if tt.key == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var ce *Error
			if !errors.As(err, &ce) || ce.Key != tt.key || !strings.Contains(ce.Reason, tt.fix) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v; want one line naming %s saying %q", err, tt.key, tt.fix)
			}
		})
	}
}
