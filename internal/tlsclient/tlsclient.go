// Package tlsclient builds the TLS configuration of a chatd client
// (`chat --tls`). It verifies the server by default, against the system's
// roots or the CA file given, under the host name the user dialled or the
// one given; there is deliberately no switch to skip verification, since a
// chat over an unverified TLS connection is a chat with whoever sits in
// between. A client certificate is sent when the server asks for one and
// the user gave a certificate and key.
package tlsclient

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
)

// Options are the client's TLS flags.
type Options struct {
	CAFile     string // --ca: PEM CA certificates to verify the server; "" = the system's
	CertFile   string // --cert: PEM client certificate
	KeyFile    string // --key: its private key
	ServerName string // --server-name: the name to verify; "" = the host in addr
}

// Config is the tls.Config for dialling addr (HOST:PORT) with o. Its
// errors are one line, naming the flag at fault.
func Config(o Options, addr string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: o.ServerName}
	if cfg.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, fmt.Errorf("--tls: address %q: %w", addr, err)
		}
		if host == "" {
			return nil, errors.New("--tls: the address has no host to verify the certificate against; give --server-name")
		}
		cfg.ServerName = host
	}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("--ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca %s: no PEM certificate in it", o.CAFile)
		}
		cfg.RootCAs = pool
	}
	switch {
	case o.CertFile != "" && o.KeyFile != "":
		pair, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("--cert %s --key %s: %w", o.CertFile, o.KeyFile, err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	case o.CertFile != "" || o.KeyFile != "":
		return nil, errors.New("--cert and --key go together")
	}
	return cfg, nil
}
