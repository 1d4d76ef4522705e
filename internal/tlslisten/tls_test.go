package tlslisten

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	proxyproto "github.com/pires/go-proxyproto"
	"go.uber.org/goleak"

	"github.com/chatd/chatd/internal/proxyheader"
	"github.com/chatd/chatd/internal/syncbuf"
	"github.com/chatd/chatd/internal/testbin"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TLS 1.2 and 1.3 are served and verify against the test's CA; 1.1 and
// 1.0 are refused.
func TestVersions(t *testing.T) {
	c := newCA(t, "test CA")
	s, err := NewServer(serverFiles(t, t.TempDir(), c, 1))
	if err != nil {
		t.Fatal(err)
	}
	ln := tlsServer(t, s, Options{}, 10)
	tests := []struct {
		name    string
		version uint16
		ok      bool
	}{
		{"1.3", tls.VersionTLS13, true},
		{"1.2", tls.VersionTLS12, true},
		{"1.1", tls.VersionTLS11, false},
		{"1.0", tls.VersionTLS10, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &tls.Config{RootCAs: pool(c), ServerName: "localhost", MinVersion: tt.version, MaxVersion: tt.version}
			got, _, err := chat(t, ln.Addr().String(), cfg, "hello tls")
			if tt.ok && (err != nil || got != "HELLO TLS") {
				t.Fatalf("got %q, %v; want HELLO TLS", got, err)
			}
			if !tt.ok && err == nil {
				t.Fatalf("TLS %s was served", tt.name)
			}
		})
	}
}

// sClient runs openssl s_client against addr with a line on stdin and
// returns its output; -ign_eof keeps it until the server closes.
func sClient(t *testing.T, addr string, args ...string) (string, error) {
	t.Helper()
	args = append([]string{"s_client", "-connect", addr, "-ign_eof", "-verify_return_error"}, args...)
	cmd := exec.Command(testbin.Tool(t, "openssl"), args...)
	cmd.Stdin = strings.NewReader("hello from openssl\n")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.String(), err
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("openssl s_client did not finish:\n%s", out.String())
		return "", nil
	}
}

// closeAfterOneLine is a server that answers one line in capitals and
// closes, so openssl s_client ends.
func closeAfterOneLine(t *testing.T, ln net.Listener) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(30 * time.Second))
				line, err := bufio.NewReader(c).ReadString('\n')
				if err == nil {
					c.Write([]byte(strings.ToUpper(line)))
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
}

// Debian's openssl s_client, TLS 1.2 and 1.3, verifying the server against
// the test's CA by name; and with a client CA, with and without a client
// certificate.
func TestOpenSSLClient(t *testing.T) {
	testbin.Tool(t, "openssl")
	dir := t.TempDir()
	c := newCA(t, "test CA")
	files := serverFiles(t, dir, c, 7)
	caFile := writeFile(t, filepath.Join(dir, "ca.pem"), c.PEM)

	s, err := NewServer(files)
	if err != nil {
		t.Fatal(err)
	}
	inner, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := Listen(inner, s, Options{})
	closeAfterOneLine(t, ln)
	for _, version := range []string{"-tls1_2", "-tls1_3"} {
		out, err := sClient(t, ln.Addr().String(), version, "-CAfile", caFile, "-verify_hostname", "localhost", "-servername", "localhost")
		if err != nil || !strings.Contains(out, "Verify return code: 0 (ok)") || !strings.Contains(out, "HELLO FROM OPENSSL") {
			t.Fatalf("s_client %s: %v\n%s", version, err, out)
		}
	}
	// Verification by default: the wrong name fails.
	if out, err := sClient(t, ln.Addr().String(), "-CAfile", caFile, "-verify_hostname", "chat.example.org"); err == nil || strings.Contains(out, "HELLO") {
		t.Fatalf("s_client with a wrong host name was served:\n%s", out)
	}

	// With a client CA.
	clientCA := newCA(t, "client CA")
	cert, key := clientCA.Issue(t, 100, true, time.Now().Add(time.Hour))
	withCA := files
	withCA.ClientCA = writeFile(t, filepath.Join(dir, "client-ca.pem"), clientCA.PEM)
	if err := s.Update(withCA); err != nil {
		t.Fatal(err)
	}
	certFile := writeFile(t, filepath.Join(dir, "client.pem"), cert)
	keyFile := writeFile(t, filepath.Join(dir, "client.key"), key)
	out, err := sClient(t, ln.Addr().String(), "-CAfile", caFile, "-cert", certFile, "-key", keyFile)
	if err != nil || !strings.Contains(out, "HELLO FROM OPENSSL") {
		t.Fatalf("s_client with a client certificate: %v\n%s", err, out)
	}
	if out, _ := sClient(t, ln.Addr().String(), "-CAfile", caFile); strings.Contains(out, "HELLO") {
		t.Fatalf("s_client without a client certificate was served:\n%s", out)
	}
}

