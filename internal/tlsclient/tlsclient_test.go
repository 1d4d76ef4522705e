package tlsclient

import (
	"crypto/tls"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/tlslisten"
	"github.com/chatd/chatd/internal/tlslisten/tlstest"
)

// server runs a tlslisten server with a certificate from ca (for
// localhost, 127.0.0.1, ::1), asking for client certificates from
// clientCA if it is given, and finishing each handshake.
func server(t *testing.T, dir string, ca, clientCA *tlstest.CA) string {
	t.Helper()
	f := ca.IssueFiles(t, dir, "server", 1, false)
	files := tlslisten.Files{CertFile: f.Cert, KeyFile: f.Key}
	if clientCA != nil {
		files.ClientCA = tlstest.WriteFile(t, filepath.Join(dir, "client-ca.pem"), clientCA.PEM)
	}
	s, err := tlslisten.NewServer(files)
	if err != nil {
		t.Fatal(err)
	}
	inner, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := tlslisten.Listen(inner, s, tlslisten.Options{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return inner.Addr().String()
}

func handshake(addr string, cfg *tls.Config) error {
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return err
	}
	return c.Close()
}

func TestConfigAgainstServer(t *testing.T) {
	dir := t.TempDir()
	ca, clientCA := tlstest.NewCA(t, "server CA"), tlstest.NewCA(t, "client CA")
	caFile := tlstest.WriteFile(t, filepath.Join(dir, "ca.pem"), ca.PEM)
	addr := server(t, dir, ca, nil)
	_, port, _ := net.SplitHostPort(addr)
	mtlsAddr := server(t, t.TempDir(), ca, clientCA)
	_, mtlsPort, _ := net.SplitHostPort(mtlsAddr)
	client := clientCA.IssueFiles(t, dir, "client", 5, true)

	tests := []struct {
		name   string
		opts   Options
		dial   string // the address the user gave
		errHas string // "" = the handshake succeeds
	}{
		{"verifies by default: the test CA is not a system root", Options{}, addr, "certificate"},
		{"with --ca", Options{CAFile: caFile}, addr, ""},
		{"name from the address", Options{CAFile: caFile}, "localhost:" + port, ""},
		{"wrong --server-name", Options{CAFile: caFile, ServerName: "chat.example.org"}, addr, "chat.example.org"},
		{"right --server-name", Options{CAFile: caFile, ServerName: "localhost"}, addr, ""},
		{"server wants a client certificate", Options{CAFile: caFile}, mtlsAddr, "certificate"},
		{"with --cert and --key", Options{CAFile: caFile, CertFile: client.Cert, KeyFile: client.Key}, "127.0.0.1:" + mtlsPort, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Config(tt.opts, tt.dial)
			if err != nil {
				t.Fatal(err)
			}
			err = handshake(tt.dial, cfg)
			if tt.errHas == "" && err != nil {
				t.Fatalf("handshake: %v", err)
			}
			if tt.errHas != "" {
				// A refused client certificate shows on the first
				// read for TLS 1.3; the dial may have succeeded.
				if err == nil {
					c, derr := tls.Dial("tcp", tt.dial, cfg)
					if derr == nil {
						c.SetReadDeadline(time.Now().Add(10 * time.Second))
						_, err = c.Read(make([]byte, 1))
						c.Close()
					} else {
						err = derr
					}
				}
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("err = %v, want one containing %q", err, tt.errHas)
				}
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := tlstest.WriteFile(t, filepath.Join(dir, "garbage.pem"), []byte("not pem"))
	tests := []struct {
		opts   Options
		addr   string
		errHas string
	}{
		{Options{CAFile: filepath.Join(dir, "missing.pem")}, "localhost:5605", "--ca"},
		{Options{CAFile: garbage}, "localhost:5605", "no PEM certificate"},
		{Options{CertFile: garbage}, "localhost:5605", "--cert and --key go together"},
		{Options{CertFile: garbage, KeyFile: garbage}, "localhost:5605", "--cert"},
		{Options{}, ":5605", "--server-name"},
		{Options{}, "localhost", "--tls: address"},
	}
	for _, tt := range tests {
		_, err := Config(tt.opts, tt.addr)
		if err == nil || !strings.Contains(err.Error(), tt.errHas) || strings.Contains(err.Error(), "\n") {
			t.Errorf("Config(%+v, %q) = %v, want one line containing %q", tt.opts, tt.addr, err, tt.errHas)
		}
	}
	cfg, err := Config(Options{ServerName: "x"}, ":5605")
	if err != nil || cfg.ServerName != "x" || cfg.MinVersion != tls.VersionTLS12 || cfg.InsecureSkipVerify {
		t.Errorf("Config with --server-name: %+v, %v", cfg, err)
	}
}
