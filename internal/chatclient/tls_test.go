package chatclient_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/chatd/chatd/internal/chatclient"
	"github.com/chatd/chatd/internal/chatclient/chatdtest"
	"github.com/chatd/chatd/internal/tlsclient"
	"github.com/chatd/chatd/internal/tlslisten"
	"github.com/chatd/chatd/internal/tlslisten/tlstest"
)

// tlsUpperServer serves TLS with a certificate from ca and answers each
// read in ASCII capitals until the client ends its input, then closes.
func tlsUpperServer(t *testing.T, ca *tlstest.CA) string {
	t.Helper()
	f := ca.IssueFiles(t, t.TempDir(), "server", 1, false)
	s, err := tlslisten.NewServer(tlslisten.Files{CertFile: f.Cert, KeyFile: f.Key})
	if err != nil {
		t.Fatal(err)
	}
	inner, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := tlslisten.Listen(inner, s, tlslisten.Options{})
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
				buf := make([]byte, 4096)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						c.Write(bytes.ToUpper(buf[:n]))
					}
					if err != nil {
						return // io.EOF: the client's close_notify
					}
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return inner.Addr().String()
}

// Over TLS the session behaves as over TCP: answers come back, the end of
// input reaches the server (as close_notify), and the session ends with
// exit 0 when the server closes. Verification is on by default.
func TestTLSSession(t *testing.T) {
	ca := tlstest.NewCA(t, "test CA")
	addr := tlsUpperServer(t, ca)
	run := func(cfg *tls.Config, input string) (int, string, string) {
		var out, errb chatdtest.Buffer
		code := chatclient.Run(context.Background(), chatclient.Options{
			Addr: addr, TLS: cfg, Stdin: strings.NewReader(input), Stdout: &out, Stderr: &errb,
			Timeout: chatclient.DefaultTimeout, DrainTimeout: chatclient.DefaultDrainTimeout,
		})
		return code, out.String(), errb.String()
	}

	trusting := &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost", MinVersion: tls.VersionTLS12}
	if code, out, errs := run(trusting, "hello over tls\n"); code != chatclient.ExitOK || out != "HELLO OVER TLS\n" || errs != "" {
		t.Fatalf("TLS session: exit %d, out %q, stderr %q", code, out, errs)
	}

	defaults, err := tlsclient.Config(tlsclient.Options{}, addr)
	if err != nil {
		t.Fatal(err)
	}
	code, out, errs := run(defaults, "x\n")
	if code != chatclient.ExitError || out != "" || !strings.Contains(errs, "give the server's CA with --ca FILE") || strings.Count(errs, "\n") != 1 {
		t.Fatalf("untrusted server: exit %d, out %q, stderr %q; want exit 1 and one line naming --ca", code, out, errs)
	}

	wrongName := trusting.Clone()
	wrongName.ServerName = "chat.example.org"
	code, _, errs = run(wrongName, "x\n")
	if code != chatclient.ExitError || !strings.Contains(errs, "--server-name") {
		t.Fatalf("wrong name: exit %d, stderr %q; want exit 1 naming --server-name", code, errs)
	}
}
