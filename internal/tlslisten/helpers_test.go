package tlslisten

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/tlslisten/tlstest"
)

type ca = tlstest.CA

func newCA(t *testing.T, name string) *ca { return tlstest.NewCA(t, name) }

func writeFile(t *testing.T, path string, b []byte) string { return tlstest.WriteFile(t, path, b) }

// serverFiles writes a server certificate with serial into dir.
func serverFiles(t *testing.T, dir string, c *ca, serial int64) Files {
	t.Helper()
	f := c.IssueFiles(t, dir, "server", serial, false)
	return Files{CertFile: f.Cert, KeyFile: f.Key}
}

// upServer is a stand-in for chatd's wire behaviour: each line comes back
// in capitals. It serves at most places connections at once, as
// max_clients does; one beyond gets "FULL" and is closed.
type upServer struct {
	ln     net.Listener
	places chan struct{}
	wg     sync.WaitGroup
}

func serveUpper(t *testing.T, ln net.Listener, places int) *upServer {
	t.Helper()
	s := &upServer{ln: ln, places: make(chan struct{}, places)}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			select {
			case s.places <- struct{}{}:
			default:
				c.Write([]byte("FULL\n"))
				c.Close()
				continue
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer func() { <-s.places }()
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if _, err := c.Write([]byte(strings.ToUpper(line))); err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func tlsServer(t *testing.T, s *Server, opt Options, places int) net.Listener {
	t.Helper()
	inner, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := Listen(inner, s, opt)
	serveUpper(t, ln, places)
	return ln
}

func pool(c *ca) *x509.CertPool { return c.Pool() }

// chat dials with cfg, sends one line and returns the answer and the
// server certificate's serial.
func chat(t *testing.T, addr string, cfg *tls.Config, line string) (string, int64, error) {
	t.Helper()
	d := &net.Dialer{Timeout: 10 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		return "", 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write([]byte(line + "\n")); err != nil {
		return "", 0, err
	}
	got, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", 0, err
	}
	return strings.TrimSuffix(got, "\n"), c.ConnectionState().PeerCertificates[0].SerialNumber.Int64(), nil
}
