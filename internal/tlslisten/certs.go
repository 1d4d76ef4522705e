package tlslisten

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"
)

// Files names what the TLS listener serves with.
type Files struct {
	CertFile string // PEM certificate chain, leaf first
	KeyFile  string // PEM private key of the leaf
	ClientCA string // PEM CA certificates for client certificates; "" = none asked
}

// Server holds the TLS configuration in force and swaps it on Update.
type Server struct {
	cur  atomic.Pointer[loaded]
	base *tls.Config
}

type loaded struct {
	files Files
	cert  *tls.Certificate
	cfg   *tls.Config
}

// NewServer loads files; an error names the file at fault.
func NewServer(f Files) (*Server, error) {
	l, err := load(f, time.Now())
	if err != nil {
		return nil, err
	}
	s := &Server{}
	s.cur.Store(l)
	s.base = &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return s.cur.Load().cfg, nil
		},
	}
	return s, nil
}

// Update loads f (the same files renewed, or other ones) and, if they are
// good, serves them from the next handshake on. If not, it returns why
// and the configuration in force stays.
func (s *Server) Update(f Files) error {
	l, err := load(f, time.Now())
	if err != nil {
		return err
	}
	s.cur.Store(l)
	return nil
}

// Config is the tls.Config to serve with (it follows Update).
func (s *Server) Config() *tls.Config { return s.base }

// Files are the files in force.
func (s *Server) Files() Files { return s.cur.Load().files }

// NotAfter is when the certificate in force expires (for status and
// metrics: a renewal that did not happen shows here).
func (s *Server) NotAfter() time.Time { return s.cur.Load().cert.Leaf.NotAfter }

// Leaf is the certificate in force (a reload compares it with the one
// before, to say whether it loaded a renewed one).
func (s *Server) Leaf() *x509.Certificate { return s.cur.Load().cert.Leaf }

func load(f Files, now time.Time) (*loaded, error) {
	if f.CertFile == "" || f.KeyFile == "" {
		return nil, errors.New("tls: cert_file and key_file are both needed")
	}
	cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: load %s and %s: %w", f.CertFile, f.KeyFile, err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("tls: parse %s: %w", f.CertFile, err)
		}
	}
	if now.After(cert.Leaf.NotAfter) {
		return nil, fmt.Errorf("tls: %s expired at %s", f.CertFile, cert.Leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return &cert, nil
		},
	}
	if f.ClientCA != "" {
		pem, err := os.ReadFile(f.ClientCA)
		if err != nil {
			return nil, fmt.Errorf("tls: client_ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls: client_ca %s: no PEM certificate in it", f.ClientCA)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return &loaded{files: f, cert: &cert, cfg: cfg}, nil
}
