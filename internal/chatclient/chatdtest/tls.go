package chatdtest

import (
	"bytes"
	"net"
	"path/filepath"
	"sync"
	"testing"

	"github.com/chatd/chatd/internal/tlslisten"
	"github.com/chatd/chatd/internal/tlslisten/tlstest"
)

// StartTLS serves TLS on 127.0.0.1 with a certificate from ca, asking for
// a client certificate from clientCA when it is not nil, and answers each
// read in capitals until the client ends its input (its close_notify),
// for the tests of chat's TLS options. It returns the address and stops
// when the test ends.
func StartTLS(t testing.TB, ca, clientCA *tlstest.CA) string {
	t.Helper()
	dir := t.TempDir()
	f := ca.IssueFiles(t, dir, "server", 1, false)
	files := tlslisten.Files{CertFile: f.Cert, KeyFile: f.Key}
	if clientCA != nil {
		files.ClientCA = tlstest.WriteFile(t, filepath.Join(dir, "client-ca.pem"), clientCA.PEM)
	}
	s, err := tlslisten.NewServer(files)
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
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return inner.Addr().String()
}
