package main

import (
	"bytes"
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/chatclient/chatdtest"
	"github.com/chatd/chatd/internal/tlslisten/tlstest"
)

// chat --tls and its flags, in-process.
func TestTLSFlags(t *testing.T) {
	dir := t.TempDir()
	ca, clientCA := tlstest.NewCA(t, "server CA"), tlstest.NewCA(t, "client CA")
	caFile := tlstest.WriteFile(t, filepath.Join(dir, "ca.pem"), ca.PEM)
	client := clientCA.IssueFiles(t, dir, "client", 2, true)
	addr := chatdtest.StartTLS(t, ca, nil)
	mtls := chatdtest.StartTLS(t, ca, clientCA)
	_, port, _ := net.SplitHostPort(addr)
	tests := []struct {
		name       string
		args       []string
		input      string
		wantCode   int
		wantOut    string
		wantStderr string // prefix
	}{
		{name: "with --ca", args: []string{"--tls", "--ca", caFile, "--addr", addr}, input: "hi\n", wantOut: "HI\n"},
		{name: "by name", args: []string{"--tls", "--ca", caFile, "--addr", "localhost:" + port}, input: "name\n", wantOut: "NAME\n"},
		{name: "verifies by default", args: []string{"--tls", "--addr", addr}, input: "x\n", wantCode: 1,
			wantStderr: "chat: TLS with " + addr + " failed: the server's certificate is not signed by a CA this machine trusts (give the server's CA with --ca FILE)\n"},
		{name: "wrong --server-name", args: []string{"--tls", "--ca", caFile, "--server-name", "chat.example.org", "--addr", addr}, input: "x\n", wantCode: 1,
			wantStderr: "chat: TLS with " + addr + " failed: x509: certificate is valid for localhost, not chat.example.org"},
		{name: "client certificate", args: []string{"--tls", "--ca", caFile, "--cert", client.Cert, "--key", client.Key, "--addr", mtls}, input: "mtls\n", wantOut: "MTLS\n"},
		{name: "--ca without --tls", args: []string{"--ca", caFile, "--addr", addr}, wantCode: 2,
			wantStderr: "chat: --ca needs --tls\n"},
		{name: "--cert without --key", args: []string{"--tls", "--cert", client.Cert, "--addr", addr}, wantCode: 2,
			wantStderr: "chat: --cert and --key go together\n"},
		{name: "missing --ca file", args: []string{"--tls", "--ca", filepath.Join(dir, "nope.pem"), "--addr", addr}, wantCode: 2,
			wantStderr: "chat: --ca: open " + filepath.Join(dir, "nope.pem")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb chatdtest.Buffer
			code := run(tc.args, strings.NewReader(tc.input), &out, &errb, env(nil))
			if code != tc.wantCode {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tc.wantCode, errb.String())
			}
			if got := out.String(); !strings.HasPrefix(got, tc.wantOut) || (tc.wantOut == "") != (got == "") {
				t.Errorf("stdout %q, want %q", got, tc.wantOut)
			}
			if got := errb.String(); !strings.HasPrefix(got, tc.wantStderr) || (tc.wantStderr == "") != (got == "") {
				t.Errorf("stderr %q, want it to start with %q", got, tc.wantStderr)
			}
			if n := strings.Count(errb.String(), "\n"); n > 2 {
				t.Errorf("stderr has %d lines: %q", n, errb.String())
			}
		})
	}
}

// The built chat binary over TLS: verifies by default (exit 1 with one
// line), and with --ca chats and exits 0 at the end of its input.
func TestE2ETLS(t *testing.T) {
	ca := tlstest.NewCA(t, "server CA")
	caFile := tlstest.WriteFile(t, filepath.Join(t.TempDir(), "ca.pem"), ca.PEM)
	addr := chatdtest.StartTLS(t, ca, nil)
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantOut    string
		wantStderr string
	}{
		{"with --ca", []string{"--tls", "--ca", caFile, "--addr", addr}, 0, "HELLO\nWORLD\n", ""},
		{"unknown CA", []string{"--tls", "--addr", addr}, 1, "",
			"chat: TLS with " + addr + " failed: the server's certificate is not signed by a CA this machine trusts (give the server's CA with --ca FILE)\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := chatCmd(t, ctx, tc.args)
			cmd.Stdin = strings.NewReader("hello\nworld\n")
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			code := exitCode(t, cmd.Run())
			if code != tc.wantCode || out.String() != tc.wantOut || errb.String() != tc.wantStderr {
				t.Fatalf("exit %d, stdout %q, stderr %q; want %d, %q, %q", code, out.String(), errb.String(), tc.wantCode, tc.wantOut, tc.wantStderr)
			}
		})
	}
}
