// Package haproxytest runs a real HAProxy (Debian's haproxy package) in
// front of test backends, with the configuration the README documents.
package haproxytest

import (
	_ "embed"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	"github.com/chatd/chatd/internal/testbin"
)

// Config is the tested HAProxy configuration, as a text/template with
// .Frontend, .FrontendRules, .Backends and .SendProxy.
//
//go:embed haproxy.cfg.tmpl
var Config string

var tmpl = template.Must(template.New("haproxy.cfg").Parse(Config))

// Path finds haproxy. CI installs it, so there (CI set) a missing binary
// fails the test; elsewhere the test is skipped.
func Path(t testing.TB) string {
	t.Helper()
	return testbin.Tool(t, "haproxy")
}

// Start runs haproxy in the foreground on a free loopback port, balancing
// over backends with sendProxy ("send-proxy-v2", "send-proxy", or "" for
// none) and returns the frontend's address once it accepts. It is stopped
// when the test ends.
func Start(t testing.TB, sendProxy string, backends ...string) string {
	t.Helper()
	return StartWithRules(t, sendProxy, nil, backends...)
}

// StartWithRules is Start with rules added to the frontend section, one
// configuration line each (such as the stick-table lines that limit each
// source across all backends).
func StartWithRules(t testing.TB, sendProxy string, rules []string, backends ...string) string {
	t.Helper()
	bin := Path(t)
	frontend := freePort(t)
	cfg := filepath.Join(t.TempDir(), "haproxy.cfg")
	f, err := os.Create(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = tmpl.Execute(f, map[string]any{"Frontend": frontend, "FrontendRules": rules, "Backends": backends, "SendProxy": sendProxy})
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-c", "-f", cfg).CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-db", "-f", cfg)
	out := &syncBuilder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("haproxy output:\n%s", out.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-exited:
			t.Fatalf("haproxy exited: %v\n%s", err, out.String())
		default:
		}
		c, err := net.DialTimeout("tcp4", frontend, time.Second)
		if err == nil {
			c.Close()
			return frontend
		}
		if time.Now().After(deadline) {
			t.Fatalf("haproxy frontend %s not up: %v", frontend, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type syncBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuilder) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuilder) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
