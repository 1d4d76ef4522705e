package e2e

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/testbin"
	"github.com/chatd/chatd/internal/tlslisten/tlstest"
)

// tlsChatd is a chatd with a TLS listener beside the plain one, its
// certificate issued by a CA the test makes.
type tlsChatd struct {
	*testbin.Chatd
	ca      *tlstest.CA
	caFile  string
	cert    tlstest.Files
	tlsAddr string
}

func startTLSChatd(t *testing.T, extra string) *tlsChatd { return startTLSChatdWith(t, extra, false) }

// startTLSChatdWith starts it; with clientCerts, clients must present a
// certificate from the same CA (tls.client_ca).
func startTLSChatdWith(t *testing.T, extra string, clientCerts bool) *tlsChatd {
	t.Helper()
	return startTLSChatdFrom(t, "", extra, clientCerts)
}

// startTLSChatdFrom is startTLSChatdWith with chatd run from exe ("": the
// one the tests build).
func startTLSChatdFrom(t *testing.T, exe, extra string, clientCerts bool) *tlsChatd {
	t.Helper()
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "chatd e2e CA")
	cert := ca.IssueFiles(t, dir, "server", 2, false)
	caFile := tlstest.WriteFile(t, filepath.Join(dir, "ca.pem"), ca.PEM)
	section := fmt.Sprintf("tls:\n  listen: [\"127.0.0.1:0\"]\n  cert_file: %s\n  key_file: %s\n", cert.Cert, cert.Key)
	if clientCerts {
		section += "  client_ca: " + caFile + "\n"
	}
	d := testbin.StartChatd(t, testbin.Options{Config: section + extra, Exe: exe})
	addrs := listenersOf(t, d)["tls"]
	if len(addrs) != 1 {
		t.Fatalf("TLS listeners %v, want one", addrs)
	}
	return &tlsChatd{Chatd: d, ca: ca, caFile: caFile, cert: cert, tlsAddr: addrs[0]}
}

func (d *tlsChatd) clientConfig() *tls.Config {
	return &tls.Config{RootCAs: d.ca.Pool(), ServerName: "127.0.0.1"}
}

// Debian's openssl s_client and the chat client, each verifying chatd's
// certificate, see the same chat as over plain TCP: answers in capitals,
// and the close phrase ends the connection (s_client exits when chatd
// closes).
func TestTLSWithOpenSSLAndChat(t *testing.T) {
	d := startTLSChatd(t, "")
	for _, version := range []string{"-tls1_2", "-tls1_3"} {
		t.Run("openssl s_client "+version, func(t *testing.T) {
			cmd := exec.Command(testbin.Tool(t, "openssl"), "s_client", "-connect", d.tlsAddr, "-CAfile", d.caFile,
				"-verify_return_error", "-verify_ip", "127.0.0.1", "-quiet", version)
			cmd.Stdin = strings.NewReader("hello über tls\nCLOSE SOCKET")
			var out, errOut bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errOut
			if err := runBounded(t, cmd, 30*time.Second); err != nil {
				t.Fatalf("openssl s_client: %v\n%s", err, errOut.String())
			}
			if out.String() != "HELLO ÜBER TLS\n" {
				t.Fatalf("s_client read %q, want the answer and then the close", out.String())
			}
		})
	}
	t.Run("chat --tls", func(t *testing.T) {
		cmd := exec.Command(testbin.Path(t, "chat"), "--addr", d.tlsAddr, "--tls", "--ca", d.caFile)
		cmd.Stdin = strings.NewReader("hello\nworld\n")
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := runBounded(t, cmd, 30*time.Second); err != nil {
			t.Fatalf("chat --tls: %v; stderr: %s", err, errOut.String())
		}
		if out.String() != "HELLO\nWORLD\n" {
			t.Fatalf("chat --tls printed %q", out.String())
		}
	})
	t.Run("chat --tls without the CA refuses the server", func(t *testing.T) {
		cmd := exec.Command(testbin.Path(t, "chat"), "--addr", d.tlsAddr, "--tls")
		cmd.Stdin = strings.NewReader("hello\n")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := runBounded(t, cmd, 30*time.Second); err == nil {
			t.Fatalf("chat --tls trusted an unknown CA: %s", out.String())
		}
	})
	for _, c := range listed(t, d.Socket) {
		t.Errorf("client %d still listed after all ended", c.ID)
	}
}

func runBounded(t *testing.T, cmd *exec.Cmd, limit time.Duration) error {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(limit):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%s did not finish within %v", cmd.Path, limit)
		return nil
	}
}

