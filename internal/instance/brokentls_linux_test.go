package instance

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/chatlisten"
	"github.com/chatd/chatd/internal/config"
	"github.com/chatd/chatd/internal/fdstore"
	"github.com/chatd/chatd/internal/fdstore/fdstoretest"
	"github.com/chatd/chatd/internal/handover"
	"github.com/chatd/chatd/internal/logging"
	"github.com/chatd/chatd/internal/tlslisten"
	"github.com/chatd/chatd/internal/tlslisten/tlstest"
)

// tlsSetup is a CA, a server certificate and a client CA on disk, for a
// daemon with a TLS listener that asks for client certificates.
type tlsSetup struct {
	ca     *tlstest.CA
	files  tlstest.Files
	caFile string
}

func newTLSSetup(t *testing.T, dir string) *tlsSetup {
	ca := tlstest.NewCA(t, "instance test CA")
	return &tlsSetup{
		ca:     ca,
		files:  ca.IssueFiles(t, dir, "server", 2, false),
		caFile: tlstest.WriteFile(t, filepath.Join(dir, "clients-ca.pem"), ca.PEM),
	}
}

// breakages are the ways an operator leaves the TLS files broken on disk.
func (s *tlsSetup) breakages(t *testing.T) []struct {
	name  string
	spoil func()
} {
	otherCA := tlstest.NewCA(t, "another CA")
	_, otherKey := otherCA.Issue(t, 9, false, time.Now().Add(time.Hour))
	return []struct {
		name  string
		spoil func()
	}{
		{"certificate overwritten by garbage", func() { tlstest.WriteFile(t, s.files.Cert, []byte("garbage\n")) }},
		{"key that does not match", func() { tlstest.WriteFile(t, s.files.Key, otherKey) }},
		{"client CA without a certificate", func() { tlstest.WriteFile(t, s.caFile, []byte("no PEM here\n")) }},
	}
}

// fix writes a good new certificate (serial) and the client CA again.
func (s *tlsSetup) fix(t *testing.T, serial int64) {
	cert, key := s.ca.Issue(t, serial, false, time.Now().Add(12*time.Hour))
	tlstest.WriteFile(t, s.files.Cert, cert)
	tlstest.WriteFile(t, s.files.Key, key)
	tlstest.WriteFile(t, s.caFile, s.ca.PEM)
}

func (s *tlsSetup) section() config.TLS {
	return config.TLS{Listen: []string{"127.0.0.1:0"}, CertFile: s.files.Cert, KeyFile: s.files.Key, ClientCA: s.caFile}
}

// dial makes a TLS round trip with a client certificate and returns the
// serial of the certificate the server presented.
func (s *tlsSetup) dial(t *testing.T, addr string) int64 {
	t.Helper()
	certPEM, keyPEM := s.ca.Issue(t, 100, true, time.Now().Add(time.Hour))
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr,
		&tls.Config{RootCAs: s.ca.Pool(), ServerName: "127.0.0.1", Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatalf("TLS dial %s: %v", addr, err)
	}
	defer c.Close()
	chat(t, c, "tls\n", "TLS\n")
	return c.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
}

func tlsAddr(t *testing.T, d *Instance) string {
	t.Helper()
	for _, l := range d.listeners.Listeners {
		if l.Kind == chatlisten.TLS {
			return l.Addr().String()
		}
	}
	t.Fatal("no TLS listener")
	return ""
}

// loadFromDisk loads d's config as a restart would load its file: every
// check, the TLS files read from disk.
func loadFromDisk(t *testing.T, d *Instance) func() (*config.Config, error) {
	doc, err := d.Config().YAML()
	if err != nil {
		t.Fatal(err)
	}
	return func() (*config.Config, error) { return config.FromDocument(doc, "file chatd.yaml") }
}

