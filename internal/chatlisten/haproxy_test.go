package chatlisten

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/proxyheader"
	"github.com/chatd/chatd/internal/proxyheader/haproxytest"
	"github.com/chatd/chatd/internal/testbin"
	"github.com/chatd/chatd/internal/tlslisten/tlstest"
)

// whoServer answers each connection's first line with the address it
// sees for the client, then closes.
func whoServer(t *testing.T, ln net.Listener) {
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
				if _, err := bufio.NewReader(c).ReadString('\n'); err == nil {
					fmt.Fprintf(c, "you are %s\n", c.RemoteAddr())
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
}

// TLS through a real HAProxy in TCP mode with send-proxy-v2: the header
// comes before the TLS bytes, and both Go's TLS client and openssl
// s_client, connecting from 127.0.0.77, are seen as 127.0.0.77 by the
// TLS listener.
func TestTLSThroughHAProxy(t *testing.T) {
	haproxytest.Path(t)
	openssl := testbin.Tool(t, "openssl")
	ca := tlstest.NewCA(t, "test CA")
	trusted, _ := proxyheader.ParseTrusted([]string{"127.0.0.1"})
	set, err := Open(context.Background(), Spec{
		Proxy: &proxyheader.Config{Trusted: trusted},
		TLS:   &TLSSpec{Listen: []string{"127.0.0.1:0"}, Files: tlsFiles(t, ca)},
	})
	if err != nil {
		t.Fatal(err)
	}
	whoServer(t, set.Listeners[0])
	frontend := haproxytest.Start(t, "send-proxy-v2", set.Listeners[0].Addr().String())

	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 77)}, Timeout: 10 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp4", frontend, &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(c, "who\n")
	line, err := bufio.NewReader(c).ReadString('\n')
	if want := "you are " + c.LocalAddr().String() + "\n"; err != nil || line != want {
		t.Fatalf("Go TLS client through HAProxy: %q, %v; want %q", line, err, want)
	}

	caFile := tlstest.WriteFile(t, filepath.Join(t.TempDir(), "ca.pem"), ca.PEM)
	cmd := exec.Command(openssl, "s_client", "-connect", frontend, "-bind", "127.0.0.77:0", "-ign_eof",
		"-verify_return_error", "-CAfile", caFile, "-verify_hostname", "localhost", "-servername", "localhost")
	cmd.Stdin = strings.NewReader("who\n")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("openssl s_client did not finish:\n%s", out.String())
	}
	if err != nil || !strings.Contains(out.String(), "you are 127.0.0.77:") || !strings.Contains(out.String(), "Verify return code: 0 (ok)") {
		t.Fatalf("openssl s_client through HAProxy: %v\n%s", err, out.String())
	}
}
