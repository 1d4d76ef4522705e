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

// Material is the content of Files as it was read: what a TLS listener
// serves with, kept so that a restarted chatd can go on serving the
// certificate in force when the files on disk have been broken meanwhile.
// Key is a private key: whoever holds a Material must keep it from other
// users.
type Material struct {
	Cert, Key []byte // PEM
	ClientCA  []byte // PEM; nil when no client certificates are asked for
}

// ReadFiles reads what f names; an error names the file at fault.
func ReadFiles(f Files) (Material, error) {
	if f.CertFile == "" || f.KeyFile == "" {
		return Material{}, errors.New("tls: cert_file and key_file are both needed")
	}
	var m Material
	var err error
	if m.Cert, err = os.ReadFile(f.CertFile); err != nil {
		return Material{}, fmt.Errorf("tls: cert_file: %w", err)
	}
	if m.Key, err = os.ReadFile(f.KeyFile); err != nil {
		return Material{}, fmt.Errorf("tls: key_file: %w", err)
	}
	if f.ClientCA != "" {
		if m.ClientCA, err = os.ReadFile(f.ClientCA); err != nil {
			return Material{}, fmt.Errorf("tls: client_ca: %w", err)
		}
	}
	return m, nil
}

// Server holds the TLS configuration in force and swaps it on Update.
type Server struct {
	cur  atomic.Pointer[loaded]
	base *tls.Config
}

type loaded struct {
	files    Files
	material Material
	cert     *tls.Certificate
	cfg      *tls.Config
}

// NewServer loads files; an error names the file at fault.
func NewServer(f Files) (*Server, error) {
	m, err := ReadFiles(f)
	if err != nil {
		return nil, err
	}
	return NewServerFrom(f, m)
}

// NewServerFrom serves m, read earlier from f (f names it in errors and
// in Files), with the checks NewServer makes.
func NewServerFrom(f Files, m Material) (*Server, error) {
	return newServer(f, m, time.Now())
}

// NewServerKept is NewServerFrom for the material that was in force in
// the process before a restart, when the files on disk no longer load: a
// certificate that has expired since is served all the same (clients
// that check will refuse it, and say why), because refusing it would
// stop chatd and drop every plain client with it.
func NewServerKept(f Files, m Material) (*Server, error) {
	return newServer(f, m, time.Time{})
}

// newServer checks expiry against now unless it is zero.
func newServer(f Files, m Material, now time.Time) (*Server, error) {
	l, err := load(f, m, now)
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
	m, err := ReadFiles(f)
	if err != nil {
		return err
	}
	l, err := load(f, m, time.Now())
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

// Material is what is served, as it was read from Files.
func (s *Server) Material() Material { return s.cur.Load().material }

// NotAfter is when the certificate in force expires (for status and
// metrics: a renewal that did not happen shows here).
func (s *Server) NotAfter() time.Time { return s.cur.Load().cert.Leaf.NotAfter }

// Leaf is the certificate in force (a reload compares it with the one
// before, to say whether it loaded a renewed one).
func (s *Server) Leaf() *x509.Certificate { return s.cur.Load().cert.Leaf }

func load(f Files, m Material, now time.Time) (*loaded, error) {
	cert, err := tls.X509KeyPair(m.Cert, m.Key)
	if err != nil {
		return nil, fmt.Errorf("tls: load %s and %s: %w", f.CertFile, f.KeyFile, err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("tls: parse %s: %w", f.CertFile, err)
		}
	}
	if !now.IsZero() && now.After(cert.Leaf.NotAfter) {
		return nil, fmt.Errorf("tls: %s expired at %s", f.CertFile, cert.Leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return &cert, nil
		},
	}
	if f.ClientCA != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(m.ClientCA) {
			return nil, fmt.Errorf("tls: client_ca %s: no PEM certificate in it", f.ClientCA)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return &loaded{files: f, material: m, cert: &cert, cfg: cfg}, nil
}