func serialOf(c *tls.Conn) int64 {
	return c.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
}

// chatctl reload loads a renewed certificate without dropping a connected
// TLS client; a certificate that does not load is refused, the reload says
// so, and the one in force stays.
func TestTLSCertificateReload(t *testing.T) {
	d := startTLSChatd(t, "")
	old := tlsDial(t, d.tlsAddr, d.clientConfig())
	echo(t, old, "before renewal")
	if serialOf(old) != 2 {
		t.Fatalf("serial %d, want 2", serialOf(old))
	}

	renewed, key := d.ca.Issue(t, 3, false, time.Now().Add(24*time.Hour))
	tlstest.WriteFile(t, d.cert.Cert, renewed)
	tlstest.WriteFile(t, d.cert.Key, key)
	out, _, err := chatctl(t, d.Socket, "reload")
	if err != nil {
		t.Fatalf("reload of a renewed certificate: %v\n%s", err, out)
	}
	// No setting changed, but the reload did something: it says so.
	if want := "TLS certificate reloaded from " + d.cert.Cert + ": a new certificate, valid until "; !strings.Contains(out, want) ||
		strings.Contains(out, "nothing changed") {
		t.Fatalf("chatctl reload after a renewal said %q; want %q…", out, want)
	}
	if out, _, err := chatctl(t, d.Socket, "reload"); err != nil || !strings.Contains(out, ": the same certificate as before, valid until ") {
		t.Fatalf("chatctl reload of the same files said %q, %v; want the same certificate", out, err)
	}
	echo(t, old, "after renewal")
	if c := tlsDial(t, d.tlsAddr, d.clientConfig()); serialOf(c) != 3 {
		t.Fatalf("a new client got serial %d, want the renewed 3", serialOf(c))
	}

	tlstest.WriteFile(t, d.cert.Cert, []byte("-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n"))
	out, _, err = chatctl(t, d.Socket, "reload")
	if err == nil || !strings.Contains(err.Error(), "tls") {
		t.Fatalf("reload of a broken certificate: err %v, out %q; want a refusal naming tls", err, out)
	}
	t.Logf("refused as it should be: %v", err)
	fresh := tlsDial(t, d.tlsAddr, d.clientConfig())
	if serialOf(fresh) != 3 {
		t.Fatalf("after the refused reload a new client got serial %d, want 3 (kept)", serialOf(fresh))
	}
	echo(t, fresh, "kept")
	echo(t, old, "still here")
	if n := len(listed(t, d.Socket)); n != 3 {
		t.Fatalf("%d clients listed, want 3 (none dropped)", n)
	}
}

// A client that connects to the TLS port and never finishes its handshake
// holds no max_clients place, and is closed after the handshake timeout.
func TestStalledTLSHandshakeCostsNoPlace(t *testing.T) {
	d := startTLSChatd(t, "max_clients: 1\n")
	stalled := dialFrom(t, "127.0.0.1", d.tlsAddr)
	c := tlsDial(t, d.tlsAddr, d.clientConfig())
	echo(t, c, "served while a handshake stalls")
	if got := readAll(t, stalled); got != "" {
		t.Fatalf("stalled handshake read %q", got)
	}
	echo(t, c, "still served")
}

// With tls.client_ca, chat --tls --cert --key gets in and a client
// without a certificate does not.
func TestTLSClientCertificates(t *testing.T) {
	d := startTLSChatdWith(t, "", true)
	client := d.ca.IssueFiles(t, t.TempDir(), "client", 4, true)
	cmd := exec.Command(testbin.Path(t, "chat"), "--addr", d.tlsAddr, "--tls", "--ca", d.caFile,
		"--cert", client.Cert, "--key", client.Key)
	cmd.Stdin = strings.NewReader("with a certificate\n")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := runBounded(t, cmd, 30*time.Second); err != nil || out.String() != "WITH A CERTIFICATE\n" {
		t.Fatalf("chat --tls --cert: %v, printed %q; stderr: %s", err, out.String(), errOut.String())
	}
	cmd = exec.Command(testbin.Path(t, "chat"), "--addr", d.tlsAddr, "--tls", "--ca", d.caFile)
	cmd.Stdin = strings.NewReader("without\n")
	out.Reset()
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := runBounded(t, cmd, 30*time.Second); err == nil || strings.Contains(out.String(), "WITHOUT") {
		t.Fatalf("a client without a certificate was served: %v, %q", err, out.String())
	}
}