// With a client CA, Go clients without a certificate or with one from
// another CA are refused.
func TestClientCertificates(t *testing.T) {
	dir := t.TempDir()
	c, clientCA, stranger := newCA(t, "server CA"), newCA(t, "client CA"), newCA(t, "other CA")
	files := serverFiles(t, dir, c, 1)
	files.ClientCA = writeFile(t, filepath.Join(dir, "client-ca.pem"), clientCA.PEM)
	s, err := NewServer(files)
	if err != nil {
		t.Fatal(err)
	}
	ln := tlsServer(t, s, Options{}, 10)
	keyPair := func(from *ca) []tls.Certificate {
		cert, key := from.Issue(t, 5, true, time.Now().Add(time.Hour))
		kp, err := tls.X509KeyPair(cert, key)
		if err != nil {
			t.Fatal(err)
		}
		return []tls.Certificate{kp}
	}
	tests := []struct {
		name  string
		certs []tls.Certificate
		ok    bool
	}{
		{"signed by the client CA", keyPair(clientCA), true},
		{"none", nil, false},
		{"signed by another CA", keyPair(stranger), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &tls.Config{RootCAs: pool(c), ServerName: "localhost", Certificates: tt.certs}
			got, _, err := chat(t, ln.Addr().String(), cfg, "hi")
			if tt.ok != (err == nil && got == "HI") {
				t.Fatalf("got %q, %v; want served = %v", got, err, tt.ok)
			}
		})
	}
}

// A renewed certificate is served from the next handshake on while a
// client connected before keeps chatting; a bad one is refused with the
// reason and the one in force stays.
func TestUpdateSwapsCertificateKeepingClients(t *testing.T) {
	dir := t.TempDir()
	c := newCA(t, "test CA")
	files := serverFiles(t, dir, c, 1)
	s, err := NewServer(files)
	if err != nil {
		t.Fatal(err)
	}
	ln := tlsServer(t, s, Options{}, 10)
	cfg := &tls.Config{RootCAs: pool(c), ServerName: "localhost"}

	before, err := tls.Dial("tcp", ln.Addr().String(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer before.Close()
	before.SetDeadline(time.Now().Add(60 * time.Second))
	r := bufio.NewReader(before)
	if serial := before.ConnectionState().PeerCertificates[0].SerialNumber.Int64(); serial != 1 {
		t.Fatalf("serial %d before renewal, want 1", serial)
	}

	// Renew in place, as certbot does, then reload.
	renewed := serverFiles(t, dir, c, 2)
	if err := s.Update(renewed); err != nil {
		t.Fatal(err)
	}
	if _, serial, err := chat(t, ln.Addr().String(), cfg, "x"); err != nil || serial != 2 {
		t.Fatalf("after renewal: serial %d, %v; want 2", serial, err)
	}
	fmt.Fprintf(before, "still here\n")
	if line, err := r.ReadString('\n'); err != nil || line != "STILL HERE\n" {
		t.Fatalf("client connected before the renewal: %q, %v", line, err)
	}

	other := newCA(t, "other")
	otherCert, _ := other.Issue(t, 9, false, time.Now().Add(time.Hour))
	expiredCert, expiredKey := c.Issue(t, 3, false, time.Now().Add(-time.Minute))
	bad := []struct {
		name   string
		files  func() Files
		errHas string
	}{
		{"missing file", func() Files { return Files{CertFile: filepath.Join(dir, "nope.pem"), KeyFile: renewed.KeyFile} }, "nope.pem"},
		{"garbage", func() Files {
			return Files{CertFile: writeFile(t, filepath.Join(dir, "garbage.pem"), []byte("not a certificate")), KeyFile: renewed.KeyFile}
		}, "garbage.pem"},
		{"key of another certificate", func() Files {
			return Files{CertFile: writeFile(t, filepath.Join(dir, "other.pem"), otherCert), KeyFile: renewed.KeyFile}
		}, "private key does not match"},
		{"expired", func() Files {
			return Files{CertFile: writeFile(t, filepath.Join(dir, "expired.pem"), expiredCert), KeyFile: writeFile(t, filepath.Join(dir, "expired.key"), expiredKey)}
		}, "expired"},
		{"client CA without a certificate", func() Files {
			f := renewed
			f.ClientCA = writeFile(t, filepath.Join(dir, "empty-ca.pem"), []byte("nothing\n"))
			return f
		}, "no PEM certificate"},
		{"no key file", func() Files { return Files{CertFile: renewed.CertFile} }, "both needed"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Update(tt.files())
			if err == nil || !strings.Contains(err.Error(), tt.errHas) {
				t.Fatalf("Update: %v, want an error containing %q", err, tt.errHas)
			}
			if s.Files() != renewed {
				t.Fatalf("files in force = %+v, want %+v kept", s.Files(), renewed)
			}
			if _, serial, err := chat(t, ln.Addr().String(), cfg, "x"); err != nil || serial != 2 {
				t.Fatalf("after a refused update: serial %d, %v; want 2 still served", serial, err)
			}
		})
	}
	if _, err := NewServer(Files{CertFile: "/nonexistent/cert.pem", KeyFile: "/nonexistent/key.pem"}); err == nil {
		t.Error("NewServer with missing files succeeded")
	}
}

// A client that opens a connection and never finishes its handshake holds
// no place (the stand-in server has one): a TLS client behind it is
// served, and the stalled connection is closed at the handshake timeout.
func TestStalledHandshakeTakesNoPlace(t *testing.T) {
	c := newCA(t, "test CA")
	s, err := NewServer(serverFiles(t, t.TempDir(), c, 1))
	if err != nil {
		t.Fatal(err)
	}
	var logs syncbuf.Buffer
	const timeout = 500 * time.Millisecond
	ln := tlsServer(t, s, Options{HandshakeTimeout: timeout, Log: slog.New(slog.NewTextHandler(&logs, nil))}, 1)

	start := time.Now()                                // before the dials: the server's clock starts after them
	silent, err := net.Dial("tcp", ln.Addr().String()) // no ClientHello, ever
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	half, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer half.Close()
	half.Write([]byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01}) // a ClientHello's first bytes

	cfg := &tls.Config{RootCAs: pool(c), ServerName: "localhost"}
	if got, _, err := chat(t, ln.Addr().String(), cfg, "served"); err != nil || got != "SERVED" {
		t.Fatalf("client behind stalled handshakes: %q, %v", got, err)
	}
	for _, stalled := range []net.Conn{silent, half} {
		stalled.SetReadDeadline(time.Now().Add(30 * time.Second))
		_, err := io.ReadAll(stalled)
		if err != nil && !strings.Contains(err.Error(), "reset") {
			t.Fatalf("stalled connection: %v, want it closed by the server", err)
		}
	}
	if took := time.Since(start); took < timeout-50*time.Millisecond {
		t.Errorf("stalled connections closed after %v, before the %v timeout", took, timeout)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(logs.String(), "TLS handshake failed; connection closed") && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "TLS handshake failed; connection closed") {
		t.Errorf("no log line for the stalled handshakes: %q", logs.String())
	}
}