// A planned restart onto TLS files broken on disk (each of cert, key and
// client CA) goes on: the plain client is served on, a new TLS client gets
// the certificate in force before, chatd says it is degraded, and a reload
// once the files are good again serves them and ends the degraded state.
func TestPlannedRestartOntoBrokenTLSFilesServesTheCertificateInForce(t *testing.T) {
	for i, tc := range newTLSSetup(t, t.TempDir()).breakages(t) {
		t.Run(tc.name, func(t *testing.T) {
			store := fdstoretest.New(t)
			t.Setenv("NOTIFY_SOCKET", store.Path())
			dir := shortTempDir(t)
			s := newTLSSetup(t, dir)
			s.breakages(t)[i].spoil()
			if _, err := tlslisten.NewServer(tlslisten.Files{CertFile: s.files.Cert, KeyFile: s.files.Key, ClientCA: s.caFile}); err == nil {
				t.Fatal("the breakage did not break the files")
			}
			s.fix(t, 2)

			old := newTestDaemon(t, dir, "127.0.0.1:0", filepath.Join(dir, "a.sock"))
			old.cfg.TLS = s.section()
			old.surv.inh = newInheritance(fdstore.NewFiles(nil))
			if err := old.Start(); err != nil {
				t.Fatal(err)
			}
			plain, err := net.Dial("tcp", old.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer plain.Close()
			chat(t, plain, "hi\n", "HI\n")
			if got := s.dial(t, tlsAddr(t, old)); got != 2 {
				t.Fatalf("old served certificate %d", got)
			}
			load := loadFromDisk(t, old)

			s.breakages(t)[i].spoil()
			old.RequestRestart()
			old.Stop()
			store.WaitFor(5*time.Second, func([]fdstoretest.Entry) bool { return slices.Contains(store.Names(), fdstore.StateName) })
			if _, err := load(); err == nil {
				t.Fatal("the config with broken TLS files loads")
			}

			in := newInheritance(fdstore.NewFiles(store.Dup(t, "")))
			cfg, why, err := in.ConfigOrLastGood(load)
			if err != nil || why == nil {
				t.Fatalf("restart onto broken TLS files: cfg %v, why %v, err %v", cfg, why, err)
			}
			log, _ := logging.New(io.Discard, "text", "error")
			cfg.Admin.Socket = filepath.Join(dir, "b.sock")
			next := New(cfg, log)
			next.Inherit(in, why)
			if err := next.Start(); err != nil {
				t.Fatal(err)
			}
			defer next.Stop()
			chat(t, plain, "still\n", "STILL\n")
			if got := s.dial(t, tlsAddr(t, next)); got != 2 {
				t.Fatalf("after the restart a new TLS client got certificate %d, want the one in force before (2)", got)
			}
			if deg := next.Survival().Degraded; !strings.Contains(deg, "tls") {
				t.Fatalf("degraded %q, want the TLS error", deg)
			}
			if a := next.adminCounters().Survival; a.Degraded == "" {
				t.Fatal("the admin API does not see the degraded state")
			}

			// Still broken: a reload is refused and changes nothing.
			next.SetConfigSource(load)
			if _, err := next.Reload(); err == nil || next.Survival().Degraded == "" {
				t.Fatalf("reload onto the broken files: err %v, degraded %q", err, next.Survival().Degraded)
			}
			s.fix(t, 3)
			if _, err := next.Reload(); err != nil {
				t.Fatalf("reload with good files: %v", err)
			}
			if deg := next.Survival().Degraded; deg != "" {
				t.Fatalf("still degraded after a good reload: %q", deg)
			}
			if got := s.dial(t, tlsAddr(t, next)); got != 3 {
				t.Fatalf("after the reload a new TLS client got certificate %d, want the new one (3)", got)
			}
			chat(t, plain, "on\n", "ON\n")
		})
	}
}

// After a crash there is no hand-over: the certificate in force is in
// the kept config beside the held clients, follows a renewal by reload,
// and is what a start onto broken TLS files serves.
func TestCrashOntoBrokenTLSFilesServesTheKeptCertificate(t *testing.T) {
	store := fdstoretest.New(t)
	t.Setenv("NOTIFY_SOCKET", store.Path())
	dir := shortTempDir(t)
	s := newTLSSetup(t, dir)
	old := newTestDaemon(t, dir, "127.0.0.1:0", filepath.Join(dir, "a.sock"))
	old.cfg.TLS = s.section()
	old.surv.inh = newInheritance(fdstore.NewFiles(nil))
	if err := old.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		old.surv.plannedRestart = func(context.Context, string) (bool, error) { return false, nil }
		old.Stop()
	}()
	plain, err := net.Dial("tcp", old.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	chat(t, plain, "hi\n", "HI\n")
	waitUntil(t, "the client held", func() bool { return old.Survival().Held == 1 })

	// A renewal by reload: the kept certificate follows it.
	s.fix(t, 5)
	old.SetConfigSource(loadFromDisk(t, old))
	if _, err := old.Reload(); err != nil {
		t.Fatal(err)
	}
	renewed := old.listeners.TLS.Material()
	load := loadFromDisk(t, old)
	s.breakages(t)[1].spoil()

	var in *Inheritance
	if !store.WaitFor(5*time.Second, func([]fdstoretest.Entry) bool {
		if in != nil {
			in.files.CloseRest()
		}
		in = newInheritance(fdstore.NewFiles(store.Dup(t, "")))
		m := materialOf(kept(in))
		return m != nil && bytes.Equal(m.Cert, renewed.Cert)
	}) {
		t.Fatal("the store does not keep the renewed certificate")
	}
	defer in.files.CloseRest()
	cfg, why, err := in.ConfigOrLastGood(load)
	if err != nil || why == nil || !strings.Contains(cfg.Origin, "before it ended") {
		t.Fatalf("crash onto broken TLS files: cfg %v, why %v, err %v", cfg, why, err)
	}
	m := in.keptTLS()
	if m == nil || !bytes.Equal(m.Key, renewed.Key) {
		t.Fatal("the kept TLS material is not the one in force")
	}
	srv, err := tlslisten.NewServerFrom(cfg.TLSFiles(), *m)
	if err != nil {
		t.Fatalf("the kept certificate does not load: %v", err)
	}
	if got := srv.Material(); !bytes.Equal(got.ClientCA, s.ca.PEM) {
		t.Fatal("the kept client CA is not the one in force")
	}
}

func kept(in *Inheritance) *handover.TLS {
	if in.kept == nil {
		return nil
	}
	return in.kept.TLS
}

// A planned restart with no client connected onto a broken file goes on
// with the handed-over config as well: new clients are waiting for it in
// the listener's backlog.
func TestPlannedRestartWithNoClientOntoBrokenFileGoesOn(t *testing.T) {
	store := fdstoretest.New(t)
	t.Setenv("NOTIFY_SOCKET", store.Path())
	dir := shortTempDir(t)
	s := newTLSSetup(t, dir)
	old := newTestDaemon(t, dir, "127.0.0.1:0", filepath.Join(dir, "a.sock"))
	old.cfg.TLS = s.section()
	old.surv.inh = newInheritance(fdstore.NewFiles(nil))
	if err := old.Start(); err != nil {
		t.Fatal(err)
	}
	load := loadFromDisk(t, old)
	s.breakages(t)[0].spoil()
	old.RequestRestart()
	old.Stop()
	store.WaitFor(5*time.Second, func([]fdstoretest.Entry) bool { return slices.Contains(store.Names(), fdstore.StateName) })
	in := newInheritance(fdstore.NewFiles(store.Dup(t, "")))
	defer in.files.CloseRest()
	cfg, why, err := in.ConfigOrLastGood(load)
	if err != nil || why == nil || !strings.Contains(cfg.Origin, "handed over") || in.keptTLS() == nil {
		t.Fatalf("planned restart with no client onto a broken certificate: cfg %v, why %v, err %v", cfg, why, err)
	}
}

// The certificate kept from before a restart may have expired since:
// refusing it would stop chatd and drop every plain client, so it is
// served (and said to be expired) until a reload loads good files.
func TestRestartOntoBrokenFilesWithAnExpiredKeptCertificateGoesOn(t *testing.T) {
	dir := shortTempDir(t)
	s := newTLSSetup(t, dir)
	d := newTestDaemon(t, dir, "127.0.0.1:0", filepath.Join(dir, "a.sock"))
	d.cfg.TLS = s.section()
	doc, err := d.cfg.YAML()
	if err != nil {
		t.Fatal(err)
	}
	load := loadFromDisk(t, d)
	d.ids.Close() // only its config is wanted
	cert, key := s.ca.Issue(t, 6, false, time.Now().Add(-time.Minute))
	s.breakages(t)[0].spoil()
	in := &Inheritance{files: fdstore.NewFiles(nil), state: &handover.State{Version: "test", Config: doc,
		TLS: &handover.TLS{Cert: cert, Key: key, ClientCA: s.ca.PEM}}}
	cfg, why, err := in.ConfigOrLastGood(load)
	if err != nil || why == nil {
		t.Fatalf("restart onto broken files with an expired kept certificate: cfg %v, why %v, err %v", cfg, why, err)
	}
	cfg.Admin.Socket = filepath.Join(dir, "b.sock")
	log, _ := logging.New(io.Discard, "text", "error")
	next := New(cfg, log)
	next.Inherit(in, why)
	if err := next.Start(); err != nil {
		t.Fatalf("start with the expired kept certificate: %v", err)
	}
	defer next.Stop()
	if got := next.listeners.TLS.Material(); !bytes.Equal(got.Cert, cert) {
		t.Fatal("the TLS listener does not serve the kept certificate")
	}
	c, err := net.Dial("tcp", next.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	chat(t, c, "plain\n", "PLAIN\n")
}
