package chatclient_test

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/chatclient"
	"github.com/chatd/chatd/internal/chatclient/chatdtest"
	"github.com/chatd/chatd/internal/tlsclient"
	"github.com/chatd/chatd/internal/tlslisten/tlstest"
)

// Over TLS the session behaves as over TCP: answers come back, the end of
// input reaches the server (as close_notify), and the session ends with
// exit 0 when the server closes. Verification is on by default.
func TestTLSSession(t *testing.T) {
	ca := tlstest.NewCA(t, "test CA")
	addr := chatdtest.StartTLS(t, ca, nil)
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