// TLS behind a load balancer that sends a PROXY header first (HAProxy in
// TCP mode in front of chatd's TLS port): the listeners stack and the
// client's address comes through.
func TestTLSBehindProxyHeader(t *testing.T) {
	c := newCA(t, "test CA")
	s, err := NewServer(serverFiles(t, t.TempDir(), c, 1))
	if err != nil {
		t.Fatal(err)
	}
	inner, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	trusted, _ := proxyheader.ParseTrusted([]string{"127.0.0.0/8"})
	pl, err := proxyheader.Listen(inner, proxyheader.Config{Trusted: trusted})
	if err != nil {
		t.Fatal(err)
	}
	ln := Listen(pl, s, Options{})
	defer ln.Close()
	got := make(chan string, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			got <- err.Error()
			return
		}
		defer conn.Close()
		got <- conn.RemoteAddr().String()
	}()

	raw, err := net.Dial("tcp4", inner.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	h := proxyproto.HeaderProxyFromAddrs(2, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 77), Port: 4321}, inner.Addr())
	if _, err := h.WriteTo(raw); err != nil {
		t.Fatal(err)
	}
	tc := tls.Client(raw, &tls.Config{RootCAs: pool(c), ServerName: "localhost"})
	tc.SetDeadline(time.Now().Add(30 * time.Second))
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	if addr := <-got; addr != "127.0.0.77:4321" {
		t.Fatalf("RemoteAddr through PROXY + TLS = %s, want 127.0.0.77:4321", addr)
	}
}

// A certificate that has expired is refused when loaded, but the one kept
// from before a restart is served even if it expired since.
func TestKeptCertificateIsServedEvenIfExpired(t *testing.T) {
	c := newCA(t, "kept CA")
	certPEM, keyPEM := c.Issue(t, 4, false, time.Now().Add(-time.Minute))
	m := Material{Cert: certPEM, Key: keyPEM}
	f := Files{CertFile: "cert.pem", KeyFile: "key.pem"}
	if _, err := NewServerFrom(f, m); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("NewServerFrom of an expired certificate: %v, want a refusal saying it expired", err)
	}
	s, err := NewServerKept(f, m)
	if err != nil {
		t.Fatalf("NewServerKept of an expired certificate: %v", err)
	}
	if got := s.Material(); string(got.Cert) != string(certPEM) || time.Now().Before(s.NotAfter()) {
		t.Fatalf("kept server serves %q until %v", got.Cert, s.NotAfter())
	}
	if _, err := NewServerKept(f, Material{Cert: []byte("garbage"), Key: keyPEM}); err == nil {
		t.Fatal("NewServerKept accepted garbage")
	}
}
